//! The operating system's random generator, as the core's [`Random`] source (CURVE keys,
//! cookies and nonces).

use isomq_core::security::Random;
use isomq_core::{Error, Result};

/// getrandom(2) and its equivalents, through the `getrandom` crate.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OsRandom;

impl Random for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<()> {
        getrandom::fill(buf)
            .map_err(|e| Error::Resource(format!("the OS random generator failed: {e}")))
    }
}

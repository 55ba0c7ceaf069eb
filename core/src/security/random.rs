//! Where randomness comes from. The core has no operating system to ask, so the host passes a
//! source in: the OS generator natively, `crypto.getRandomValues` in a browser.

/// A cryptographically secure random source, provided by the host.
///
/// Everything CURVE draws (short-term key pairs, cookie keys, nonces) comes from here, so it
/// must be unpredictable to anyone on the network: an OS CSPRNG, never a seeded PRNG.
pub trait Random {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// When the source cannot deliver (the OS generator failed): whatever needed the bytes
    /// fails with it, rather than going on with predictable ones.
    fn fill(&mut self, buf: &mut [u8]) -> crate::Result<()>;
}

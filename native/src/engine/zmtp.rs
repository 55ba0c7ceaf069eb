//! The ZMTP engine (tcp://, ipc://): a byte stream and a sans-IO ZMTP connection.

use std::io::{self, IoSlice};

use isomq_core::zmtp::{Config, Connection};

use super::Failure;
use crate::stream::Stream;

#[derive(Debug)]
pub(crate) struct ZmtpEngine {
    pub(crate) stream: Stream,
    pub(crate) conn: Connection,
}

impl ZmtpEngine {
    pub(crate) fn new(stream: Stream, config: Config) -> ZmtpEngine {
        ZmtpEngine {
            stream,
            conn: Connection::new(config),
        }
    }

    /// One read into `buf`, fed to the decoder. Without a pending message the decoder has
    /// consumed every complete frame, so buffered input is bounded by one frame (and
    /// MAXMSGSIZE).
    pub(crate) fn read(&mut self, buf: &mut [u8], readable: &mut bool) -> Result<bool, Failure> {
        match self.stream.read(buf) {
            Ok(0) => Err(Failure::Transient),
            Ok(n) => {
                let input = buf.get(..n).unwrap_or_default();
                self.conn
                    .handle_input(input)
                    .map_err(|_| Failure::Protocol)?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *readable = false;
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(_) => Err(Failure::Transient),
        }
    }

    /// Many messages per syscall when they have piled up.
    pub(crate) fn write(&mut self, writable: &mut bool) -> Result<bool, Failure> {
        let mut progress = false;
        while *writable && self.conn.transmit_len() > 0 {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = self.conn.transmit_slices(&mut slices);
            match self
                .stream
                .write_vectored(slices.get(..n).unwrap_or_default())
            {
                Ok(0) => return Err(Failure::Transient),
                Ok(k) => {
                    self.conn.advance_transmit(k);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => *writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Failure::Transient),
            }
        }
        Ok(progress)
    }
}

//! The ZMTP engine (tcp://, ipc://): a byte stream and a sans-IO ZMTP connection.

use std::io::{self, IoSlice};

use bytes::BufMut;
use isomq_core::zmtp::{Config, Connection};

/// The most room made for a read: enough for many small frames at once.
const READ_CHUNK: usize = 64 * 1024;

use super::failure::Failure;
use super::room::{Busy, ReadRoom, GROWN};
use crate::random::OsRandom;
use crate::stream::Stream;

#[derive(Debug)]
pub(crate) struct ZmtpEngine {
    pub(crate) stream: Stream,
    pub(crate) conn: Connection,
    read_room: ReadRoom,
    busy: Busy,
    /// A write failed: the peer closed or reset the connection. Output stops; the
    /// connection ends when a read meets the peer's end, after the input it sent before
    /// (libzmq's stream engine does the same; docs/wire.md §7.2).
    output_failed: bool,
}

impl ZmtpEngine {
    pub(crate) fn new(stream: Stream, config: Config) -> ZmtpEngine {
        let mut conn = Connection::with_random(config, &mut OsRandom);
        let read_room = ReadRoom::new(READ_CHUNK);
        let _ = conn.input_buffer(read_room.reserve());
        ZmtpEngine {
            stream,
            conn,
            read_room,
            busy: Busy::default(),
            output_failed: false,
        }
    }

    /// One read straight into the decoder's input buffer (no copy from a read buffer; a
    /// large frame's body lands where it will be handed out from). Without a pending message
    /// the decoder has consumed every complete frame, so buffered input is bounded by one
    /// frame (and MAXMSGSIZE).
    pub(crate) fn read(&mut self, readable: &mut bool) -> Result<bool, Failure> {
        let buf = self.conn.input_buffer(self.read_room.get());
        let spare = buf.chunk_mut();
        let room = spare.len();
        match self.stream.read_spare(spare) {
            Ok(0) => Err(Failure::Transient),
            Ok(n) => {
                // SAFETY: read_spare initialised the first n bytes of the spare capacity.
                unsafe { buf.advance_mut(n) };
                self.conn
                    .input_added()
                    .map_err(|e| Failure::from_error(&e))?;
                self.busy.saw(n);
                if self.read_room.after_read(n, room) {
                    let _ = self.conn.input_buffer(self.read_room.reserve());
                }
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

    /// Whether traffic grew the buffers (see `Engine::is_grown`).
    pub(crate) fn is_grown(&self) -> bool {
        self.read_room.grown() || self.conn.capacity() > GROWN
    }

    /// Whether reads or writes were larger than a quiet connection's since the last call.
    pub(crate) fn take_busy(&mut self) -> bool {
        self.busy.take()
    }

    /// Back to small buffers, for a quiet connection.
    pub(crate) fn shrink_idle(&mut self) {
        self.read_room.reset();
        self.conn.shrink_idle();
        let _ = self.conn.input_buffer(self.read_room.reserve());
    }

    /// Many messages per syscall when they have piled up.
    pub(crate) fn write(&mut self, writable: &mut bool) -> Result<bool, Failure> {
        let mut progress = false;
        if self.output_failed {
            *writable = false;
        }
        while *writable && self.conn.transmit_len() > 0 {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = self.conn.transmit_slices(&mut slices);
            match self
                .stream
                .write_vectored(slices.get(..n).unwrap_or_default())
            {
                Ok(0) => self.fail_output(writable),
                Ok(k) => {
                    self.conn.advance_transmit(k);
                    self.busy.saw(k);
                    progress = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => *writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.fail_output(writable),
            }
        }
        Ok(progress)
    }

    /// A write failed (EPIPE, ECONNRESET): the peer is gone, but what it sent before may
    /// still wait in the kernel's buffer or the decoder. Failing the connection now would
    /// drop those messages, which the peer had sent and closed after (a DEALER closed right
    /// after its last request, while this side answered the first ones). Output stops
    /// instead, and reading ends the connection at the peer's end of file or reset.
    fn fail_output(&mut self, writable: &mut bool) {
        self.output_failed = true;
        *writable = false;
    }

    /// Whether a write failed: the connection only reads until it meets the peer's end.
    pub(crate) fn output_failed(&self) -> bool {
        self.output_failed
    }
}

//! An open ws:// connection: the stream and the core's WebSocket frame codec
//! (`isomq_core::ws`, RFC 6455 data framing) under the ZWS 2.0 connection. Reads go straight
//! into the codec's input buffer (no zero-fill, no copy); frames pile up in its output and
//! leave with one `writev` (docs/wire.md §10.8).

use std::io::{self, IoSlice};

use bytes::BufMut;
use isomq_core::ws::{Codec, Incoming, Role};
use isomq_core::zws::{self, Transmit};

use super::failure::Failure;
use super::room::{Busy, ReadRoom, GROWN};
use crate::stream::Stream;

/// The most room asked for a read; twice as much is reserved (16 KiB, the room each read
/// had when buffers did not start small). Reads of up to 32 KiB let undecoded input pile
/// up, and moving it to a new buffer cost more than they saved (callgrind, ws 16 B: 10
/// instructions per message).
const READ_CHUNK: usize = 8 * 1024;
/// Messages decoded per call, so that one busy connection yields to the pipe and to others.
const READ_MESSAGES: usize = 256;
/// No more messages are handed to the ZWS connection while it holds this many frames: a
/// batch becomes up to thousands of queued frames at once (docs/wire.md §10.9), and the
/// queue keeps the capacity it reached.
const HELD_FRAMES: usize = 256;

#[derive(Debug)]
pub(crate) struct OpenWs {
    pub(crate) stream: Stream,
    codec: Codec,
    /// Room asked for each read: grows while reads fill it, up to [`READ_CHUNK`].
    read_room: ReadRoom,
    busy: Busy,
    /// The peer ended its side (end of file, or its close frame): reported once the
    /// messages decoded before it have been taken.
    ended: bool,
    /// A write failed: output stops, and reading ends the connection at the peer's end,
    /// after what it sent before (as the ZMTP engine, `engine/zmtp.rs`).
    output_failed: bool,
}

impl OpenWs {
    /// After the upgrade; `ahead`: bytes the peer sent right behind its HTTP head.
    pub(crate) fn new(stream: Stream, mut codec: Codec, ahead: &[u8]) -> Result<OpenWs, Failure> {
        let read_room = ReadRoom::new(READ_CHUNK);
        let _ = codec.input_buffer(read_room.reserve().max(ahead.len()));
        if !ahead.is_empty() {
            codec.handle_input(ahead).map_err(|_| Failure::Protocol)?;
        }
        Ok(OpenWs {
            stream,
            codec,
            read_room,
            busy: Busy::default(),
            ended: false,
            output_failed: false,
        })
    }

    /// Decodes buffered frames into `conn`, reading from the stream when they run out;
    /// `Ok(true)` when something was decoded or read.
    pub(crate) fn read(
        &mut self,
        conn: &mut zws::Connection,
        readable: &mut bool,
    ) -> Result<bool, Failure> {
        let was_ended = self.ended;
        let (progress, full) = self.decode(conn).map_err(|f| self.failing(f))?;
        if full {
            return Ok(true);
        }
        if self.ended {
            // Everything decoded before the end was handed over on an earlier call. A close
            // frame decoded just now (left in the buffer by an earlier call that stopped at
            // its limits) counts as progress once: its echo, queued by the codec, must be
            // written before the end is reported, or the peer sees no closing handshake
            // (a browser reports 1006 instead of its own 1000).
            return if progress || !was_ended {
                Ok(true)
            } else {
                Err(Failure::Transient)
            };
        }
        if !*readable {
            return Ok(progress);
        }
        match self.read_once() {
            Ok(0) => {
                self.ended = true;
                if progress {
                    Ok(true)
                } else {
                    Err(Failure::Transient)
                }
            }
            Ok(_) => {
                self.decode(conn).map_err(|f| self.failing(f))?;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                *readable = false;
                Ok(progress)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                Err(self.failing(Failure::Protocol))
            }
            Err(_) => Err(Failure::Transient),
        }
    }

    /// On a protocol error the codec queued a close frame with its code (RFC 6455 §7.4.1):
    /// one non-blocking attempt to send it before the connection is dropped.
    fn failing(&mut self, failure: Failure) -> Failure {
        if failure == Failure::Protocol {
            let chunk = self.codec.transmit_chunk();
            if !chunk.is_empty() {
                let _ = self.stream.write(chunk);
            }
        }
        failure
    }

    /// One read into the codec's spare input capacity.
    fn read_once(&mut self) -> io::Result<usize> {
        let buf = self.codec.input_buffer(self.read_room.get());
        let spare = buf.chunk_mut();
        let room = spare.len();
        let n = self.stream.read_spare(spare)?;
        // SAFETY: read_spare initialised the first n bytes of the spare capacity.
        unsafe { buf.advance_mut(n) };
        if n > 0 {
            self.codec.input_added().map_err(|_| io_protocol())?;
        }
        self.busy.saw(n);
        if self.read_room.after_read(n, room) {
            let _ = self.codec.input_buffer(self.read_room.reserve());
        }
        Ok(n)
    }

    /// Hands complete messages to the ZWS connection, up to [`READ_MESSAGES`] or until it
    /// holds [`HELD_FRAMES`]; returns whether any came and whether a limit stopped it.
    fn decode(&mut self, conn: &mut zws::Connection) -> Result<(bool, bool), Failure> {
        let mut n = 0;
        while n < READ_MESSAGES && conn.input_len() < HELD_FRAMES {
            match self.codec.poll().map_err(|_| Failure::Protocol)? {
                Some(Incoming::Message(payload)) => {
                    conn.handle_message(payload)
                        .map_err(|e| Failure::from_error(&e))?;
                    n += 1;
                }
                // The pong is queued by the codec; pongs need no answer.
                Some(Incoming::Ping(_) | Incoming::Pong(_)) => {}
                // Its echo is queued: the session writes it, then sees the end.
                Some(Incoming::Close { .. }) => {
                    self.ended = true;
                    break;
                }
                None => break,
            }
        }
        Ok((n > 0, n == READ_MESSAGES || conn.input_len() >= HELD_FRAMES))
    }

    /// ZWS payloads → frames → stream, many per `writev`; `Ok(true)` when bytes went out.
    pub(crate) fn write(
        &mut self,
        conn: &mut zws::Connection,
        writable: &mut bool,
    ) -> Result<bool, Failure> {
        while let Some(out) = conn.poll_transmit_parts() {
            self.frame(out).map_err(|_| Failure::Transient)?;
        }
        let mut progress = false;
        if self.output_failed {
            *writable = false;
        }
        // TLS records a full socket left behind go first: nothing else would send them.
        if *writable && self.stream.has_pending() {
            match self.stream.flush_pending() {
                Ok(()) => progress = true,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => *writable = false,
                Err(_) => self.fail_output(writable),
            }
        }
        while *writable && self.codec.transmit_len() > 0 {
            let mut slices = [IoSlice::new(&[]); 32];
            let n = self.codec.transmit_slices(&mut slices);
            match self
                .stream
                .write_vectored(slices.get(..n).unwrap_or_default())
            {
                Ok(0) => self.fail_output(writable),
                Ok(k) => {
                    self.codec.advance_transmit(k);
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
    /// still wait in the kernel's buffer or the codec; see `ZmtpEngine::fail_output`.
    fn fail_output(&mut self, writable: &mut bool) {
        self.output_failed = true;
        *writable = false;
    }

    /// Whether a write failed: the connection only reads until it meets the peer's end.
    pub(crate) fn output_failed(&self) -> bool {
        self.output_failed
    }

    /// Whether the peer ended its side (its close frame or end of file was read).
    pub(crate) fn peer_ended(&self) -> bool {
        self.ended
    }

    /// One ZWS message into the codec's output.
    fn frame(&mut self, out: Transmit) -> isomq_core::Result<()> {
        match out {
            Transmit::Payload(payload) => self.codec.send_binary_bytes(payload),
            // Small frames are copied once, into the batch; large ones are shared.
            Transmit::Frame { flags, body } if !body.is_shared() => {
                self.codec.send_binary_slices(&[flags], body.as_slice())
            }
            Transmit::Frame { flags, body } => {
                self.codec.send_binary_parts(&[flags], body.into_bytes())
            }
            Transmit::Parts { head, body } => self.codec.send_binary_parts(&head, body),
        }
    }

    /// A client frames each batch as soon as it is sealed: masking copies it, and the
    /// batch buffer is whole again for the next batch (no allocation; see
    /// `zws::Connection::poll_sealed_parts`). A server shares large batches for `writev`
    /// and leaves them for [`write`](OpenWs::write). Nothing is taken once the codec can
    /// no longer send: `write` reports that.
    pub(crate) fn frame_sealed(&mut self, conn: &mut zws::Connection) {
        if self.codec.role() != Role::Client {
            return;
        }
        while !self.codec.close_sent() && self.codec.error().is_none() {
            let Some(out) = conn.poll_sealed_parts() else {
                return;
            };
            // Cannot fail: the codec can send (checked above).
            let _ = self.frame(out);
        }
    }

    /// A WebSocket ping with an empty payload: libzmq's ws engine heartbeats with these,
    /// not with ZMTP PINGs (docs/wire.md §10.6). It leaves with the next write.
    pub(crate) fn send_ping(&mut self) {
        let _ = self.codec.send_ping(&[]);
    }

    /// Whether traffic grew the buffers (see `Engine::is_grown`).
    pub(crate) fn is_grown(&self) -> bool {
        self.read_room.grown() || self.codec.capacity() > GROWN || self.stream.is_grown()
    }

    /// Whether reads or writes were larger than a quiet connection's since the last call.
    pub(crate) fn take_busy(&mut self) -> bool {
        self.busy.take()
    }

    /// Back to small buffers, for a quiet connection.
    pub(crate) fn shrink_idle(&mut self) {
        self.read_room.reset();
        self.codec.shrink_idle();
        self.stream.shrink_idle();
        let _ = self.codec.input_buffer(self.read_room.reserve());
    }

    /// Frame bytes not yet written (TLS records not yet written count as one byte: what
    /// matters is whether anything is left).
    pub(crate) fn transmit_len(&self) -> usize {
        self.codec.transmit_len() + usize::from(self.stream.has_pending())
    }
}

fn io_protocol() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "WebSocket protocol error")
}

//! How much room an engine makes in its input buffer for each read: little at first, so
//! that an idle connection holds a small buffer (thousands of idle connections each with a
//! read-sized buffer were most of a server's memory), and more while reads fill it.

/// Room for the first reads: a handshake's bytes (a 64-byte ZMTP greeting and READY, a ZWS
/// READY message) and a few small messages.
const FIRST_READ: usize = 256;
/// Growth of the room when a read fills it: four steps from 256 bytes to 64 KiB.
const GROWTH: usize = 4;
/// Buffer capacity (input and output) past which a connection's buffers count as grown by
/// traffic, worth shrinking once it is quiet: a few times what the first reads reserve.
pub(crate) const GROWN: usize = 4096;

/// Reads and writes of up to this many bytes leave a connection quiet (see [`Busy`]).
const QUIET_IO: usize = FIRST_READ;

/// Whether a connection moved more bytes at a time than a quiet one since it was last
/// asked: a read or a write of more than 256 bytes. Heartbeats and a small message now and
/// then do not count, so that the buffers a past burst grew are freed on such connections
/// too.
#[derive(Debug, Default)]
pub(crate) struct Busy(bool);

impl Busy {
    /// After a read or write of `n` bytes.
    pub(crate) fn saw(&mut self, n: usize) {
        self.0 |= n > QUIET_IO;
    }

    /// Whether it was busy since the last call.
    pub(crate) fn take(&mut self) -> bool {
        std::mem::take(&mut self.0)
    }
}

#[derive(Debug)]
pub(crate) struct ReadRoom {
    room: usize,
    max: usize,
}

impl ReadRoom {
    /// Starts small; grows up to `max`.
    pub(crate) fn new(max: usize) -> ReadRoom {
        ReadRoom {
            room: FIRST_READ.min(max),
            max,
        }
    }

    /// Back to the first reads' room, for a connection gone quiet.
    pub(crate) fn reset(&mut self) {
        self.room = FIRST_READ.min(self.max);
    }

    /// Whether reads have been given more room than at first.
    pub(crate) fn grown(&self) -> bool {
        self.room > FIRST_READ.min(self.max)
    }

    /// The room to ask for before a read.
    pub(crate) fn get(&self) -> usize {
        self.room
    }

    /// The room to make in the buffer at once: two reads' worth. A read that ends inside a
    /// frame leaves that frame's start at the front of the buffer, and `BytesMut` reuses the
    /// consumed front only when it is at least as long as what is left: with room for one
    /// read, the first such read would double the buffer, at whatever moment it comes; with
    /// two, the consumed front always covers a partial small frame.
    pub(crate) fn reserve(&self) -> usize {
        2 * self.room
    }

    /// After a read of `n` bytes into `spare` bytes of room: a full read means more was
    /// waiting, so the room grows (once per step, not per read). Returns whether it grew,
    /// i.e. whether to make [`reserve`](ReadRoom::reserve) room now.
    pub(crate) fn after_read(&mut self, n: usize, spare: usize) -> bool {
        if n < spare || self.room >= self.max {
            return false;
        }
        self.room = (self.room * GROWTH).min(self.max);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_while_reads_fill_it_up_to_the_limit() {
        let mut r = ReadRoom::new(64 * 1024);
        assert_eq!(r.get(), 256);
        assert!(!r.after_read(100, 512));
        assert_eq!(r.get(), 256);
        let mut steps = 0;
        while r.after_read(r.reserve(), r.reserve()) {
            steps += 1;
        }
        assert_eq!((steps, r.get()), (4, 64 * 1024));
        assert!(r.grown());
        r.reset();
        assert_eq!((r.get(), r.grown()), (256, false));
    }

    #[test]
    fn small_reads_and_writes_leave_a_connection_quiet() {
        let mut b = Busy::default();
        b.saw(10);
        b.saw(256);
        assert!(!b.take());
        b.saw(257);
        assert!(b.take());
        assert!(!b.take(), "taken");
    }
}

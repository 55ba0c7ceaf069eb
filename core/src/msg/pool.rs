//! Recycled buffers for large payloads copied into messages.
//!
//! A large message copied from the caller's slice ([`Msg::copy_from_slice`](super::Msg), as
//! `zmq_send` copies) is allocated on the application's thread and freed on the I/O thread
//! once written to the socket. Left to the allocator, such buffers are fresh memory each time:
//! glibc gives the top of its heap back to the kernel as the freed buffers come back, and the
//! next ones fault their pages in again (measured on tcp 64 KiB: about one page fault and one
//! `brk` every 50 messages at the sender, benches/RESULTS.md). Here freed buffers wait in a
//! small process-wide pool, by size class, and the next copy of that size takes one back.
//!
//! Bounded: each class keeps at most [`CLASS_BYTES`] of idle buffers, so the pool holds a few
//! MiB at most, and nothing until large messages are sent. Small payloads never come here
//! (they are inline in the message), nor payloads above [`MAX_POOLED`], whose page faults are
//! small beside their copy. A buffer is taken and given back with one pop or push of a
//! lock-free bounded queue per class (crossbeam's `ArrayQueue`), whose capacity is the bound.

use std::sync::OnceLock;

use bytes::Bytes;
use crossbeam_queue::ArrayQueue;

/// The smallest class: below it, allocators serve sizes from their own free lists.
const MIN_POOLED: usize = 8 * 1024;
/// The largest class (1 MiB).
const MAX_POOLED: usize = 1 << 20;
/// Classes are powers of two from [`MIN_POOLED`] to [`MAX_POOLED`].
const CLASSES: usize = (MAX_POOLED / MIN_POOLED).trailing_zeros() as usize + 1;
/// Idle bytes kept per class: 32 buffers of 64 KiB, enough for the messages one `writev`
/// frees at once (up to 32 slices) to come back before the sender needs them.
const CLASS_BYTES: usize = 2 << 20;

/// The idle buffers of `class`: a queue of at most [`CLASS_BYTES`] of them, made at the first
/// use (a lock only then; after it, a load).
fn idle(class: usize) -> Option<&'static ArrayQueue<Vec<u8>>> {
    static POOL: OnceLock<[ArrayQueue<Vec<u8>>; CLASSES]> = OnceLock::new();
    POOL.get_or_init(|| {
        std::array::from_fn(|class| ArrayQueue::new((CLASS_BYTES / (MIN_POOLED << class)).max(1)))
    })
    .get(class)
}

/// The class of a payload of `len` bytes and its buffers' capacity; `None`: not pooled.
fn class_of(len: usize) -> Option<(usize, usize)> {
    if !(MIN_POOLED..=MAX_POOLED).contains(&len) {
        return None;
    }
    let size = len.next_power_of_two();
    let class = (size / MIN_POOLED).trailing_zeros() as usize;
    Some((class, size))
}

/// A copy of `data` in a shared buffer, recycled when its size is pooled.
pub(super) fn copy(data: &[u8]) -> Bytes {
    let Some((class, size)) = class_of(data.len()) else {
        return Bytes::copy_from_slice(data);
    };
    let mut buf = take(class).unwrap_or_else(|| Vec::with_capacity(size));
    buf.extend_from_slice(data);
    Bytes::from_owner(Pooled { buf, class })
}

fn take(class: usize) -> Option<Vec<u8>> {
    idle(class)?.pop()
}

/// A pooled buffer's owner inside its `Bytes`: gives the buffer back when the last clone of
/// the message is dropped.
struct Pooled {
    buf: Vec<u8>,
    class: usize,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(idle) = idle(self.class) else {
            return;
        };
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        // Full: the buffer goes back to the allocator.
        let _ = idle.push(buf);
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod tests {
    use super::*;

    #[test]
    fn classes_cover_the_pooled_range() {
        assert_eq!(class_of(MIN_POOLED - 1), None);
        assert_eq!(class_of(MIN_POOLED), Some((0, MIN_POOLED)));
        assert_eq!(class_of(65536), Some((3, 65536)));
        assert_eq!(class_of(65537), Some((4, 131072)));
        assert_eq!(class_of(MAX_POOLED), Some((CLASSES - 1, MAX_POOLED)));
        assert_eq!(class_of(MAX_POOLED + 1), None);
    }

    // No unsafe code here; megabyte payloads take miri too long.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn copies_are_exact_at_every_size() {
        for len in [
            MIN_POOLED - 1,
            MIN_POOLED,
            20_000,
            65536,
            MAX_POOLED,
            MAX_POOLED + 7,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            assert_eq!(&copy(&data)[..], &data[..]);
        }
    }

    /// A stream of equal large messages, each dropped after the next is made (as the I/O
    /// thread frees a message after the application made the next): after the first few,
    /// no payload allocation, so no fresh pages to fault in. The one allocation left per
    /// message is `Bytes`' small owner header.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn a_steady_stream_reuses_its_buffers() {
        // A size of its own, so that other tests running at once do not share the class.
        let len = 300_000;
        let data = vec![5u8; len];
        let mut held = copy(&data);
        for _ in 0..4 {
            held = copy(&data);
        }
        let bytes = crate::test_alloc::bytes_during(|| {
            for _ in 0..100 {
                let next = copy(&data);
                drop(std::mem::replace(&mut held, next));
            }
        });
        assert!(
            bytes < 100 * 1024,
            "{bytes} bytes allocated for 100 × {len}"
        );
        assert_eq!(&held[..], &data[..]);
    }

    /// Idle buffers are bounded per class: many large messages dropped at once keep at most
    /// `CLASS_BYTES` of them.
    #[test]
    #[cfg_attr(miri, ignore)]
    fn idle_buffers_are_bounded() {
        let len = 600_000;
        let data = vec![1u8; len];
        let many: Vec<Bytes> = (0..20).map(|_| copy(&data)).collect();
        drop(many);
        let (class, size) = class_of(len).unwrap();
        let idle = idle(class).unwrap().len();
        assert!(idle * size <= CLASS_BYTES, "{idle} idle buffers of {size}");
        assert!(idle >= 1);
    }
}

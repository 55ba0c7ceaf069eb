//! Where free payload blocks wait: a small cache per thread and a shared depot of batches.
//!
//! A thread takes blocks from its own cache and gives dropped ones to it, without locks. A
//! thread that only sends (the application writing messages) empties its cache, and one that
//! only drops (the receiver) fills its own: a full cache passes a batch of [`BATCH`] blocks to
//! the depot, and an empty one takes a batch back, each with one push or pop of a lock-free
//! bounded queue (crossbeam's `ArrayQueue`). So the two threads of a stream meet once per
//! [`BATCH`] messages, and the blocks go round between them.
//!
//! Bounded: a cache holds at most 2 × [`BATCH`] blocks per class, the depot
//! [`DEPOT_BATCHES`] batches per class (with 1 KiB blocks: 64 KiB per thread, 3 MiB in the
//! depot; about 6 MiB for all five classes at most, and only after bursts that large, as
//! the allocator would keep them in its own free lists); beyond that blocks go back to the
//! allocator. A thread's cache is emptied into the
//! depot when the thread ends.

use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::OnceLock;

use crossbeam_queue::ArrayQueue;

use super::block::{self, Header, CLASSES};

/// Blocks moved between a cache and the depot at once.
const BATCH: usize = 32;
/// Batches the depot keeps per class: 3,072 blocks. An inproc pipe holds up to its default
/// HWM (SNDHWM + RCVHWM) of 2,000 messages, and a sender at the HWM makes each next message
/// while its blocks are all in the pipe: the depot must hold that many and the caches'
/// share beside, or the sender allocates again at every HWM (and a receiver's burst frees
/// as many to the allocator). Measured with `benches/tests/alloc.rs`: 1,024 kept, half of
/// every burst was allocated again; 2,048, a few blocks per 10,000 messages; 3,072, none.
const DEPOT_BATCHES: usize = 96;

/// Free blocks of one class, owned by whoever holds the list.
#[derive(Default)]
struct List(Vec<NonNull<Header>>);

// SAFETY: a list owns its blocks alone (none is referenced by a `Block`), so it may move to
// another thread with them.
unsafe impl Send for List {}

impl List {
    fn with_capacity() -> List {
        List(Vec::with_capacity(2 * BATCH))
    }

    /// Returns every block to the allocator.
    fn free(&mut self, class: usize) {
        for ptr in self.0.drain(..) {
            // SAFETY: a free block, allocated for its class, referenced by nothing.
            unsafe { block::deallocate(ptr, class) };
        }
    }
}

/// Full batches of free blocks, and empty lists to swap for them (so that moving batches
/// allocates nothing once running).
struct Depot {
    full: ArrayQueue<List>,
    empty: ArrayQueue<List>,
}

/// The depot of each class, made at the first use (a lock only then; after it, a load).
fn depot(class: usize) -> Option<&'static Depot> {
    static DEPOTS: OnceLock<[Depot; CLASSES]> = OnceLock::new();
    DEPOTS
        .get_or_init(|| {
            std::array::from_fn(|_| Depot {
                full: ArrayQueue::new(DEPOT_BATCHES),
                empty: ArrayQueue::new(2 * DEPOT_BATCHES),
            })
        })
        .get(class)
}

/// One thread's free blocks, per class.
struct Cache {
    lists: [List; CLASSES],
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, list) in self.lists.iter_mut().enumerate() {
            give_batch(class, std::mem::take(list));
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache {
        lists: Default::default(),
    });
}

/// A free block of `class`, from this thread's cache or a batch of the depot's.
pub(super) fn take(class: usize) -> Option<NonNull<Header>> {
    CACHE
        .try_with(|cache| {
            let mut cache = cache.try_borrow_mut().ok()?;
            let list = cache.lists.get_mut(class)?;
            if list.0.is_empty() {
                if let Some(full) = swap_for_full(class, list) {
                    *list = full;
                }
            }
            list.0.pop()
        })
        .ok()
        .flatten()
}

/// A block whose last handle was dropped: to this thread's cache, or to the allocator when
/// the thread is ending.
pub(super) fn give(class: usize, ptr: NonNull<Header>) {
    let kept = CACHE.try_with(|cache| {
        let Ok(mut cache) = cache.try_borrow_mut() else {
            return false;
        };
        let Some(list) = cache.lists.get_mut(class) else {
            return false;
        };
        if list.0.len() >= 2 * BATCH {
            // Full: the older half goes to the depot, for the threads that take.
            let mut batch = take_empty(class);
            batch.0.extend(list.0.drain(..BATCH));
            give_batch(class, batch);
        }
        if list.0.capacity() == 0 {
            list.0.reserve_exact(2 * BATCH);
        }
        list.0.push(ptr);
        true
    });
    if kept != Ok(true) {
        // SAFETY: the last handle is gone, so the block is referenced by nothing.
        unsafe { block::deallocate(ptr, class) };
    }
}

/// A full batch from the depot, which keeps the emptied `list` for later swaps in its
/// place; `None` (and `list` left as it was) when the depot has no full batch.
fn swap_for_full(class: usize, list: &mut List) -> Option<List> {
    let depot = depot(class)?;
    let full = depot.full.pop()?;
    let empty = std::mem::take(list);
    if empty.0.capacity() > 0 {
        // A full queue of empty lists: this one goes back to the allocator.
        let _ = depot.empty.push(empty);
    }
    Some(full)
}

/// An empty list to fill with a batch: one the depot kept, or a new one.
fn take_empty(class: usize) -> List {
    depot(class)
        .and_then(|d| d.empty.pop())
        .unwrap_or_else(List::with_capacity)
}

/// Hands a batch to the depot, or its blocks to the allocator when the depot is full.
fn give_batch(class: usize, batch: List) {
    if batch.0.is_empty() {
        return;
    }
    let Some(depot) = depot(class) else {
        let mut batch = batch;
        batch.free(class);
        return;
    };
    if let Err(mut batch) = depot.full.push(batch) {
        // Full: the blocks go, the list stays for the next batch (no allocation to make one).
        batch.free(class);
        let _ = depot.empty.push(batch);
    }
}

#[cfg(all(test, not(loom)))]
#[allow(clippy::unwrap_used)] // Tests may unwrap (project rules).
mod tests {
    use super::super::block::{Block, MAX_POOLED};

    /// The speed rule (docs/architecture.md §7): once a stream runs, a message of a few
    /// hundred bytes made on one thread and dropped on another allocates nothing on either.
    /// Other tests running at once may share the depot and take its batches, which makes
    /// the sender allocate again for a while: a round of messages without any allocation on
    /// either thread proves the rule, and a broken cache allocates in every round.
    #[test]
    fn a_running_stream_allocates_nothing_on_either_thread() {
        let rounds = 8;
        let per_round = if cfg!(miri) { 40 } else { 5_000 };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Option<(usize, Block)>>(16);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<u64>>();
        let receiver = std::thread::spawn(move || {
            let mut allocations = vec![0; rounds];
            while let Ok(Some((round, b))) = rx.recv() {
                allocations[round] += crate::test_alloc::allocations_during(|| drop(b));
            }
            done_tx.send(allocations).unwrap();
        });
        let data = [9u8; 300];
        let mut sent = vec![0; rounds];
        for (round, allocations) in sent.iter_mut().enumerate() {
            for _ in 0..per_round {
                let mut b = None;
                *allocations += crate::test_alloc::allocations_during(|| b = Block::copy(&data));
                tx.send(Some((round, b.unwrap()))).unwrap();
            }
        }
        tx.send(None).unwrap();
        receiver.join().unwrap();
        let received = done_rx.recv().unwrap();
        // The first round warms the caches and the depot up.
        assert!(
            (1..rounds).any(|r| sent[r] == 0 && received[r] == 0),
            "allocations per round: sender {sent:?}, receiver {received:?}"
        );
    }

    /// A thread that ends hands its cache to the depot, and another thread takes from it.
    #[test]
    fn an_ended_threads_blocks_are_taken_by_another() {
        // Only this test uses the largest class.
        let data = vec![1u8; MAX_POOLED];
        std::thread::spawn(move || {
            let blocks: Vec<Block> = (0..40).map(|_| Block::copy(&data).unwrap()).collect();
            drop(blocks);
        })
        .join()
        .unwrap();
        let data = vec![2u8; MAX_POOLED];
        let allocations = crate::test_alloc::allocations_during(|| {
            for _ in 0..10 {
                let b = Block::copy(&data).unwrap();
                assert_eq!(b.as_slice(), &data[..]);
            }
        });
        assert_eq!(allocations, 0);
    }
}

//! Where a pipe end's owner attaches its [`Notify`].
//!
//! A `OnceLock` would do, but the attachment takes part in a store-buffering handshake with the
//! peer (see [`Pipe::attach`](super::Pipe::attach)), which must be argued, and model-checked
//! under loom, on an atomic of our own.

use std::ptr;
use std::sync::Arc;

use super::sync::atomic::{AtomicPtr, Ordering};
use super::Notify;

/// Holds one end's `Notify`: empty until the owner attaches, then fixed until dropped.
pub(super) struct OwnerSlot {
    /// Null, or a `Box<Arc<dyn Notify>>` leaked by [`set`](Self::set) and freed by `Drop`
    /// (boxed because `Arc<dyn Notify>` is a fat pointer).
    notify: AtomicPtr<Arc<dyn Notify>>,
}

impl OwnerSlot {
    pub(super) fn new() -> OwnerSlot {
        OwnerSlot {
            notify: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Stores `notify` unless the slot is already set (then `notify` is dropped).
    pub(super) fn set(&self, notify: Arc<dyn Notify>) {
        let boxed = Box::into_raw(Box::new(notify));
        // Release: the box's contents are written before an Acquire `get` finds the pointer.
        // Relaxed on failure: we learn nothing but that our box is not needed.
        if self
            .notify
            .compare_exchange(ptr::null_mut(), boxed, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // SAFETY: `boxed` came from `Box::into_raw` above and was never shared.
            drop(unsafe { Box::from_raw(boxed) });
        }
    }

    /// The attached `Notify`, if any.
    pub(super) fn get(&self) -> Option<&Arc<dyn Notify>> {
        // Acquire: see `set`.
        let boxed = self.notify.load(Ordering::Acquire);
        // SAFETY: a non-null pointer is a box stored by `set`, which is freed only by `Drop`,
        // so it outlives `&self`; the Acquire load makes its contents visible.
        unsafe { boxed.as_ref() }
    }
}

impl Drop for OwnerSlot {
    fn drop(&mut self) {
        // Relaxed: `&mut self` is exclusive, and whatever made it so (the last `Arc` of the
        // pipe's shared state going away) ordered every other thread's use before this.
        let boxed = self.notify.load(Ordering::Relaxed);
        if !boxed.is_null() {
            // SAFETY: a box stored by `set`, no longer reachable by anyone else.
            drop(unsafe { Box::from_raw(boxed) });
        }
    }
}

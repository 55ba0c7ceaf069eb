//! Locking that survives a panic elsewhere: a leaf module, so that low-level files need not
//! import the context to take a lock.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`; a panic on another thread while holding it must not make the context
/// unusable (the data behind isomq's locks stays consistent between statements).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

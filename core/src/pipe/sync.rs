//! The atomics and `Arc` the pipes are built on, swapped for loom's model-checked versions when
//! compiled with `--cfg loom` (see [`ypipe`](super::ypipe) for the command).

#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

pub(crate) mod atomic {
    #[cfg(loom)]
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};
    #[cfg(not(loom))]
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

    pub(crate) use std::sync::atomic::Ordering;
}

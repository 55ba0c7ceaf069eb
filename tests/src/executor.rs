//! The smallest executor, for the async API's tests: polls on the calling thread and parks
//! until woken. It proves the futures need nothing from a particular runtime.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake};
use std::thread;

/// Runs `f` to completion on this thread.
pub fn block_on<F: Future>(f: F) -> F::Output {
    block_on_reporting(f, || {})
}

/// [`block_on`], calling `pending` the first time the future returns `Pending`: from then
/// on only its waker can get it going, so a test can act exactly then instead of after a
/// guessed time.
pub fn block_on_reporting<F: Future>(f: F, pending: impl FnOnce()) -> F::Output {
    struct Unpark(thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut f = pin!(f);
    let waker = Arc::new(Unpark(thread::current())).into();
    let mut cx = Context::from_waker(&waker);
    let mut pending = Some(pending);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        if let Some(report) = pending.take() {
            report();
        }
        thread::park();
    }
}

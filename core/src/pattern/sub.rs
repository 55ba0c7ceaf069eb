//! SUB (RFC 29): receives the messages whose first frame starts with one of its subscriptions.
//!
//! As in libzmq (where `sub_t` derives from `xsub_t`), SUB is XSUB that filters what it
//! receives, cannot send, and turns `ZMQ_SUBSCRIBE`/`ZMQ_UNSUBSCRIBE` into subscribe/cancel
//! commands to its publishers: the logic lives in [`super::xsub`].

use super::xsub::XSub;

pub(crate) fn new() -> XSub {
    XSub::new(true)
}

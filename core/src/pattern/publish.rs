//! PUB (RFC 29): fans each message out to the subscribers whose subscriptions match its first
//! frame, drops it for subscribers at HWM, and cannot receive.
//!
//! As in libzmq (where `pub_t` derives from `xpub_t`), PUB is XPUB that keeps subscriptions to
//! itself and discards anything else subscribers send: the logic lives in [`super::xpub`].

use super::xpub::XPub;
use crate::SocketType;

pub(crate) fn new() -> XPub {
    XPub::new(SocketType::Pub)
}

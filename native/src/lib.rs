//! # isomq
//!
//! Brokerless messaging in the ZeroMQ tradition. Sockets with the ZeroMQ patterns
//! (PUSH/PULL, PUB/SUB, XPUB/XSUB, REQ/REP, DEALER/ROUTER, PAIR) over `inproc://`, `tcp://`
//! and `ipc://`, speaking ZMTP 3.1 on the wire, so they talk to libzmq, pyzmq and the rest of
//! the ZeroMQ world, and over `ws://` (ZWS 2.0, RFC 45), so browsers and libzmq's ws transport
//! can join in. Several sockets of one context may bind different paths on one ws:// port.
//!
//! # Examples
//! ```
//! use isomq::{Context, SocketType};
//! let ctx = Context::new();
//! let mut publisher = ctx.socket(SocketType::Pub)?;
//! publisher.bind("tcp://127.0.0.1:*")?;
//! let endpoint = publisher.last_endpoint().unwrap_or_default().to_owned();
//! let mut subscriber = ctx.socket(SocketType::Sub)?;
//! subscriber.subscribe("weather")?;
//! subscriber.connect(&endpoint)?;
//! # let _ = subscriber;
//! # Ok::<(), isomq::Error>(())
//! ```
//!
//! # Implementation notes
//! Each context runs I/O threads, each a `mio` event loop owning listeners and sessions.
//! A socket and its sessions exchange messages through lock-free pipes and talk only by
//! commands (libzmq's actor model); the routing of each socket type and the ZMTP and ZWS
//! codecs live in the sans-IO crate `isomq-core`, shared with the WebAssembly build. The
//! repository's `docs/architecture.md` describes the layers and threads, `docs/wire.md` the
//! protocol rules the code follows.

mod auth;
mod command;
mod context;
mod ctx;
mod doorbell;
mod engine;
mod io_thread;
mod link;
mod mailbox;
mod monitor;
mod options;
mod poll;
mod proxy;
mod queue;
mod random;
mod readiness;
mod socket;
mod stats;
mod stream;
mod sync;
mod tls;
mod transport;
mod ws;

pub use auth::Authenticator;
pub use context::{Context, ContextBuilder};
pub use isomq_core::security::{z85, KeyPair, PublicKey, SecretKey};
pub use isomq_core::{
    Endpoint, Error, Msg, OptionName, OptionValue, Options, Result, SocketOption, SocketType,
};
pub use monitor::{Monitor, MonitorEvent};
pub use options::Flags;
pub use poll::{poll, PollItem};
pub use proxy::{proxy, proxy_steerable, ProxyStats};
pub use readiness::PollEvents;
pub use socket::Socket;
pub use stats::IoStats;

/// A new CURVE key pair from the operating system's random generator (libzmq's
/// `zmq_curve_keypair`). The public key of an existing secret key is
/// [`SecretKey::public_key`].
///
/// # Errors
/// [`Error::Resource`] when the OS generator fails.
pub fn curve_keypair() -> Result<KeyPair> {
    KeyPair::generate(&mut random::OsRandom)
}

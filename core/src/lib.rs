//! # isomq-core
//!
//! The sans-IO heart of isomq: everything that does not need a thread, a socket or a clock.
//! Messages ([`Msg`]), the lock-free pipes that carry them between threads, the ZMTP and ZWS
//! codecs as connection state machines ([`zmtp`], [`zws`]), the ZeroMQ socket patterns as
//! routing policies over pipes, and what both hosts share around them: socket types, options
//! with libzmq's defaults, endpoint parsing, errors.
//!
//! The native crate (`isomq`) drives this core from `mio` event loops; the wasm crate drives it
//! from the JavaScript event loop. Neither re-implements what is here.

mod endpoint;
mod error;
pub mod inproc;
mod msg;
mod options;
mod outq;
mod pattern;
mod pipe;
pub mod security;
pub mod session;
mod socket_type;
#[cfg(test)]
mod test_alloc;
pub mod ws;
pub mod zap;
pub mod zmtp;
pub mod zws;

pub use endpoint::Endpoint;
pub use error::{Error, Result};
pub use msg::Msg;
pub use options::{OptionName, OptionValue, Options, SecurityOptions, SocketOption, WssOptions};
pub use pattern::{new_pattern, Pattern, PatternOption};
pub use pipe::{Notify, Pipe, PipeEvent, PipeId};
pub use socket_type::SocketType;

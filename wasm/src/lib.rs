//! # isomq-wasm
//!
//! isomq for JavaScript: the core's socket patterns and pipes (the same routing code native
//! sockets run), driven by the JavaScript event loop, with a WebSocket engine speaking ZWS 2.0.
//! Compiled to WebAssembly and wrapped by the npm package `isomq` (see `js/` and `README.md`
//! at the repository root).
//!
//! # Design
//!
//! Single-threaded. A [`Context`] owns every socket; a socket owns its pattern; each
//! `ws://` connection is a session that owns the other end of its pipe, a sans-IO
//! [`isomq_core::zws::Connection`] and the WebSocket. Pipe events are queued through a
//! channel (the core's `Notify` must be `Send + Sync`), and after every entry point — a
//! WebSocket event, a timer, a user call — the context runs until nothing moves.
//!
//! `inproc://` joins sockets of one context (one page) with a pipe and no engine.
//!
//! # Flow control
//!
//! Outbound, the pipe's SNDHWM applies as in libzmq (a session stops taking messages while the
//! WebSocket's send buffer holds a megabyte). Inbound, a browser WebSocket cannot be paused:
//! messages arriving while the socket's RCVHWM is reached are dropped and counted
//! ([`Socket::dropped`]), so memory stays bounded.
//!
//! # Closing
//!
//! [`Socket::close`] closes the socket for the application at once; its `ws://` connections
//! go on delivering what it queued within LINGER, as natively, until their WebSockets have
//! sent everything, then close with status 1000. The [`Closing`] it returns completes when
//! they all have.
//!
//! # Portability
//!
//! The JavaScript bindings exist only on `wasm32`; on other targets the crate builds the
//! platform-independent part, which the unit tests exercise over `inproc://`.

mod closing;
mod context;
mod host;
mod session;
mod socket;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
#[cfg(target_arch = "wasm32")]
mod web;

pub use closing::Closing;
pub use context::Context;
pub use host::SocketEvent;
pub use isomq_core::{OptionName, OptionValue, Options, SocketOption};
pub use socket::{Socket, BROWSER_PROTOCOLS};

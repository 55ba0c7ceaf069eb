//! Session policy shared by the hosts: when to reconnect, how long a handshake may take,
//! when to send heartbeats and give up on a silent peer, how long to linger. Sans-IO: the
//! host passes the time in and performs the actions.

mod backoff;
mod codec;
mod lifecycle;
mod machine;
#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod tests;

pub use backoff::Backoff;
pub use codec::Codec;
pub use lifecycle::{Action, Expired, Lifecycle};
pub use machine::{Done, Inbound, Session, SessionEvent, OUT_BATCH};

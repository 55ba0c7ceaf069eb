//! A ZAP handler (RFC 27) in a thread of its own, like czmq's `zauth` and pyzmq's
//! `ThreadAuthenticator`: it binds `inproc://zeromq.zap.01` in a context and answers the
//! requests of that context's PLAIN and CURVE servers (and NULL sockets with a ZAP_DOMAIN)
//! with the decisions of an [`isomq_core::zap::Policy`].

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use bytes::Bytes;
use isomq_core::security::PublicKey;
use isomq_core::zap::{Policy, ZAP_ENDPOINT};
use isomq_core::{Error, Result, SocketType};

use crate::context::Context;
use crate::poll::{poll, PollItem};
use crate::readiness::PollEvents;
use crate::socket::Socket;
use crate::sync::lock;

/// A running ZAP handler; it stops when dropped. Until configured it refuses every PLAIN
/// and CURVE client (NULL connections pass when their address does).
///
/// ```
/// # fn main() -> isomq::Result<()> {
/// let ctx = isomq::Context::new();
/// let auth = isomq::Authenticator::start(&ctx)?;
/// auth.plain_user("admin", "secret");
/// auth.curve_allow_any();
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Authenticator {
    policy: Arc<Mutex<Policy>>,
    control: Socket,
    thread: Option<JoinHandle<()>>,
}

impl Authenticator {
    /// Binds the context's ZAP endpoint and starts answering.
    ///
    /// # Errors
    /// [`Error::AddrInUse`] when the context already has a ZAP handler; the socket errors
    /// of a terminated context.
    pub fn start(ctx: &Context) -> Result<Authenticator> {
        let mut handler = ctx.socket(SocketType::Rep)?;
        handler.bind(ZAP_ENDPOINT)?;
        // A PAIR per authenticator tells its thread to stop; the name is unique per
        // context because the ZAP endpoint above is.
        let stop_endpoint = "inproc://isomq.authenticator.stop";
        let mut stop = ctx.socket(SocketType::Pair)?;
        stop.bind(stop_endpoint)?;
        let mut control = ctx.socket(SocketType::Pair)?;
        control.connect(stop_endpoint)?;
        let policy = Arc::new(Mutex::new(Policy::default()));
        let shared = policy.clone();
        let thread = std::thread::Builder::new()
            .name("isomq-zap".into())
            .spawn(move || serve(handler, stop, &shared))
            .map_err(|e| Error::Resource(format!("cannot start the ZAP thread: {e}")))?;
        Ok(Authenticator {
            policy,
            control,
            thread: Some(thread),
        })
    }

    /// Accept connections from this IP address only (with the others allowed).
    pub fn allow(&self, address: &str) {
        lock(&self.policy).allow(address);
    }

    /// Refuse connections from this IP address.
    pub fn deny(&self, address: &str) {
        lock(&self.policy).deny(address);
    }

    /// CURVE: accept any client that completes the handshake.
    pub fn curve_allow_any(&self) {
        lock(&self.policy).curve_allow_any();
    }

    /// CURVE: accept the client with this long-term public key.
    pub fn curve_allow(&self, key: PublicKey) {
        lock(&self.policy).curve_allow(key);
    }

    /// CURVE: accept the public keys of every file in `dir` (czmq certificates, `isomq
    /// keygen` output, or bare Z85 lines; see [`Policy::curve_allow_key_file`]). Returns
    /// how many keys were added.
    ///
    /// # Errors
    /// [`Error::Io`] when the folder cannot be read.
    pub fn curve_allow_dir(&self, dir: impl AsRef<Path>) -> Result<usize> {
        let mut added = 0;
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if let Ok(text) = std::fs::read_to_string(&path) {
                added += lock(&self.policy).curve_allow_key_file(&text);
            }
        }
        Ok(added)
    }

    /// PLAIN: accept this username with this password.
    pub fn plain_user(&self, username: impl AsRef<[u8]>, password: impl AsRef<[u8]>) {
        lock(&self.policy).plain_user(username.as_ref(), password.as_ref());
    }
}

impl Drop for Authenticator {
    fn drop(&mut self) {
        let _ = self.control.send("STOP");
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The handler's loop: one request, one reply, until told to stop or the context ends.
fn serve(mut handler: Socket, mut stop: Socket, policy: &Mutex<Policy>) {
    loop {
        let mut items = [
            PollItem::new(&mut handler, PollEvents::IN),
            PollItem::new(&mut stop, PollEvents::IN),
        ];
        if poll(&mut items, None).is_err() || items[1].is_readable() {
            return;
        }
        if !items[0].is_readable() {
            continue;
        }
        let Ok(request) = handler.recv_multipart() else {
            return;
        };
        let frames: Vec<Bytes> = request.into_iter().map(|m| m.into_bytes()).collect();
        let reply = lock(policy).handle(&frames);
        if handler.send_multipart(reply).is_err() {
            return;
        }
    }
}

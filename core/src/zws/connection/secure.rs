//! PLAIN and CURVE over ZWS (docs/wire.md §10.10, docs/security.md): the mechanism's
//! commands travel as command messages (`02 body`), and under CURVE every frame after the
//! handshake is a MESSAGE in a data message (`00 07 'MESSAGE' ...`), as libzmq's ws engine
//! sends it.

use bytes::BytesMut;

use super::{Connection, State, ZWS_VERSION};
use crate::error::{Error, Result};
use crate::msg::Msg;
use crate::security::Random;
use crate::zap::ZapOutcome;
use crate::zmtp::command::{self, Command};
use crate::zmtp::decoder::Frame;
use crate::zmtp::mechanism::curve::Cipher;
use crate::zmtp::mechanism::{Mechanism, Out, Step};
use crate::zmtp::secure;
use crate::zmtp::{Event, PeerInfo};

impl Connection {
    /// Starts the configured mechanism: its first commands are queued.
    pub(super) fn start_mechanism(&mut self, rng: &mut dyn Random) {
        self.state = State::Handshake;
        let mut out = Out::default();
        let started = Mechanism::start(
            &self.config.auth,
            self.config.socket_type,
            self.config.identity.clone(),
            Some(rng),
            &mut out,
        );
        self.push_commands(&mut out);
        match started.and_then(|(m, step)| {
            self.mechanism = Some(m);
            self.apply(step)
        }) {
            Ok(()) => {}
            Err(e) => self.failed = Some(e),
        }
    }

    /// The outcome of the ZAP request of an [`Event::Zap`]. Err: the handshake failed (an
    /// ERROR for the peer may be queued: send what is pending before closing).
    pub fn handle_zap(&mut self, outcome: ZapOutcome) -> Result<()> {
        self.check_failed()?;
        let Some(mechanism) = self.mechanism.as_mut() else {
            return Err(Error::Proto("ZAP reply without a request".into()));
        };
        let mut out = Out::default();
        let step = mechanism.handle_zap(outcome, &mut out);
        self.push_commands(&mut out);
        step.and_then(|step| self.apply(step))
            .inspect_err(|e| self.failed = Some(e.clone()))
    }

    /// A handshake command from the peer (its body, after the flags byte).
    pub(super) fn mechanism_command(&mut self, body: &[u8]) -> Result<()> {
        let Some(mechanism) = self.mechanism.as_mut() else {
            return Err(Error::Proto("handshake command after the handshake".into()));
        };
        let mut out = Out::default();
        let step = mechanism.handle_command(body, &mut out);
        self.push_commands(&mut out);
        self.apply(step?)
    }

    fn push_commands(&mut self, out: &mut Out) {
        for body in out.take() {
            self.push(super::join(&[super::COMMAND], &body));
        }
    }

    fn apply(&mut self, step: Step) -> Result<()> {
        match step {
            Step::Continue => {}
            Step::Zap(request) => self.events.push_back(Event::Zap(request)),
            Step::Ready(peer) => {
                self.cipher = Mechanism::finish(self.mechanism.take())?;
                self.ready(PeerInfo {
                    socket_type: peer.socket_type,
                    identity: peer.identity,
                    version: ZWS_VERSION,
                    properties: peer.properties,
                });
            }
        }
        Ok(())
    }

    /// Under CURVE: one frame boxed in a MESSAGE, in a data message of its own. A
    /// subscription is boxed as the data frame `01 topic` / `00 topic` (RFC 45's form).
    pub(super) fn send_sealed(&mut self, msg: &Msg) {
        let Some(cipher) = self.cipher.as_mut() else {
            return;
        };
        let subscription = msg.is_subscribe() || msg.is_cancel();
        let (flags, mark): (u8, &[u8]) = match (subscription, msg.is_subscribe()) {
            (true, true) => (0, &[1]),
            (true, false) => (0, &[0]),
            (false, _) => (u8::from(msg.more()), &[]),
        };
        let mut payload = BytesMut::with_capacity(1 + Cipher::OVERHEAD + mark.len() + msg.len());
        payload.extend_from_slice(&[0]);
        let sealed = cipher.seal_append(flags, &[mark, msg.as_slice()], &mut payload);
        match sealed {
            Ok(()) => self.push(payload.freeze()),
            Err(e) => self.failed = Some(e),
        }
    }

    /// Under CURVE: opens a received frame's MESSAGE as ZMTP's CURVE traffic does (small
    /// payloads copied inline, a command's body apart); None without CURVE.
    pub(super) fn open_sealed(&mut self, body: &[u8]) -> Result<Option<Frame>> {
        let Some(cipher) = self.cipher.as_mut() else {
            return Ok(None);
        };
        secure::open(cipher, BytesMut::from(body)).map(Some)
    }

    /// A command tunnelled under CURVE: ERROR is fatal; libzmq tunnels its subscriptions as
    /// SUBSCRIBE/CANCEL even over ZWS, which a publisher takes as subscriptions.
    pub(super) fn tunnelled_command(&self, body: &[u8]) -> Result<Option<Msg>> {
        Ok(match command::parse(body)? {
            Command::Error(reason) => return Err(crate::zmtp::mechanism::peer_error(reason)),
            Command::Subscribe(topic) if self.accepts_subscriptions() => {
                Some(Msg::subscribe(topic))
            }
            Command::Cancel(topic) if self.accepts_subscriptions() => Some(Msg::cancel(topic)),
            _ => None,
        })
    }
}

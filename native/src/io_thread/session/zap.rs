//! A session's ZAP request in flight (RFC 27): the request goes down a pipe to the socket
//! bound at `inproc://zeromq.zap.01`, like a DEALER's; the reply comes back on the same
//! pipe, whose notifier drives the session again (docs/security.md §4).

use bytes::Bytes;
use isomq_core::zap::{ZapReply, ZapRequest};
use isomq_core::{Error, Msg, Options, Pipe, Result};

use crate::io_thread::services::Services;
use crate::link::SocketLink;

/// The pipe to the handler and the reply frames so far.
#[derive(Debug)]
pub(super) struct ZapClient {
    pipe: Pipe,
    reply: Vec<Bytes>,
}

impl ZapClient {
    /// Sends `request`; None when no handler is bound (the mechanism decides what that
    /// means).
    pub(super) fn start(
        link: &SocketLink,
        request: &ZapRequest,
        options: &Options,
        address: &str,
        sv: &Services,
        slot: usize,
    ) -> Option<ZapClient> {
        let mut pipe = link.zap.connect_zap(sv.next_id())?;
        pipe.attach(sv.notify(slot));
        let frames = request.frames(
            &options.security.zap_domain,
            address.as_bytes(),
            &options.routing_id,
        );
        let last = frames.len().saturating_sub(1);
        for (i, frame) in frames.into_iter().enumerate() {
            // The pipe has no limit (HWM 0): the write cannot be refused.
            let _ = pipe.write(Msg::from_bytes(frame).with_more(i < last));
        }
        pipe.flush();
        Some(ZapClient {
            pipe,
            reply: Vec::new(),
        })
    }

    /// The id of the pipe to the handler (its events drive the session).
    pub(super) fn pipe_id(&self) -> isomq_core::PipeId {
        self.pipe.id()
    }

    /// The handler's reply once all its frames are in; an error when the handler went away
    /// or answered something that is not a ZAP reply.
    pub(super) fn poll(&mut self) -> Option<Result<ZapReply>> {
        while let Some(msg) = self.pipe.read() {
            let more = msg.more();
            self.reply.push(msg.into_bytes());
            if !more {
                return Some(ZapReply::parse(&self.reply));
            }
        }
        self.pipe
            .peer_terminated()
            .then(|| Err(Error::Proto("the ZAP handler went away".into())))
    }
}

//! `isomq proxy`: a broker or forwarder between two sockets (zmq_proxy), e.g.
//! `isomq proxy router @tcp://127.0.0.1:5555 dealer @tcp://127.0.0.1:5556` for
//! request-reply, or `xsub @... xpub @...` for publish-subscribe.

use isomq::{proxy, Context, Error, Socket};

use crate::args::socket_type;

pub(crate) const USAGE: &str = "\
usage: isomq proxy <FRONT-TYPE> <FRONT-EP> <BACK-TYPE> <BACK-EP> [--capture EP]

  Forwards whole messages both ways between a frontend and a backend socket until killed.
  An endpoint starting with @ is bound, one starting with > is connected; a bare endpoint
  is bound. Each bind prints 'bound <endpoint>' on stderr, frontend first.
  Typical pairs: router/dealer (request-reply broker), xsub/xpub (forwarder),
  pull/push (streamer). --capture EP binds a PUSH socket that gets a copy of every message.";

/// One side: type and endpoint as given.
fn open(ctx: &Context, type_name: &str, spec: &str) -> Result<Socket, String> {
    let t = socket_type(type_name).ok_or_else(|| format!("unknown socket type {type_name:?}"))?;
    let (bind, ep) = match spec.as_bytes().first() {
        Some(b'>') => (false, &spec[1..]),
        Some(b'@') => (true, &spec[1..]),
        _ => (true, spec),
    };
    isomq::Endpoint::parse(ep).map_err(|e| format!("bad endpoint {ep:?}: {e}"))?;
    let mut s = ctx.socket(t).map_err(|e| e.to_string())?;
    if bind {
        s.bind(ep).map_err(|e| format!("bind {ep}: {e}"))?;
        eprintln!("bound {}", s.last_endpoint().unwrap_or(ep));
    } else {
        s.connect(ep).map_err(|e| format!("connect {ep}: {e}"))?;
    }
    Ok(s)
}

/// Runs `isomq proxy`; returns the exit status.
pub(crate) fn run(argv: &[String]) -> i32 {
    let (positional, capture) = match argv {
        [a, b, c, d] => ([a, b, c, d], None),
        [a, b, c, d, flag, ep] if flag == "--capture" => ([a, b, c, d], Some(ep)),
        _ => {
            eprintln!("isomq: proxy needs 4 arguments (see isomq proxy --help)");
            return 2;
        }
    };
    let ctx = Context::new();
    let sockets = open(&ctx, positional[0], positional[1]).and_then(|f| {
        let b = open(&ctx, positional[2], positional[3])?;
        let c = match capture {
            Some(ep) => Some(open(&ctx, "push", ep)?),
            None => None,
        };
        Ok((f, b, c))
    });
    let (mut frontend, mut backend, mut capture) = match sockets {
        Ok(s) => s,
        Err(e) => {
            eprintln!("isomq: {e}");
            return 2;
        }
    };
    match proxy(&mut frontend, &mut backend, capture.as_mut()) {
        Ok(()) | Err(Error::Term) => 0,
        Err(e) => {
            eprintln!("isomq: proxy: {e}");
            1
        }
    }
}

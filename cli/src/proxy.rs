//! `isomq proxy`: a broker or forwarder between two sockets (zmq_proxy), e.g.
//! `isomq proxy router @tcp://127.0.0.1:5555 dealer @tcp://127.0.0.1:5556` for
//! request-reply, or `xsub @... xpub @...` for publish-subscribe.

use isomq::{proxy, Authenticator, Context, Error, Socket, SocketType};

use crate::args::socket_type;
use crate::heartbeat::HeartbeatArgs;
use crate::security::SecurityArgs;

pub(crate) const USAGE: &str = "\
usage: isomq proxy <FRONT-TYPE> <FRONT-EP> [flags] <BACK-TYPE> <BACK-EP> [flags] [--capture EP]

  Forwards whole messages both ways between a frontend and a backend socket until killed.
  An endpoint starting with @ is bound, one starting with > is connected; a bare endpoint
  is bound. Each bind prints 'bound <endpoint>' on stderr, frontend first.
  Typical pairs: router/dealer (request-reply broker), xsub/xpub (forwarder),
  pull/push (streamer). --capture EP binds a PUSH socket that gets a copy of every message.
  The security flags of isomq cat (--curve-server, --curve-secret, --curve-serverkey,
  --curve-allow, --plain-server, --plain) and its heartbeat flags (--heartbeat-ivl,
  --heartbeat-timeout) follow the endpoint of the socket they set up.";

/// One side as given: type, endpoint, security flags (whose Debug hides secrets),
/// heartbeats.
#[derive(Debug, Default)]
struct Side {
    type_name: String,
    spec: String,
    security: SecurityArgs,
    heartbeat: HeartbeatArgs,
}

/// Splits the arguments into the two sides and the capture endpoint.
fn parse(argv: &[String]) -> Result<(Side, Side, Option<String>), String> {
    let mut it = argv.iter().cloned();
    let mut sides = Vec::new();
    let mut capture = None;
    let mut pending: Option<String> = it.next();
    while let Some(word) = pending.take() {
        if word == "--capture" {
            capture = Some(it.next().ok_or("--capture needs an endpoint")?);
            pending = it.next();
            continue;
        }
        let spec = it.next().ok_or(format!("{word} needs an endpoint"))?;
        let mut side = Side {
            type_name: word,
            spec,
            ..Side::default()
        };
        pending = it.next();
        while let Some(flag) = pending.take_if(|f| f.starts_with("--") && f != "--capture") {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            if !side.security.take(&flag, &mut value)? && !side.heartbeat.take(&flag, &mut value)? {
                return Err(format!("unknown argument {flag:?}"));
            }
            pending = it.next();
        }
        side.security.check()?;
        side.heartbeat.check()?;
        sides.push(side);
    }
    match <[Side; 2]>::try_from(sides) {
        Ok([front, back]) => Ok((front, back, capture)),
        Err(_) => Err("proxy needs a frontend and a backend (see isomq proxy --help)".into()),
    }
}

/// A side's socket type, whether it binds, and its endpoint, checked.
fn target(side: &Side) -> Result<(SocketType, bool, &str), String> {
    let (type_name, spec) = (&side.type_name, side.spec.as_str());
    let t = socket_type(type_name).ok_or_else(|| format!("unknown socket type {type_name:?}"))?;
    let (bind, ep) = match spec.strip_prefix('>') {
        Some(ep) => (false, ep),
        None => (true, spec.strip_prefix('@').unwrap_or(spec)),
    };
    isomq::Endpoint::parse(ep).map_err(|e| format!("bad endpoint {ep:?}: {e}"))?;
    Ok((t, bind, ep))
}

/// Parses and checks the arguments of `isomq proxy` as [`run`] does before it opens a
/// socket.
pub(crate) fn check(argv: &[String]) -> Result<(), String> {
    let (front, back, capture) = parse(argv)?;
    target(&front)?;
    target(&back)?;
    if let Some(spec) = capture {
        target(&Side {
            type_name: "push".into(),
            spec,
            ..Side::default()
        })?;
    }
    Ok(())
}

/// Opens one side as given; keeps its ZAP handler, if it needs one, in `handlers`.
fn open(ctx: &Context, side: &Side, handler: &mut Option<Authenticator>) -> Result<Socket, String> {
    let (t, bind, ep) = target(side)?;
    let mut s = ctx.socket(t).map_err(|e| e.to_string())?;
    side.security
        .apply(ctx, &mut s, handler)
        .map_err(|e| e.to_string())?;
    side.heartbeat.apply(&mut s).map_err(|e| e.to_string())?;
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
    let (front, back, capture) = match parse(argv) {
        Ok(parsed) => parsed,
        Err(e) => {
            eprintln!("isomq: {e}");
            return 2;
        }
    };
    let ctx = Context::new();
    // A context has one ZAP handler: two sides that both need one share it.
    let mut handler = None;
    let sockets = open(&ctx, &front, &mut handler).and_then(|f| {
        let b = open(&ctx, &back, &mut handler)?;
        let c = match capture {
            Some(spec) => {
                let side = Side {
                    type_name: "push".into(),
                    spec,
                    ..Side::default()
                };
                Some(open(&ctx, &side, &mut handler)?)
            }
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
    // With a handler in the context, a CURVE side given no allow-list must say it admits
    // anyone, or the handler would refuse its clients.
    if let Some(h) = &handler {
        if front.security.curve_allows_any() || back.security.curve_allows_any() {
            h.curve_allow_any();
        }
    }
    let status = match proxy(&mut frontend, &mut backend, capture.as_mut()) {
        Ok(()) | Err(Error::Term) => 0,
        Err(e) => {
            eprintln!("isomq: proxy: {e}");
            1
        }
    };
    drop(handler);
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    const KEY: &str = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";

    #[test]
    fn security_flags_follow_their_side() {
        let (front, back, capture) = parse(&args(&[
            "xsub",
            ">tcp://a:1",
            "--curve-serverkey",
            KEY,
            "xpub",
            "@ws://b:2/x",
            "--curve-server",
            "--curve-secret",
            KEY,
            "--capture",
            "@tcp://c:3",
        ]))
        .unwrap();
        assert_eq!(
            (front.type_name.as_str(), back.type_name.as_str()),
            ("xsub", "xpub")
        );
        assert!(!front.security.curve_allows_any() && back.security.curve_allows_any());
        assert_eq!(capture.as_deref(), Some("@tcp://c:3"));
    }

    #[test]
    fn heartbeat_flags_follow_their_side() {
        let (front, back, _) = parse(&args(&[
            "router",
            "@ws://a:1/x",
            "--heartbeat-ivl",
            "1000",
            "dealer",
            "@tcp://b:2",
        ]))
        .unwrap();
        assert!(format!("{:?}", front.heartbeat).contains("1s"));
        assert!(format!("{:?}", back.heartbeat).contains("None"));
        let alone = [
            "xsub",
            "@tcp://a:1",
            "--heartbeat-timeout",
            "9",
            "xpub",
            "@tcp://b:2",
        ];
        assert!(parse(&args(&alone)).is_err());
    }

    #[test]
    fn bad_proxy_arguments_are_refused() {
        assert!(parse(&args(&["xsub", "@tcp://a:1"])).is_err());
        assert!(parse(&args(&[
            "xsub",
            "@tcp://a:1",
            "--curve-server",
            "xpub",
            "@tcp://b:2"
        ]))
        .unwrap_err()
        .contains("--curve-secret"));
        assert!(parse(&args(&[
            "xsub",
            "@tcp://a:1",
            "--bogus",
            "x",
            "xpub",
            "@tcp://b:2"
        ]))
        .is_err());
    }
}

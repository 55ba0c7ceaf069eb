//! Command-line arguments of `isomq cat`, parsed by hand: a handful of flags does not need a
//! parser crate.

use std::time::Duration;

use isomq::SocketType;

use crate::heartbeat::HeartbeatArgs;
use crate::security::SecurityArgs;
use crate::tls::TlsArgs;

/// `isomq cat --help`.
pub(crate) fn usage() -> String {
    USAGE
        .replace("{SECURITY}", crate::security::USAGE)
        .replace("{TLS}", crate::tls::USAGE)
        .replace("{HEARTBEAT}", crate::heartbeat::USAGE)
}

const USAGE: &str = "\
usage: isomq cat <TYPE> [--bind EP]... [--connect EP]... [--subscribe TOPIC]...
                 [--count N] [--timeout-ms MS] [--hwm N] [--identity ID] [--echo]
                 [heartbeat flags] [security flags] [wss:// flags]

  TYPE            push, pull, pub, sub, xpub, xsub, pair, req, rep, dealer, router
  --bind EP       accept connections on EP (tcp://127.0.0.1:*, ipc://path, inproc://name,
                  ws://127.0.0.1:*/path, wss://127.0.0.1:*/path)
  --connect EP    connect to EP
  --subscribe T   sub: receive messages starting with T (default: everything);
                  xsub: send the subscription for T
  --count N       exit after N messages received (or sent, for push and pub)
  --timeout-ms MS exit with status 1 when nothing arrives for MS ms; for push and pub,
                  give up delivering queued messages after MS ms at end of input
  --hwm N         SNDHWM and RCVHWM
  --identity ID   ROUTING_ID (req, dealer, router): how a ROUTER peer names this socket
  --echo          rep, router: answer every request with the request itself
  --ws-origin O   ws:// and wss:// binds: accept browser upgrades only from Origin O
                  (repeatable); clients that send no Origin (not browsers) are always
                  accepted

Heartbeats (ZMTP PING, WebSocket ping on ws:// and wss://):
{HEARTBEAT}

wss:// (WebSocket over TLS):
{TLS}

Security (tcp://, ipc:// and ws://; keys are 40 characters of Z85, see isomq keygen):
{SECURITY}

Sending sockets send each stdin line as a message, TAB separating frames. Receiving sockets
print each message as a line, frames separated by TAB. A bind prints 'bound <endpoint>' on
stderr.

req sends each stdin line as a request and prints the reply. rep prints each request and
answers it with the next stdin line (or with itself, --echo). dealer sends stdin lines and
prints what it receives. router prints 'id<TAB>frames...' (id bytes raw) and sends each stdin
line to the peer named by its first TAB-separated field.";

#[derive(Debug)]
pub(crate) struct CatArgs {
    pub(crate) socket_type: SocketType,
    pub(crate) binds: Vec<String>,
    pub(crate) connects: Vec<String>,
    pub(crate) subscribes: Vec<String>,
    pub(crate) count: Option<u64>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hwm: Option<usize>,
    pub(crate) identity: Option<String>,
    pub(crate) echo: bool,
    pub(crate) security: SecurityArgs,
    pub(crate) ws_origins: Vec<String>,
    pub(crate) tls: TlsArgs,
    pub(crate) heartbeat: HeartbeatArgs,
}

pub(crate) fn socket_type(name: &str) -> Option<SocketType> {
    Some(match name {
        "push" => SocketType::Push,
        "pull" => SocketType::Pull,
        "pub" => SocketType::Pub,
        "sub" => SocketType::Sub,
        "xpub" => SocketType::XPub,
        "xsub" => SocketType::XSub,
        "pair" => SocketType::Pair,
        "req" => SocketType::Req,
        "rep" => SocketType::Rep,
        "dealer" => SocketType::Dealer,
        "router" => SocketType::Router,
        _ => return None,
    })
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag} needs a non-negative number, got {value:?}"))
}

/// Parses the arguments after `cat`.
pub(crate) fn parse(args: &[String]) -> Result<CatArgs, String> {
    let mut it = args.iter();
    let type_name = it.next().ok_or("missing socket type")?;
    let socket_type =
        socket_type(type_name).ok_or_else(|| format!("unknown socket type {type_name:?}"))?;
    let mut out = CatArgs {
        socket_type,
        binds: Vec::new(),
        connects: Vec::new(),
        subscribes: Vec::new(),
        count: None,
        timeout: None,
        hwm: None,
        identity: None,
        echo: false,
        security: SecurityArgs::default(),
        ws_origins: Vec::new(),
        tls: TlsArgs::default(),
        heartbeat: HeartbeatArgs::default(),
    };
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag.as_str() {
            "--bind" => out.binds.push(value()?),
            "--connect" => out.connects.push(value()?),
            "--subscribe" => out.subscribes.push(value()?),
            "--count" => out.count = Some(number(flag, &value()?)?),
            "--timeout-ms" => {
                out.timeout = Some(Duration::from_millis(number(flag, &value()?)?));
            }
            "--hwm" => out.hwm = Some(number(flag, &value()?)?),
            "--identity" => out.identity = Some(value()?),
            "--echo" => out.echo = true,
            "--ws-origin" => out.ws_origins.push(value()?),
            other => {
                if !out.security.take(other, &mut value)?
                    && !out.tls.take(other, &mut value)?
                    && !out.heartbeat.take(other, &mut value)?
                {
                    return Err(format!("unknown argument {other:?}"));
                }
            }
        }
    }
    out.security.check()?;
    out.tls.check(&out.binds)?;
    out.heartbeat.check()?;
    if out.echo && !matches!(out.socket_type, SocketType::Rep | SocketType::Router) {
        return Err("--echo is for rep and router".into());
    }
    if out.binds.is_empty() && out.connects.is_empty() {
        return Err("give at least one --bind or --connect".into());
    }
    for ep in out.binds.iter().chain(&out.connects) {
        isomq::Endpoint::parse(ep).map_err(|e| format!("bad endpoint {ep:?}: {e}"))?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_repeated_flags() {
        let a = parse(&strings(&[
            "sub",
            "--connect",
            "tcp://127.0.0.1:1",
            "--subscribe",
            "a",
            "--subscribe",
            "b",
            "--count",
            "3",
            "--ws-origin",
            "https://a.example",
            "--ws-origin",
            "https://b.example",
        ]));
        let a = a.ok();
        assert_eq!(a.as_ref().map(|a| a.ws_origins.len()), Some(2));
        assert_eq!(a.as_ref().map(|a| a.subscribes.len()), Some(2));
        assert_eq!(a.and_then(|a| a.count), Some(3));
    }

    #[test]
    fn rejects_bad_input() {
        assert!(parse(&strings(&["stream", "--bind", "tcp://*:1"])).is_err());
        assert!(parse(&strings(&["push", "--echo", "--bind", "tcp://*:1"])).is_err());
        assert!(parse(&strings(&["router", "--echo", "--bind", "tcp://*:1"])).is_ok());
        assert!(parse(&strings(&["push", "--bind"])).is_err());
        assert!(parse(&strings(&["push", "--bind", "tcp://nope"])).is_err());
        assert!(parse(&strings(&["push", "--count", "-1", "--bind", "ipc://x"])).is_err());
        assert!(parse(&strings(&["push"])).is_err());
        let timeout_alone = ["pull", "--bind", "ipc://x", "--heartbeat-timeout", "300"];
        assert!(parse(&strings(&timeout_alone)).is_err());
        let both = [&timeout_alone[..], &["--heartbeat-ivl", "100"]].concat();
        assert!(parse(&strings(&both)).is_ok());
    }

    /// Every flag in `isomq cat --help`, the security flags included, is indented by two
    /// spaces (the first security flag once lost its indent to a `\` line continuation).
    #[test]
    fn usage_indents_every_flag() {
        let text = usage();
        let flags: Vec<&str> = text
            .lines()
            .filter(|l| l.trim_start().starts_with("--"))
            .collect();
        assert!(
            flags.iter().any(|l| l.contains("--curve-server ")),
            "{text}"
        );
        for line in flags {
            assert!(
                line.starts_with("  --"),
                "flag line not indented by two spaces: {line:?}"
            );
        }
    }
}

//! The `isomq` command line as a library: [`run`] is the whole tool (the binary's `main`
//! passes it the arguments), [`check`] parses a command line without running it (for the
//! fuzz target of the argument parser, docs/fuzzing.md).
//!
//! `isomq cat <TYPE> [--bind EP]... [--connect EP]...` turns stdin lines into messages and
//! received messages into stdout lines; see `isomq cat --help`. `isomq proxy` runs a
//! broker or forwarder between two sockets; see `isomq proxy --help`.

mod args;
mod cat;
mod heartbeat;
mod proxy;
mod security;
mod tls;

const KEYGEN_USAGE: &str =
    "usage: isomq keygen    prints a new CURVE key pair: 'public <Z85>', 'secret <Z85>'";

/// Runs `isomq` with `argv` (the arguments after the program name); returns the exit
/// status.
pub fn run(argv: &[String]) -> i32 {
    match argv.first().map(String::as_str) {
        Some("cat") => {
            let rest = &argv[1..];
            if rest.iter().any(|a| a == "--help" || a == "-h") {
                println!("{}", args::usage());
                0
            } else {
                match args::parse(rest) {
                    Ok(a) => cat::run(a),
                    Err(e) => {
                        eprintln!("isomq: {e} (see isomq cat --help)");
                        2
                    }
                }
            }
        }
        Some("keygen") => security::keygen(),
        Some("proxy") => {
            let rest = &argv[1..];
            if rest.iter().any(|a| a == "--help" || a == "-h") {
                println!("{}", proxy::USAGE);
                0
            } else {
                proxy::run(rest)
            }
        }
        Some("--help") | Some("-h") => {
            println!(
                "isomq: ZeroMQ sockets from the command line\n\n{}\n\n{}\n\n{KEYGEN_USAGE}",
                args::usage(),
                proxy::USAGE,
            );
            0
        }
        Some(other) => {
            eprintln!("isomq: unknown command {other:?} (try isomq cat --help)");
            2
        }
        None => {
            eprintln!("{}", args::usage());
            2
        }
    }
}

/// Parses `argv` as [`run`] would, opening no socket: `Err` with the message `isomq` would
/// print for a command line it refuses. The wss:// flags of `cat` read the files they name,
/// as `run` does before any socket opens.
pub fn check(argv: &[String]) -> Result<(), String> {
    let rest = argv.get(1..).unwrap_or_default();
    let help = rest.iter().any(|a| a == "--help" || a == "-h");
    match argv.first().map(String::as_str) {
        Some("cat" | "proxy") if help => Ok(()),
        Some("cat") => args::parse(rest).map(drop),
        Some("proxy") => proxy::check(rest),
        Some("keygen" | "--help" | "-h") => Ok(()),
        Some(other) => Err(format!("unknown command {other:?}")),
        None => Err(args::usage()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    /// `check` agrees with what `run` would refuse, without opening anything.
    #[test]
    fn check_parses_without_running() {
        assert!(check(&argv(&["cat", "pull", "--bind", "tcp://127.0.0.1:*"])).is_ok());
        assert!(check(&argv(&["cat", "pull"])).is_err());
        assert!(check(&argv(&[
            "proxy",
            "xsub",
            "@tcp://a:1",
            "xpub",
            "@tcp://b:2"
        ]))
        .is_ok());
        assert!(check(&argv(&["proxy", "xsub", "@tcp://a:1", "xpub", "@nope"])).is_err());
        assert!(check(&argv(&[
            "proxy",
            "stream",
            "@tcp://a:1",
            "xpub",
            "@tcp://b:2"
        ]))
        .is_err());
        assert!(check(&argv(&["cat", "--help"])).is_ok());
        assert!(check(&argv(&["keygen"])).is_ok());
        assert!(check(&argv(&["frobnicate"])).is_err());
        assert!(check(&[]).is_err());
    }
}

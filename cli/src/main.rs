//! `isomq`: the command-line tool for poking at ZeroMQ networks.
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

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let status = match argv.first().map(String::as_str) {
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
    };
    std::process::exit(status);
}

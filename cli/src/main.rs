//! `isomq`: the command-line tool for poking at ZeroMQ networks; see the library's docs
//! ([`isomq_cli::run`]) and `isomq --help`.

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(isomq_cli::run(&argv));
}

//! # isomq-benches
//!
//! Performance tooling for isomq:
//!
//! - the perf tools users know from libzmq (`local_thr`, `remote_thr`, `local_lat`,
//!   `remote_lat`, `inproc_thr`, `inproc_lat`), with libzmq's command lines and output lines,
//!   plus `zmq_*` twins of them built on libzmq (the `zmq` crate) for interop checks;
//! - `compare`: isomq, libzmq and a raw-socket baseline side by side in one run, written to
//!   `benches/RESULTS.md` and `benches/results.svg`, with isomq's ws:// beside its tcp://
//!   (`--ws-only` for those rows alone); `--multicore` instead runs N PUSH → PULL pairs with
//!   N I/O threads per context, both libraries;
//! - `fanout`: one PUB process to thousands of subscriber connections over ws:// and tcp://,
//!   and (`--libzmq`) isomq against libzmq over tcp://;
//! - `soak`: every pattern at once with churn and faults, for minutes or an hour;
//! - `conn_memory`: resident memory per idle connection (tcp://, ws://), bind and connect side;
//! - criterion micro-benchmarks in `benches/benches/`.
//!
//! # Examples
//! ```sh
//! cargo run --release -p isomq-benches --bin compare
//! cargo run --release -p isomq-benches --bin local_thr -- tcp://127.0.0.1:5555 16 1000000 &
//! cargo run --release -p isomq-benches --bin remote_thr -- tcp://127.0.0.1:5555 16 1000000
//! ```
//!
//! `ISOMQ_IO_THREADS` sets the number of I/O threads of every context the tools make
//! (default 1, as `zmq_init (1)` in libzmq's tools).

pub mod args;
pub mod compare;
pub mod compare_multicore;
pub mod compare_procs;
pub mod compare_procs_shared;
pub mod compare_ws;
pub mod compare_wss;
pub mod counting;
pub mod fanout;
pub mod iso;
pub mod libzmq;
pub mod measure;
pub mod memory;
pub mod pin;
pub mod proc_pair;
pub mod procstat;
pub mod raw;
pub mod report;
pub mod security;
pub mod soak;
pub mod subs;
pub mod threads;
pub mod transport;

/// How a throughput sender makes each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// A new message per send with the payload copied in, as libzmq's `remote_thr`
    /// (`zmq_msg_init_size`) and `zmq_send` do.
    Copied,
    /// Every message refers to one payload, which nothing copies before the kernel does:
    /// isomq's `Msg::from_bytes` of a `Bytes` clone, libzmq's `zmq_msg_init_data` with no free
    /// function. The raw-socket baseline also writes one buffer over and over.
    Shared,
}

/// Errors of the tools: they only report and exit.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

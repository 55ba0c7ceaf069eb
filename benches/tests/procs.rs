//! The comparison's process pairs (`proc_pair`) measured for real, with the built `compare`
//! binary as both children: each kind reports a time, from the side that kind names (a
//! latency pair read from its echoing side, which prints none, fails here), for isomq (with
//! an I/O thread and inline) and libzmq over ipc and tcp.

use std::path::Path;

use isomq_benches::proc_pair::{pair, Kind};
use isomq_benches::transport::Transport;

#[test]
fn each_kind_reports_a_time_for_each_library_and_transport() {
    let exe = Path::new(env!("CARGO_BIN_EXE_compare"));
    for kind in [Kind::Throughput, Kind::Latency] {
        for lib in ["isomq", "isomq-inline", "libzmq"] {
            for transport in [Transport::Ipc, Transport::Tcp] {
                match pair(exe, kind, lib, transport, 64, 200) {
                    Ok(elapsed) => assert!(!elapsed.is_zero(), "{kind:?} {lib} {transport}"),
                    Err(e) => panic!("{kind:?} {lib} {transport}: {e}"),
                }
            }
        }
    }
}

//! The perf tools' two sides interoperate with libzmq's: isomq's remote_thr loop into libzmq's
//! local_thr loop and the reverse, and the latency ping-pong both ways, over tcp and ipc.
//! (Function-level: the binaries are thin wrappers around these loops.)
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use isomq_benches::transport::Transport;
use isomq_benches::{iso, libzmq};

const COUNT: usize = 2_000;

fn endpoints() -> Vec<(Transport, String)> {
    [Transport::Tcp, Transport::Ipc]
        .into_iter()
        .map(|t| (t, t.bind_endpoint()))
        .collect()
}

#[test]
fn isomq_remote_thr_to_libzmq_local_thr() {
    for (t, ep) in endpoints() {
        for size in [16, 4096] {
            let ctx = libzmq::context(1).unwrap();
            let (pull, ep) = libzmq::bind(&ctx, zmq::PULL, &ep).unwrap();
            let (done, wait) = std::sync::mpsc::channel::<()>();
            let sender = std::thread::spawn(move || {
                let ctx = iso::context(1);
                let mut push = iso::connect(&ctx, isomq::SocketType::Push, &ep).unwrap();
                iso::send(&mut push, size, COUNT).unwrap();
                let _ = wait.recv();
            });
            libzmq::receive(&pull, size, COUNT).unwrap();
            drop(done);
            sender.join().unwrap();
        }
        t.cleanup(&ep);
    }
}

#[test]
fn libzmq_remote_thr_to_isomq_local_thr() {
    for (t, ep) in endpoints() {
        for size in [16, 4096] {
            let ctx = iso::context(1);
            let (mut pull, ep) = iso::bind(&ctx, isomq::SocketType::Pull, &ep).unwrap();
            let (done, wait) = std::sync::mpsc::channel::<()>();
            let sender = std::thread::spawn(move || {
                let ctx = libzmq::context(1).unwrap();
                let push = libzmq::connect(&ctx, zmq::PUSH, &ep).unwrap();
                libzmq::send(&push, size, COUNT).unwrap();
                let _ = wait.recv();
            });
            iso::receive(&mut pull, size, COUNT).unwrap();
            drop(done);
            sender.join().unwrap();
        }
        t.cleanup(&ep);
    }
}

#[test]
fn latency_ping_pong_both_ways() {
    for (t, ep) in endpoints() {
        // isomq local_lat, libzmq remote_lat.
        let ctx = iso::context(1);
        let (mut local, resolved) = iso::bind(&ctx, isomq::SocketType::Pair, &ep).unwrap();
        let echo = std::thread::spawn(move || iso::echo(&mut local, 64, 100).unwrap());
        let zctx = libzmq::context(1).unwrap();
        let remote = libzmq::connect(&zctx, zmq::PAIR, &resolved).unwrap();
        libzmq::ping(&remote, 64, 100, Duration::ZERO).unwrap();
        echo.join().unwrap();
        t.cleanup(&ep);

        // libzmq local_lat, isomq remote_lat.
        let ep = t.bind_endpoint();
        let (local, resolved) = libzmq::bind(&zctx, zmq::PAIR, &ep).unwrap();
        let echo = std::thread::spawn(move || libzmq::echo(&local, 64, 100).unwrap());
        let mut remote = iso::connect(&ctx, isomq::SocketType::Pair, &resolved).unwrap();
        iso::ping(&mut remote, 64, 100, Duration::ZERO).unwrap();
        echo.join().unwrap();
        t.cleanup(&ep);
    }
}

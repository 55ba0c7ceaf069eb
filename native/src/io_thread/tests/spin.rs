//! The I/O thread's spin as users meet it (docs/architecture.md §5.6): "an I/O thread
//! spins only while request and reply pass through it". Real sockets, each side a context
//! of its own with one I/O thread, over tcp:// and ipc://; the rule's timing cases are
//! `io_thread::spin`'s unit tests.

// In tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use crate::{Context, Msg, Socket, SocketType};

/// Messages of the stream; round trips the exchange may take to spin on both sides.
const STREAM: usize = 20_000;
const ROUND_TRIPS: usize = 20_000;

fn context() -> Context {
    Context::builder().io_threads(1).inline_io(false).build()
}

/// A bound socket of `ctx` and one of `peer_ctx` connected to it, on `transport` (an
/// OS-chosen port, a generated ipc:// path).
fn pair(
    transport: &str,
    (ctx, kind): (&Context, SocketType),
    (peer_ctx, peer_kind): (&Context, SocketType),
) -> (Socket, Socket) {
    let mut bound = ctx.socket(kind).unwrap();
    bound
        .bind(&format!(
            "{transport}://{}",
            match transport {
                "ipc" => "*",
                _ => "127.0.0.1:*",
            }
        ))
        .unwrap();
    let endpoint = bound.last_endpoint().unwrap().to_owned();
    let mut connected = peer_ctx.socket(peer_kind).unwrap();
    connected.connect(&endpoint).unwrap();
    (bound, connected)
}

#[test]
fn a_stream_never_makes_an_io_thread_spin() {
    for transport in ["tcp", "ipc"] {
        let (sender_ctx, receiver_ctx) = (context(), context());
        let (mut pull, mut push) = pair(
            transport,
            (&receiver_ctx, SocketType::Pull),
            (&sender_ctx, SocketType::Push),
        );
        std::thread::scope(|s| {
            s.spawn(|| {
                for i in 0..STREAM {
                    push.send(Msg::copy_from_slice(&i.to_le_bytes())).unwrap();
                }
            });
            for i in 0..STREAM {
                assert_eq!(
                    pull.recv().unwrap().as_ref(),
                    i.to_le_bytes(),
                    "{transport}"
                );
            }
        });
        // The sender's thread wakes nobody for input; the receiver's wakes the PULL
        // socket, which never answers.
        assert_eq!(sender_ctx.spun_waits(), 0, "{transport}: sender");
        assert_eq!(receiver_ctx.spun_waits(), 0, "{transport}: receiver");
    }
}

#[test]
fn a_request_reply_exchange_makes_both_io_threads_spin() {
    if std::thread::available_parallelism().map_or(1, usize::from) < 2 {
        // One CPU never spins (the spinning thread would hold up the one it waits for).
        return;
    }
    for transport in ["tcp", "ipc"] {
        let (client_ctx, server_ctx) = (context(), context());
        let (mut rep, mut req) = pair(
            transport,
            (&server_ctx, SocketType::Rep),
            (&client_ctx, SocketType::Req),
        );
        let spun = |ctx: &Context| ctx.spun_waits() > 0;
        std::thread::scope(|s| {
            let server = s.spawn(move || {
                // Echoes until the client's empty message.
                loop {
                    let msg = rep.recv().unwrap();
                    let last = msg.is_empty();
                    rep.send(msg).unwrap();
                    if last {
                        return;
                    }
                }
            });
            let mut trips = 0;
            while trips < ROUND_TRIPS && !(spun(&client_ctx) && spun(&server_ctx)) {
                req.send(Msg::copy_from_slice(b"ping")).unwrap();
                assert_eq!(req.recv().unwrap().as_ref(), b"ping");
                trips += 1;
            }
            req.send(Msg::default()).unwrap();
            req.recv().unwrap();
            server.join().unwrap();
        });
        assert!(
            spun(&client_ctx),
            "{transport}: the client's I/O thread never spun"
        );
        assert!(
            spun(&server_ctx),
            "{transport}: the server's I/O thread never spun"
        );
    }
}

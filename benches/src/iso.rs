//! The perf tools' two sides on isomq. Each side is a function so that the tools run one side
//! per process (as libzmq's do) and the comparison runs both in one process, on two contexts.

use std::time::{Duration, Instant};

use isomq::{Context, Msg, PublicKey, SecretKey, Socket, SocketOption, SocketType};

use crate::compare_multicore::Pairs;
use crate::pin::{self, Pin};
use crate::security::{Security, TlsPki};
use crate::{BoxError, Payload};

/// A context with `io_threads` I/O threads.
/// A context with `io_threads` I/O threads; 0 means inline I/O (`ContextBuilder::inline_io`):
/// each socket drives its own connections.
pub fn context(io_threads: usize) -> Context {
    Context::builder()
        .io_threads(io_threads)
        .inline_io(io_threads == 0)
        .build()
}

/// Binds a socket and returns it with the endpoint it really got (the port of `tcp://..:*`).
pub fn bind(ctx: &Context, kind: SocketType, endpoint: &str) -> Result<(Socket, String), BoxError> {
    let mut s = ctx.socket(kind)?;
    s.bind(endpoint)?;
    let resolved = s.last_endpoint().unwrap_or(endpoint).to_owned();
    Ok((s, resolved))
}

/// A connected socket.
pub fn connect(ctx: &Context, kind: SocketType, endpoint: &str) -> Result<Socket, BoxError> {
    let mut s = ctx.socket(kind)?;
    s.connect(endpoint)?;
    Ok(s)
}

/// Sets `sec` on a socket before it binds (`server`) or connects.
pub fn secure(s: &mut Socket, sec: Security, server: bool) -> Result<(), BoxError> {
    let keys = match sec {
        Security::Null => return Ok(()),
        Security::Tls(pki) => return tls(s, pki, server),
        Security::Curve(keys) => keys,
    };
    if server {
        s.set_option(SocketOption::CurveSecretKey(SecretKey::from_bytes(
            keys.server_secret,
        )))?;
        s.set_option(SocketOption::CurveServer(true))?;
    } else {
        s.set_option(SocketOption::CurveSecretKey(SecretKey::from_bytes(
            keys.client_secret,
        )))?;
        s.set_option(SocketOption::CurvePublicKey(PublicKey::from_bytes(
            keys.client_public,
        )))?;
        s.set_option(SocketOption::CurveServerKey(PublicKey::from_bytes(
            keys.server_public,
        )))?;
    }
    Ok(())
}

/// wss://: the server's certificate, or the client's trust in the run's CA alone.
fn tls(s: &mut Socket, pki: &TlsPki, server: bool) -> Result<(), BoxError> {
    if server {
        s.set_option(SocketOption::WssCertPem(pki.cert_pem.as_bytes().to_vec()))?;
        s.set_option(SocketOption::WssKeyPem(
            pki.key_pem.as_bytes().to_vec().into(),
        ))?;
    } else {
        s.set_option(SocketOption::WssTrustPem(pki.ca_pem.as_bytes().to_vec()))?;
        s.set_option(SocketOption::WssTrustSystem(false))?;
    }
    Ok(())
}

/// [`bind`] with `sec` (the binding side is the CURVE server).
pub fn bind_secure(
    ctx: &Context,
    kind: SocketType,
    endpoint: &str,
    sec: Security,
) -> Result<(Socket, String), BoxError> {
    let mut s = ctx.socket(kind)?;
    secure(&mut s, sec, true)?;
    s.bind(endpoint)?;
    let resolved = s.last_endpoint().unwrap_or(endpoint).to_owned();
    Ok((s, resolved))
}

/// [`connect`] with `sec` (the connecting side is the CURVE client).
pub fn connect_secure(
    ctx: &Context,
    kind: SocketType,
    endpoint: &str,
    sec: Security,
) -> Result<Socket, BoxError> {
    let mut s = ctx.socket(kind)?;
    secure(&mut s, sec, false)?;
    s.connect(endpoint)?;
    Ok(s)
}

fn check_size(msg: &Msg, size: usize) -> Result<(), BoxError> {
    if msg.len() != size {
        return Err("message of incorrect size received".into());
    }
    Ok(())
}

/// local_thr's loop on a PULL socket: the clock starts at the first message, the result is
/// the time for all `count` (libzmq counts the first one in the rate too).
pub fn receive(pull: &mut Socket, size: usize, count: usize) -> Result<Duration, BoxError> {
    check_size(&pull.recv()?, size)?;
    let start = Instant::now();
    for _ in 1..count {
        check_size(&pull.recv()?, size)?;
    }
    Ok(start.elapsed())
}

/// remote_thr's loop on a PUSH socket: a new message per send, as `zmq_msg_init_size` does.
pub fn send(push: &mut Socket, size: usize, count: usize) -> Result<(), BoxError> {
    let payload = vec![0u8; size];
    for _ in 0..count {
        push.send(Msg::copy_from_slice(&payload))?;
    }
    Ok(())
}

/// remote_thr's loop with `--zero-copy`: every message shares one payload
/// (`Msg::from_bytes` of a `Bytes` clone, a reference count), so the sender copies nothing
/// and the I/O thread writes from the same memory each time.
pub fn send_shared(push: &mut Socket, size: usize, count: usize) -> Result<(), BoxError> {
    let payload = bytes::Bytes::from(vec![0u8; size]);
    for _ in 0..count {
        push.send(Msg::from_bytes(payload.clone()))?;
    }
    Ok(())
}

/// local_lat's loop: echo every message back.
pub fn echo(s: &mut Socket, size: usize, roundtrips: usize) -> Result<(), BoxError> {
    for _ in 0..roundtrips {
        let msg = s.recv()?;
        check_size(&msg, size)?;
        s.send(msg)?;
    }
    Ok(())
}

/// remote_lat's loop: send, wait for the echo, sleep `pause` (none when zero: a client
/// that pauses between requests); returns the time for all round trips, pauses included.
pub fn ping(
    s: &mut Socket,
    size: usize,
    roundtrips: usize,
    pause: Duration,
) -> Result<Duration, BoxError> {
    let payload = vec![0u8; size];
    let start = Instant::now();
    for _ in 0..roundtrips {
        s.send(Msg::copy_from_slice(&payload))?;
        check_size(&s.recv()?, size)?;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    Ok(start.elapsed())
}

/// The socket types of the latency tools (local, remote): REP and REQ, as libzmq's
/// perf/local_lat and perf/remote_lat, so the tools interoperate with libzmq's.
pub fn lat_types() -> (SocketType, SocketType) {
    (SocketType::Rep, SocketType::Req)
}

/// Throughput over `endpoint` with both sides in this process on separate contexts (as two
/// processes would be), or one context for inproc. Returns the receiver's elapsed time.
pub fn thr(
    endpoint: &str,
    size: usize,
    count: usize,
    io_threads: usize,
    pin: Option<Pin>,
    sec: Security,
    payload: Payload,
) -> Result<Duration, BoxError> {
    pin::two_sided(pin, |cpu| {
        thr_from_here(endpoint, size, count, io_threads, cpu, sec, payload)
    })
}

/// `thr` with the receiving side on this thread, the sending side on a new one (pinned to
/// `sender_cpu` before it starts anything).
fn thr_from_here(
    endpoint: &str,
    size: usize,
    count: usize,
    io_threads: usize,
    sender_cpu: Option<usize>,
    sec: Security,
    payload: Payload,
) -> Result<Duration, BoxError> {
    let ctx_local = context(io_threads);
    let inproc = endpoint.starts_with("inproc://");
    let ctx_remote = if inproc {
        ctx_local.clone()
    } else {
        context(io_threads)
    };
    let (mut pull, ep) = bind_secure(&ctx_local, SocketType::Pull, endpoint, sec)?;
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || -> Result<(), BoxError> {
        if let Some(cpu) = sender_cpu {
            pin::pin_current_thread(cpu)?;
        }
        let mut push = connect_secure(&ctx_remote, SocketType::Push, &ep, sec)?;
        match payload {
            Payload::Copied => send(&mut push, size, count)?,
            Payload::Shared => send_shared(&mut push, size, count)?,
        }
        hold_until_received(&wait_done);
        Ok(())
    });
    let elapsed = receive(&mut pull, size, count)?;
    drop(done);
    sender.join().map_err(|_| "sender panicked")??;
    Ok(elapsed)
}

/// Latency over `endpoint`, both sides in this process. Returns the time of all round trips.
pub fn lat(
    endpoint: &str,
    size: usize,
    roundtrips: usize,
    io_threads: usize,
    sec: Security,
) -> Result<Duration, BoxError> {
    let (local_type, remote_type) = lat_types();
    let ctx_local = context(io_threads);
    let inproc = endpoint.starts_with("inproc://");
    let ctx_remote = if inproc {
        ctx_local.clone()
    } else {
        context(io_threads)
    };
    let (mut local, ep) = bind_secure(&ctx_local, local_type, endpoint, sec)?;
    let echoer = std::thread::spawn(move || echo(&mut local, size, roundtrips));
    let mut remote = connect_secure(&ctx_remote, remote_type, &ep, sec)?;
    let elapsed = ping(&mut remote, size, roundtrips, Duration::ZERO)?;
    echoer.join().map_err(|_| "echo side panicked")??;
    Ok(elapsed)
}

/// Several PUSH sockets (one thread each) into one PULL: `connections` × `count` messages.
/// Returns the receiver's elapsed time.
pub fn thr_fan_in(
    endpoint: &str,
    size: usize,
    count: usize,
    connections: usize,
    io_threads: usize,
) -> Result<Duration, BoxError> {
    let ctx_local = context(io_threads);
    let ctx_remote = context(io_threads);
    let (mut pull, ep) = bind(&ctx_local, SocketType::Pull, endpoint)?;
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let wait_done = std::sync::Arc::new(std::sync::Mutex::new(wait_done));
    let senders: Vec<_> = (0..connections)
        .map(|_| {
            let ctx = ctx_remote.clone();
            let ep = ep.clone();
            let wait_done = wait_done.clone();
            std::thread::spawn(move || -> Result<(), BoxError> {
                let mut push = connect(&ctx, SocketType::Push, &ep)?;
                send(&mut push, size, count)?;
                // One sender at a time holds the lock while it waits; all return on drop.
                if let Ok(rx) = wait_done.lock() {
                    hold_until_received(&rx);
                }
                Ok(())
            })
        })
        .collect();
    let elapsed = receive(&mut pull, size, count * connections)?;
    drop(done);
    for s in senders {
        s.join().map_err(|_| "sender panicked")??;
    }
    Ok(elapsed)
}

/// Handshakes per run: `count` connections, one after the other, each a new PUSH socket
/// that connects to one PULL, delivers one 1-byte message (which proves the handshake done)
/// and closes. Returns the time for all of them (socket set-up, TCP connect, greeting,
/// handshake, one message, close).
pub fn handshakes(endpoint: &str, count: usize, sec: Security) -> Result<Duration, BoxError> {
    let ctx_local = context(1);
    let ctx_remote = context(1);
    let (mut pull, ep) = bind_secure(&ctx_local, SocketType::Pull, endpoint, sec)?;
    let start = Instant::now();
    for _ in 0..count {
        let mut push = connect_secure(&ctx_remote, SocketType::Push, &ep, sec)?;
        push.set_option(SocketOption::Linger(Some(Duration::ZERO)))?;
        push.send(Msg::copy_from_slice(b"h"))?;
        check_size(&pull.recv()?, 1)?;
    }
    Ok(start.elapsed())
}

/// Keeps a sender's socket open until the receiver has everything: libzmq 4.3's receiving
/// engine drops what it still buffers when the peer closes while its pipe is full (seen over
/// ipc: the receiver then waits forever), so no sender closes early in the comparison.
pub fn hold_until_received(done: &std::sync::mpsc::Receiver<()>) {
    // Returns when the receiver drops its sender.
    let _ = done.recv();
}

/// N PUSH → PULL pairs over tcp at once (see [`crate::compare_multicore::run_pairs`]).
pub fn thr_pairs(run: Pairs) -> Result<Duration, BoxError> {
    let (local, remote) = (context(run.io_threads), context(run.io_threads));
    let Pairs { size, count, .. } = run;
    run.run(
        || bind(&local, SocketType::Pull, "tcp://127.0.0.1:*"),
        move |mut pull: Socket| receive(&mut pull, size, count),
        move |ep: &str| {
            let mut push = connect(&remote, SocketType::Push, ep)?;
            send(&mut push, size, count)?;
            Ok(push)
        },
    )
}

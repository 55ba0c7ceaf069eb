//! The perf tools' two sides on libzmq (the `zmq` crate, which builds libzmq from source):
//! the reference isomq is compared with, and the peer of the interop checks.

use std::time::{Duration, Instant};

use zmq::{Context, Message, Socket, SocketType};

use crate::compare_multicore::Pairs;
use crate::iso::hold_until_received;
use crate::pin::{self, Pin};
use crate::security::Security;
use crate::{BoxError, Payload};

/// A context with `io_threads` I/O threads (`zmq_init (n)`).
pub fn context(io_threads: usize) -> Result<Context, BoxError> {
    let ctx = Context::new();
    // libzmq needs an I/O thread for anything but inproc.
    ctx.set_io_threads(i32::try_from(io_threads.max(1))?)?;
    Ok(ctx)
}

/// Binds a socket; returns it with the endpoint it really got.
pub fn bind(ctx: &Context, kind: SocketType, endpoint: &str) -> Result<(Socket, String), BoxError> {
    let s = ctx.socket(kind)?;
    s.bind(endpoint)?;
    let resolved = s
        .get_last_endpoint()?
        .map_err(|_| "last endpoint is not UTF-8")?;
    Ok((s, resolved))
}

/// A connected socket.
pub fn connect(ctx: &Context, kind: SocketType, endpoint: &str) -> Result<Socket, BoxError> {
    let s = ctx.socket(kind)?;
    s.connect(endpoint)?;
    Ok(s)
}

/// Sets `sec` on a socket before it binds (`server`) or connects. CURVE needs a libzmq built
/// with it: `zmq::has("curve")` (the `zmq` crate's own build of libzmq has no CURVE; see
/// benches/RESULTS.md §CURVE for the libzmq the CURVE rows link).
pub fn secure(s: &Socket, sec: Security, server: bool) -> Result<(), BoxError> {
    let keys = match sec {
        Security::Null => return Ok(()),
        Security::Tls(_) => return Err("the libzmq of this comparison has no wss://".into()),
        Security::Curve(keys) => keys,
    };
    if zmq::has("curve") != Some(true) {
        return Err("this libzmq has no CURVE (zmq::has(\"curve\") is false)".into());
    }
    if server {
        s.set_curve_secretkey(&keys.server_secret)?;
        s.set_curve_server(true)?;
    } else {
        s.set_curve_secretkey(&keys.client_secret)?;
        s.set_curve_publickey(&keys.client_public)?;
        s.set_curve_serverkey(&keys.server_public)?;
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
    let s = ctx.socket(kind)?;
    secure(&s, sec, true)?;
    s.bind(endpoint)?;
    let resolved = s
        .get_last_endpoint()?
        .map_err(|_| "last endpoint is not UTF-8")?;
    Ok((s, resolved))
}

/// [`connect`] with `sec` (the connecting side is the CURVE client).
pub fn connect_secure(
    ctx: &Context,
    kind: SocketType,
    endpoint: &str,
    sec: Security,
) -> Result<Socket, BoxError> {
    let s = ctx.socket(kind)?;
    secure(&s, sec, false)?;
    s.connect(endpoint)?;
    Ok(s)
}

fn check_size(msg: &Message, size: usize) -> Result<(), BoxError> {
    if msg.len() != size {
        return Err("message of incorrect size received".into());
    }
    Ok(())
}

/// local_thr's loop (see [`crate::iso::receive`]).
pub fn receive(pull: &Socket, size: usize, count: usize) -> Result<Duration, BoxError> {
    let mut msg = Message::new();
    pull.recv(&mut msg, 0)?;
    check_size(&msg, size)?;
    let start = Instant::now();
    for _ in 1..count {
        pull.recv(&mut msg, 0)?;
        check_size(&msg, size)?;
    }
    Ok(start.elapsed())
}

/// remote_thr's loop: `zmq_msg_init_size` (plus the copy of the payload) per message.
pub fn send(push: &Socket, size: usize, count: usize) -> Result<(), BoxError> {
    let payload = vec![0u8; size];
    for _ in 0..count {
        push.send(&payload[..], 0)?;
    }
    Ok(())
}

/// remote_thr's loop without a copy: each message is `zmq_msg_init_data` over `payload` with
/// no free function (libzmq's constant message: no allocation, no reference count). The
/// caller keeps `payload` alive until its socket and context are gone.
pub fn send_shared(push: &mut Socket, payload: &[u8], count: usize) -> Result<(), BoxError> {
    for _ in 0..count {
        let mut msg = zmq_sys::zmq_msg_t { __: [0; 64] };
        // SAFETY: `msg` is a fresh message object for libzmq to initialise; the data pointer
        // and length describe `payload`, which libzmq only reads (a constant message) and
        // which outlives every use (see the caller); a null free function means none is
        // called.
        let rc = unsafe {
            zmq_sys::zmq_msg_init_data(
                &mut msg,
                payload.as_ptr().cast_mut().cast(),
                payload.len(),
                None,
                std::ptr::null_mut(),
            )
        };
        if rc != 0 {
            return Err("zmq_msg_init_data failed".into());
        }
        // SAFETY: `msg` was initialised above and `push` is an open socket; on success libzmq
        // owns the message, on failure it stays ours to close.
        let rc = unsafe { zmq_sys::zmq_msg_send(&mut msg, push.as_mut_ptr(), 0) };
        if rc < 0 {
            // SAFETY: reads the calling thread's libzmq error number.
            let err = zmq::Error::from_raw(unsafe { zmq_sys::zmq_errno() });
            // SAFETY: the send failed, so `msg` is still initialised and ours.
            unsafe { zmq_sys::zmq_msg_close(&mut msg) };
            return Err(err.into());
        }
    }
    Ok(())
}

/// local_lat's loop: echo every message back.
pub fn echo(s: &Socket, size: usize, roundtrips: usize) -> Result<(), BoxError> {
    for _ in 0..roundtrips {
        let mut msg = Message::new();
        s.recv(&mut msg, 0)?;
        check_size(&msg, size)?;
        s.send(msg, 0)?;
    }
    Ok(())
}

/// remote_lat's loop: returns the time for all round trips.
pub fn ping(
    s: &Socket,
    size: usize,
    roundtrips: usize,
    pause: Duration,
) -> Result<Duration, BoxError> {
    let payload = vec![0u8; size];
    let mut msg = Message::new();
    let start = Instant::now();
    for _ in 0..roundtrips {
        s.send(&payload[..], 0)?;
        s.recv(&mut msg, 0)?;
        check_size(&msg, size)?;
        if !pause.is_zero() {
            std::thread::sleep(pause);
        }
    }
    Ok(start.elapsed())
}

/// The latency tools' socket types, kept equal to isomq's ([`crate::iso::lat_types`]) so the
/// comparison measures the same traffic.
pub fn lat_types() -> (SocketType, SocketType) {
    (SocketType::REP, SocketType::REQ)
}

/// Throughput with both sides in this process (see [`crate::iso::thr`]).
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
    let ctx_local = context(io_threads)?;
    let inproc = endpoint.starts_with("inproc://");
    let ctx_remote = if inproc {
        ctx_local.clone()
    } else {
        context(io_threads)?
    };
    let (pull, ep) = bind_secure(&ctx_local, SocketType::PULL, endpoint, sec)?;
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || -> Result<(), BoxError> {
        if let Some(cpu) = sender_cpu {
            pin::pin_current_thread(cpu)?;
        }
        // Declared before the context and the socket, so dropped after them: libzmq's
        // messages of `send_shared` point into it until they are written.
        let shared = vec![0u8; size];
        let ctx_remote = ctx_remote;
        let mut push = connect_secure(&ctx_remote, SocketType::PUSH, &ep, sec)?;
        match payload {
            Payload::Copied => send(&push, size, count)?,
            Payload::Shared => send_shared(&mut push, &shared, count)?,
        }
        hold_until_received(&wait_done);
        Ok(())
    });
    let elapsed = receive(&pull, size, count)?;
    drop(done);
    sender.join().map_err(|_| "sender panicked")??;
    Ok(elapsed)
}

/// Latency with both sides in this process (see [`crate::iso::lat`]).
pub fn lat(
    endpoint: &str,
    size: usize,
    roundtrips: usize,
    io_threads: usize,
    sec: Security,
) -> Result<Duration, BoxError> {
    let (local_type, remote_type) = lat_types();
    let ctx_local = context(io_threads)?;
    let inproc = endpoint.starts_with("inproc://");
    let ctx_remote = if inproc {
        ctx_local.clone()
    } else {
        context(io_threads)?
    };
    let (local, ep) = bind_secure(&ctx_local, local_type, endpoint, sec)?;
    let echoer = std::thread::spawn(move || echo(&local, size, roundtrips));
    let remote = connect_secure(&ctx_remote, remote_type, &ep, sec)?;
    let elapsed = ping(&remote, size, roundtrips, Duration::ZERO)?;
    echoer.join().map_err(|_| "echo side panicked")??;
    Ok(elapsed)
}

/// Handshakes per run (see [`crate::iso::handshakes`]).
pub fn handshakes(endpoint: &str, count: usize, sec: Security) -> Result<Duration, BoxError> {
    let ctx_local = context(1)?;
    let ctx_remote = context(1)?;
    let (pull, ep) = bind_secure(&ctx_local, SocketType::PULL, endpoint, sec)?;
    let mut msg = Message::new();
    let start = Instant::now();
    for _ in 0..count {
        let push = connect_secure(&ctx_remote, SocketType::PUSH, &ep, sec)?;
        push.set_linger(0)?;
        push.send(&b"h"[..], 0)?;
        pull.recv(&mut msg, 0)?;
        check_size(&msg, 1)?;
    }
    Ok(start.elapsed())
}

/// Several PUSH sockets into one PULL (see [`crate::iso::thr_fan_in`]).
pub fn thr_fan_in(
    endpoint: &str,
    size: usize,
    count: usize,
    connections: usize,
    io_threads: usize,
) -> Result<Duration, BoxError> {
    let ctx_local = context(io_threads)?;
    let ctx_remote = context(io_threads)?;
    let (pull, ep) = bind(&ctx_local, SocketType::PULL, endpoint)?;
    let (done, wait_done) = std::sync::mpsc::channel::<()>();
    let wait_done = std::sync::Arc::new(std::sync::Mutex::new(wait_done));
    let senders: Vec<_> = (0..connections)
        .map(|_| {
            let ctx = ctx_remote.clone();
            let ep = ep.clone();
            let wait_done = wait_done.clone();
            std::thread::spawn(move || -> Result<(), BoxError> {
                let push = connect(&ctx, SocketType::PUSH, &ep)?;
                send(&push, size, count)?;
                // One sender at a time holds the lock while it waits; all return on drop.
                if let Ok(rx) = wait_done.lock() {
                    hold_until_received(&rx);
                }
                Ok(())
            })
        })
        .collect();
    let elapsed = receive(&pull, size, count * connections)?;
    drop(done);
    for s in senders {
        s.join().map_err(|_| "sender panicked")??;
    }
    Ok(elapsed)
}

/// N pairs at once (see [`crate::iso::thr_pairs`]), `ZMQ_IO_THREADS` = `io_threads`.
pub fn thr_pairs(run: Pairs) -> Result<Duration, BoxError> {
    let (local, remote) = (context(run.io_threads)?, context(run.io_threads)?);
    let Pairs { size, count, .. } = run;
    run.run(
        || bind(&local, SocketType::PULL, "tcp://127.0.0.1:*"),
        move |pull: Socket| receive(&pull, size, count),
        move |ep: &str| {
            let push = connect(&remote, SocketType::PUSH, ep)?;
            send(&push, size, count)?;
            Ok(push)
        },
    )
}

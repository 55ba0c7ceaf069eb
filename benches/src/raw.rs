//! The ceiling: the same payload bytes through a plain `TcpStream` / `UnixStream`, with no
//! framing, no queues and no threads but the two ends, in large writes and reads.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use crate::transport::Transport;
use crate::BoxError;

/// Size of each write and read of the throughput baseline.
const CHUNK: usize = 256 * 1024;

trait Stream: Read + Write + Send + 'static {}
impl<T: Read + Write + Send + 'static> Stream for T {}

type StreamPair = (Box<dyn Stream>, Box<dyn Stream>);

/// A connected pair of streams over `transport` (tcp on loopback with TCP_NODELAY, or a
/// Unix socket at a fresh path). ws has no framing of its own here: its baseline is tcp's.
fn pair(transport: Transport) -> Result<StreamPair, BoxError> {
    match transport {
        Transport::Tcp | Transport::Ws => {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let a = TcpStream::connect(listener.local_addr()?)?;
            let (b, _) = listener.accept()?;
            a.set_nodelay(true)?;
            b.set_nodelay(true)?;
            Ok((Box::new(a), Box::new(b)))
        }
        Transport::Ipc => {
            let ep = transport.bind_endpoint();
            let path = ep.trim_start_matches("ipc://").to_owned();
            let listener = UnixListener::bind(&path)?;
            let a = UnixStream::connect(&path)?;
            let (b, _) = listener.accept()?;
            let _ = std::fs::remove_file(&path);
            Ok((Box::new(a), Box::new(b)))
        }
        Transport::Inproc => Err("no raw baseline for inproc".into()),
    }
}

/// Time for the receiver to get `size × count` bytes, from its first read.
pub fn thr(transport: Transport, size: usize, count: usize) -> Result<Duration, BoxError> {
    let (mut tx, mut rx) = pair(transport)?;
    let total = size * count;
    let writer = std::thread::spawn(move || write_total(&mut tx, total));
    let elapsed = read_total(&mut rx, total)?;
    writer.join().map_err(|_| "writer panicked")??;
    Ok(elapsed)
}

/// Writes `total` bytes in writes of [`CHUNK`].
fn write_total(tx: &mut dyn Write, total: usize) -> std::io::Result<()> {
    let buf = vec![0u8; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK);
        tx.write_all(&buf[..n])?;
        left -= n;
    }
    Ok(())
}

/// Reads `total` bytes in reads of up to [`CHUNK`]; the time from the first read's return.
fn read_total(rx: &mut dyn Read, total: usize) -> Result<Duration, BoxError> {
    let mut buf = vec![0u8; CHUNK];
    let mut got = rx.read(&mut buf)?;
    let start = Instant::now();
    while got < total {
        match rx.read(&mut buf)? {
            0 => return Err("raw baseline: early EOF".into()),
            n => got += n,
        }
    }
    Ok(start.elapsed())
}

/// The raw baseline as a process of its own (`proc_pair`): `recv` binds `ep`
/// (`tcp://127.0.0.1:*` or `ipc://PATH`), prints `bound <endpoint>` on stderr, and returns
/// the time to read `total` bytes from one connection; `send-shared` connects to `ep` and
/// writes them.
pub fn child_role(role: &str, ep: &str, total: usize) -> Result<Option<Duration>, BoxError> {
    match (role, ep.split_once("://")) {
        ("recv", Some(("tcp", addr))) => {
            let listener = TcpListener::bind(addr.replace(":*", ":0"))?;
            eprintln!("bound tcp://{}", listener.local_addr()?);
            let (mut rx, _) = listener.accept()?;
            rx.set_nodelay(true)?;
            Ok(Some(read_total(&mut rx, total)?))
        }
        ("recv", Some(("ipc", path))) => {
            let listener = UnixListener::bind(path)?;
            eprintln!("bound {ep}");
            let (mut rx, _) = listener.accept()?;
            Ok(Some(read_total(&mut rx, total)?))
        }
        ("send-shared", Some(("tcp", addr))) => {
            let mut tx = TcpStream::connect(addr)?;
            tx.set_nodelay(true)?;
            write_total(&mut tx, total)?;
            Ok(None)
        }
        ("send-shared", Some(("ipc", path))) => {
            write_total(&mut UnixStream::connect(path)?, total)?;
            Ok(None)
        }
        _ => Err(format!("raw: no role {role} over {ep}").into()),
    }
}

/// Time for `roundtrips` ping-pongs of `size` bytes.
pub fn lat(transport: Transport, size: usize, roundtrips: usize) -> Result<Duration, BoxError> {
    let (mut a, mut b) = pair(transport)?;
    let echoer = std::thread::spawn(move || -> std::io::Result<()> {
        let mut buf = vec![0u8; size];
        for _ in 0..roundtrips {
            b.read_exact(&mut buf)?;
            b.write_all(&buf)?;
        }
        Ok(())
    });
    let mut buf = vec![0u8; size];
    let start = Instant::now();
    for _ in 0..roundtrips {
        a.write_all(&buf)?;
        a.read_exact(&mut buf)?;
    }
    let elapsed = start.elapsed();
    echoer.join().map_err(|_| "echo side panicked")??;
    Ok(elapsed)
}

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
    let writer = std::thread::spawn(move || -> std::io::Result<()> {
        let buf = vec![0u8; CHUNK];
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK);
            tx.write_all(&buf[..n])?;
            left -= n;
        }
        Ok(())
    });
    let mut buf = vec![0u8; CHUNK];
    let mut got = rx.read(&mut buf)?;
    let start = Instant::now();
    while got < total {
        match rx.read(&mut buf)? {
            0 => return Err("raw baseline: early EOF".into()),
            n => got += n,
        }
    }
    let elapsed = start.elapsed();
    writer.join().map_err(|_| "writer panicked")??;
    Ok(elapsed)
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

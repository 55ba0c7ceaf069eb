//! TLS under wss:// (docs/wss.md): a rustls connection driven on the I/O thread's own
//! non-blocking TCP socket, with no thread of its own. Reads pull records from the socket
//! until plaintext comes out or the socket would block; writes hand plaintext to rustls and
//! push its records out as far as the socket takes them, leaving the rest for the next
//! writability. The WebSocket layer above sees an ordinary non-blocking stream.

use std::io::{self, BufRead, IoSlice, Write};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use bytes::buf::UninitSlice;
use isomq_core::{Error, Result, WssOptions};
use mio::net::TcpStream;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig};
use rustls::{ServerConnection, SupportedProtocolVersion};

/// What a wss:// connecter needs for each attempt: the trust and the name to verify.
#[derive(Debug, Clone)]
pub(crate) struct TlsConnect {
    config: Arc<ClientConfig>,
    name: ServerName<'static>,
}

/// A wss:// listener's certificate and key, ready for each accepted connection.
pub(crate) type TlsAccept = Arc<ServerConfig>;

/// The WebSocket upgrade is HTTP/1.1; announcing it lets a TLS terminator or a load balancer
/// that routes by ALPN pick the right backend, and a server refuse clients that want h2.
fn alpn() -> Vec<Vec<u8>> {
    vec![b"http/1.1".to_vec()]
}

/// ring's primitives: they build with a C compiler alone (aws-lc-rs, rustls's other
/// provider, also needs CMake). rustls marks the ring provider deprecated for lacking
/// post-quantum key exchange; docs/wss.md says what that means for a deployment.
///
/// AES-128-GCM is preferred over rustls's default AES-256-GCM: it is TLS 1.3's suite every
/// implementation must have (RFC 8446 §9.1), browsers on machines with AES instructions
/// put it first too, and its 10 rounds against 14 are most of the cost of a large message
/// (docs/wss.md §7).
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|suite| suite_rank(suite.suite()));
    Arc::new(provider)
}

/// Lower first: AES-128-GCM, then the others in rustls's order (the sort is stable).
fn suite_rank(suite: rustls::CipherSuite) -> u8 {
    use rustls::CipherSuite as S;
    match suite {
        S::TLS13_AES_128_GCM_SHA256 => 0,
        S::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 | S::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 => 1,
        _ => 2,
    }
}

/// TLS 1.3 and 1.2 (rustls's safe defaults): libzmq's GnuTLS peers and browsers speak both.
fn versions() -> &'static [&'static SupportedProtocolVersion] {
    rustls::DEFAULT_VERSIONS
}

fn inval(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Inval(format!("{what}: {e}"))
}

/// The server side of wss:// from WSS_CERT_PEM and WSS_KEY_PEM.
///
/// # Errors
/// [`Error::Inval`] when either is missing or unreadable, or the key does not fit.
pub(crate) fn accept_config(wss: &WssOptions) -> Result<TlsAccept> {
    if wss.cert_pem.is_empty() || wss.key_pem().is_empty() {
        return Err(Error::Inval(
            "a wss:// bind needs WSS_CERT_PEM and WSS_KEY_PEM".into(),
        ));
    }
    let certs = CertificateDer::pem_slice_iter(&wss.cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| inval("WSS_CERT_PEM", e))?;
    if certs.is_empty() {
        return Err(Error::Inval("WSS_CERT_PEM holds no certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(wss.key_pem()).map_err(|e| inval("WSS_KEY_PEM", e))?;
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(versions())
        .map_err(|e| inval("TLS", e))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| inval("WSS_CERT_PEM/WSS_KEY_PEM", e))?;
    config.alpn_protocols = alpn();
    Ok(Arc::new(config))
}

/// The system's trust anchors, loaded once per process: reading and parsing the bundle
/// takes milliseconds, and it does not change while a process runs in any way that matters.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

/// The client side of wss:// to `host`: the roots WSS_TRUST_SYSTEM and WSS_TRUST_PEM
/// name, and the name WSS_HOSTNAME (or else the endpoint's host) the certificate must carry.
///
/// # Errors
/// [`Error::Inval`] for unreadable trust anchors, none at all, or a host that is not a
/// valid name or address.
pub(crate) fn connect_config(wss: &WssOptions, host: &str) -> Result<TlsConnect> {
    let mut roots = RootCertStore::empty();
    if wss.trust_system {
        roots.add_parsable_certificates(system_roots().iter().cloned());
    }
    if !wss.trust_pem.is_empty() {
        let extra = CertificateDer::pem_slice_iter(&wss.trust_pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| inval("WSS_TRUST_PEM", e))?;
        for cert in extra {
            roots.add(cert).map_err(|e| inval("WSS_TRUST_PEM", e))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::Inval(
            "wss:// trusts nothing: WSS_TRUST_SYSTEM is off (or the system has no roots) and \
             WSS_TRUST_PEM is empty"
                .into(),
        ));
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions())
        .map_err(|e| inval("TLS", e))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn();
    let name = if wss.hostname.is_empty() {
        host
    } else {
        &wss.hostname
    };
    let name = match name.parse::<IpAddr>() {
        Ok(ip) => ServerName::from(ip),
        Err(_) => ServerName::try_from(name.to_owned()).map_err(|e| inval("WSS_HOSTNAME", e))?,
    };
    Ok(TlsConnect {
        config: Arc::new(config),
        name,
    })
}

/// A TLS connection over a non-blocking TCP socket.
#[derive(Debug)]
pub(crate) struct TlsStream {
    tcp: TcpStream,
    conn: Connection,
    ahead: ReadAhead,
}

/// The smallest and largest read of the socket on rustls's behalf.
const AHEAD_MIN: usize = 8 * 1024;
const AHEAD_MAX: usize = 64 * 1024;

/// Bytes read from the socket ahead of rustls. rustls reads at most 4 KiB into its record
/// buffer at a time, growing it 4 KiB per read while a record is incomplete and shrinking
/// it back once it is empty, so a 16 KiB record took four or five `read(2)` calls; here one
/// read takes whatever the socket has, up to 64 KiB, and rustls is served from it. The
/// buffer starts at 8 KiB, doubles while reads fill it, and goes with the idle sweep.
#[derive(Debug, Default)]
struct ReadAhead {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl ReadAhead {
    /// Copies read-ahead bytes into `out`, reading the socket once when none are left.
    fn read(&mut self, tcp: &mut TcpStream, out: &mut [u8]) -> io::Result<usize> {
        if self.start == self.end {
            if self.buf.is_empty() {
                self.buf = vec![0; AHEAD_MIN];
            }
            let n = io::Read::read(tcp, &mut self.buf)?;
            if n == self.buf.len() && n < AHEAD_MAX {
                // A full read: the next one may find more.
                self.buf.resize(n * 2, 0);
            }
            self.start = 0;
            self.end = n;
        }
        let n = out.len().min(self.end - self.start);
        out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
        self.start += n;
        Ok(n)
    }

    fn is_grown(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Frees the buffer when nothing waits in it (a quiet connection's).
    fn shrink_idle(&mut self) {
        if self.start == self.end {
            self.buf = Vec::new();
            self.start = 0;
            self.end = 0;
        }
    }
}

/// rustls reads the socket through the read-ahead.
struct Ahead<'a> {
    tcp: &'a mut TcpStream,
    ahead: &'a mut ReadAhead,
}

impl io::Read for Ahead<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        self.ahead.read(self.tcp, out)
    }
}

fn would_block() -> io::Error {
    io::Error::from(io::ErrorKind::WouldBlock)
}

impl TlsStream {
    pub(crate) fn client(tcp: TcpStream, tls: &TlsConnect) -> io::Result<TlsStream> {
        let conn = ClientConnection::new(tls.config.clone(), tls.name.clone())
            .map_err(io::Error::other)?;
        Ok(TlsStream {
            tcp,
            conn: conn.into(),
            ahead: ReadAhead::default(),
        })
    }

    pub(crate) fn server(tcp: TcpStream, config: &TlsAccept) -> io::Result<TlsStream> {
        let conn = ServerConnection::new(config.clone()).map_err(io::Error::other)?;
        Ok(TlsStream {
            tcp,
            conn: conn.into(),
            ahead: ReadAhead::default(),
        })
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    pub(crate) fn tcp_mut(&mut self) -> &mut TcpStream {
        &mut self.tcp
    }

    /// Hands `take` the next plaintext, pulling records from the socket while there is
    /// none; `Ok(0)` at the peer's end (a close_notify, or the TCP end without one: the
    /// WebSocket framing above tells a complete stream from a cut one).
    fn read_with(&mut self, mut take: impl FnMut(&[u8]) -> usize) -> io::Result<usize> {
        loop {
            let mut reader = self.conn.reader();
            match reader.fill_buf() {
                Ok([]) => return Ok(0),
                Ok(chunk) => {
                    let n = take(chunk);
                    reader.consume(n);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            self.read_records()?;
        }
    }

    /// One read of records from the socket, decrypted; what the handshake answers goes out
    /// at once when the socket takes it (otherwise with the next write).
    fn read_records(&mut self) -> io::Result<()> {
        self.conn.read_tls(&mut Ahead {
            tcp: &mut self.tcp,
            ahead: &mut self.ahead,
        })?;
        if let Err(e) = self.conn.process_new_packets() {
            // The alert rustls queued tells the peer why.
            let _ = self.flush_pending();
            return Err(io::Error::new(io::ErrorKind::InvalidData, e));
        }
        match self.flush_pending() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(()),
        }
    }

    pub(crate) fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(|chunk| {
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            n
        })
    }

    /// Plaintext into `spare`, initialising the bytes it reports.
    pub(crate) fn read_spare(&mut self, spare: &mut UninitSlice) -> io::Result<usize> {
        self.read_with(|chunk| {
            let n = chunk.len().min(spare.len());
            spare[..n].copy_from_slice(&chunk[..n]);
            n
        })
    }

    /// Plaintext into records; `WouldBlock` while earlier records wait for the socket (so
    /// that rustls buffers at most its limit) or when rustls takes nothing.
    pub(crate) fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.flush_pending()?;
        let n = self.conn.writer().write_vectored(bufs)?;
        match self.flush_pending() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => return Err(e),
            _ => {}
        }
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(would_block());
        }
        Ok(n)
    }

    pub(crate) fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    /// Writes the records rustls holds; `WouldBlock` when the socket takes no more.
    pub(crate) fn flush_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.tcp)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }

    /// Records are waiting for the socket.
    pub(crate) fn has_pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether traffic grew the read-ahead (see `Engine::is_grown`).
    pub(crate) fn is_grown(&self) -> bool {
        self.ahead.is_grown()
    }

    /// Frees the read-ahead of a quiet connection.
    pub(crate) fn shrink_idle(&mut self) {
        self.ahead.shrink_idle();
    }
}

impl Drop for TlsStream {
    /// A close_notify, if the socket takes it: the peer then knows the end was meant. The
    /// WebSocket close frame before it already says so to ZWS; this is TLS's own courtesy.
    fn drop(&mut self) {
        if !self.conn.is_handshaking() {
            self.conn.send_close_notify();
            let _ = self.flush_pending();
        }
    }
}

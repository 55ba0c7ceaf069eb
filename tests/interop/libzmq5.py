"""A small ctypes binding to the system libzmq (`libzmq.so.5`, Debian 12's libzmq5 4.3.4),
which unlike pyzmq's wheels is built with the ws:// transport.

Only what the ws:// interop tests use: contexts, sockets, the socket options of CURVE and
PLAIN, bind/connect, multipart send and receive with a timeout, and a minimal ZAP handler.
Option numbers are those of zmq.h 4.3.4 (the same as pyzmq's zmq.CURVE_SERVER etc.).

ctypes releases the GIL around every foreign call, so a blocking zmq_recv in one thread does
not stop the others.
"""

import ctypes
import errno
import struct
import threading
import time

# Socket types (zmq.h 4.3.4).
PAIR = 0
PUB = 1
SUB = 2
REQ = 3
REP = 4
PULL = 7
PUSH = 8

# Socket options (zmq.h 4.3.4).
SUBSCRIBE = 6
RCVMORE = 13
LINGER = 17
RCVTIMEO = 27
SNDTIMEO = 28
LAST_ENDPOINT = 32
PLAIN_SERVER = 44
PLAIN_USERNAME = 45
PLAIN_PASSWORD = 46
CURVE_SERVER = 47
CURVE_PUBLICKEY = 48
CURVE_SECRETKEY = 49
CURVE_SERVERKEY = 50
ZAP_DOMAIN = 55

# Monitor events (zmq.h 4.3.4) and the protocol error codes the tests expect.
EVENT_CONNECTED = 0x0001
EVENT_ACCEPTED = 0x0020
EVENT_CLOSED = 0x0080
EVENT_DISCONNECTED = 0x0200
EVENT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800
EVENT_HANDSHAKE_SUCCEEDED = 0x1000
EVENT_HANDSHAKE_FAILED_PROTOCOL = 0x2000
EVENT_HANDSHAKE_FAILED_AUTH = 0x4000
EVENT_ALL = 0xFFFF
PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND = 0x10000001
PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC = 0x11000001
PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH = 0x11000002

# Send flags.
DONTWAIT = 1
SNDMORE = 2

# Where libzmq looks for its ZAP handler (RFC 27), in the socket's own context.
ZAP_ENDPOINT = b"inproc://zeromq.zap.01"

# Large enough for every message the tests send; a longer one is reported, not truncated
# silently.
RECV_BUFFER = 1 << 20


class ZmqError(OSError):
    pass


class Lib:
    """libzmq.so.5 loaded with its prototypes declared."""

    def __init__(self, name="libzmq.so.5"):
        self.name = name
        self.dll = ctypes.CDLL(name, use_errno=True)
        d = self.dll
        vp, cp, i, sz = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_size_t
        protos = {
            "zmq_version": (None, [ctypes.POINTER(i)] * 3),
            "zmq_has": (i, [cp]),
            "zmq_errno": (i, []),
            "zmq_strerror": (cp, [i]),
            "zmq_ctx_new": (vp, []),
            "zmq_ctx_term": (i, [vp]),
            "zmq_socket": (vp, [vp, i]),
            "zmq_close": (i, [vp]),
            "zmq_setsockopt": (i, [vp, i, vp, sz]),
            "zmq_getsockopt": (i, [vp, i, vp, ctypes.POINTER(sz)]),
            "zmq_bind": (i, [vp, cp]),
            "zmq_connect": (i, [vp, cp]),
            "zmq_send": (i, [vp, vp, sz, i]),
            "zmq_recv": (i, [vp, vp, sz, i]),
            "zmq_curve_keypair": (i, [cp, cp]),
            "zmq_socket_monitor": (i, [vp, cp, i]),
        }
        for fname, (restype, argtypes) in protos.items():
            f = getattr(d, fname)
            f.restype = restype
            f.argtypes = argtypes

    def version(self):
        v = [ctypes.c_int() for _ in range(3)]
        self.dll.zmq_version(*(ctypes.byref(x) for x in v))
        return tuple(x.value for x in v)

    def has(self, capability):
        """zmq_has: capability names are case-sensitive ("WS", "curve", "ipc")."""
        return bool(self.dll.zmq_has(capability.encode()))

    def error(self, what):
        code = self.dll.zmq_errno()
        return ZmqError(code, f"{what}: {self.dll.zmq_strerror(code).decode()}")

    def curve_keypair(self):
        """(public, secret) as Z85 text, from libzmq's own zmq_curve_keypair."""
        public, secret = ctypes.create_string_buffer(41), ctypes.create_string_buffer(41)
        if self.dll.zmq_curve_keypair(public, secret) != 0:
            raise self.error("zmq_curve_keypair")
        return public.value.decode(), secret.value.decode()


def load():
    """(Lib, None), or (None, the reason it cannot be used)."""
    try:
        lib = Lib()
    except OSError as e:
        return None, f"libzmq.so.5 cannot be loaded ({e}): apt-get install libzmq5"
    return lib, None


class Context:
    def __init__(self, lib):
        self.lib = lib
        self.handle = lib.dll.zmq_ctx_new()
        if not self.handle:
            raise lib.error("zmq_ctx_new")
        self.sockets = []

    def socket(self, kind, **options):
        """A socket of `kind` with linger 0 and `options` (name=value, names as above in
        lower case, e.g. curve_server=1, curve_serverkey="Z85...")."""
        s = Socket(self, kind)
        s.set(LINGER, 0)
        for name, value in options.items():
            s.set(globals()[name.upper()], value)
        self.sockets.append(s)
        return s

    def term(self):
        for s in self.sockets:
            s.close()
        self.sockets = []
        if self.handle:
            # Retried on EINTR, as zmq.h asks; every socket is closed with linger 0, so this
            # returns promptly.
            while self.lib.dll.zmq_ctx_term(self.handle) != 0:
                if self.lib.dll.zmq_errno() != errno.EINTR:
                    raise self.lib.error("zmq_ctx_term")
            self.handle = None


class Socket:
    def __init__(self, ctx, kind):
        self.lib = ctx.lib
        self.handle = self.lib.dll.zmq_socket(ctx.handle, kind)
        if not self.handle:
            raise self.lib.error(f"zmq_socket({kind})")

    def _check(self, rc, what):
        if rc < 0:
            raise self.lib.error(what)
        return rc

    def set(self, option, value):
        """An int option (int or bool) or a bytes/str one (keys as Z85 text, names...)."""
        if isinstance(value, (bool, int)):
            v = ctypes.c_int(int(value))
            ptr, size = ctypes.byref(v), ctypes.sizeof(v)
        else:
            if isinstance(value, str):
                value = value.encode()
            v = ctypes.create_string_buffer(value, len(value))
            ptr, size = v, len(value)
        self._check(
            self.lib.dll.zmq_setsockopt(self.handle, option, ptr, size), f"setsockopt {option}"
        )

    def get_int(self, option):
        v = ctypes.c_int()
        size = ctypes.c_size_t(ctypes.sizeof(v))
        self._check(
            self.lib.dll.zmq_getsockopt(self.handle, option, ctypes.byref(v), ctypes.byref(size)),
            f"getsockopt {option}",
        )
        return v.value

    def get_string(self, option):
        buf = ctypes.create_string_buffer(1024)
        size = ctypes.c_size_t(len(buf))
        self._check(
            self.lib.dll.zmq_getsockopt(self.handle, option, buf, ctypes.byref(size)),
            f"getsockopt {option}",
        )
        return buf.value.decode()

    def bind(self, endpoint):
        """Binds; returns ZMQ_LAST_ENDPOINT (the endpoint actually bound)."""
        self._check(self.lib.dll.zmq_bind(self.handle, endpoint.encode()), f"bind {endpoint}")
        return self.get_string(LAST_ENDPOINT)

    def connect(self, endpoint):
        self._check(self.lib.dll.zmq_connect(self.handle, endpoint.encode()), f"connect {endpoint}")

    def send_multipart(self, frames, timeout=None):
        """Sends every frame; `timeout` (seconds) bounds a send that would block."""
        if timeout is not None:
            self.set(SNDTIMEO, int(timeout * 1000))
        for n, frame in enumerate(frames):
            flags = SNDMORE if n + 1 < len(frames) else 0
            buf = ctypes.create_string_buffer(frame, len(frame))
            self._check(self.lib.dll.zmq_send(self.handle, buf, len(frame), flags), "zmq_send")

    def recv_multipart(self, timeout):
        """The next message as a list of frames, or None if none arrives within `timeout`
        seconds."""
        self.set(RCVTIMEO, int(timeout * 1000))
        frames = []
        buf = ctypes.create_string_buffer(RECV_BUFFER)
        while True:
            n = self.lib.dll.zmq_recv(self.handle, buf, len(buf), 0)
            if n < 0:
                code = self.lib.dll.zmq_errno()
                if code == errno.EAGAIN and not frames:
                    return None
                raise self.lib.error("zmq_recv")
            if n > len(buf):
                raise ZmqError(errno.EMSGSIZE, f"a frame of {n} bytes exceeds {len(buf)}")
            frames.append(buf.raw[:n])
            if not self.get_int(RCVMORE):
                return frames

    def monitor(self, ctx, events=EVENT_ALL):
        """A Monitor of this socket's `events`; call before bind/connect."""
        return Monitor(ctx, self, events)

    def close(self):
        if self.handle:
            self.lib.dll.zmq_close(self.handle)
            self.handle = None


class Monitor:
    """zmq_socket_monitor's events for one socket, read from a PAIR socket in the same
    context. Each event is (event, value, endpoint)."""

    _count = 0

    def __init__(self, ctx, sock, events):
        Monitor._count += 1
        endpoint = f"inproc://libzmq5-monitor-{id(ctx)}-{Monitor._count}"
        sock._check(
            sock.lib.dll.zmq_socket_monitor(sock.handle, endpoint.encode(), events),
            "zmq_socket_monitor",
        )
        self.pair = ctx.socket(PAIR)
        self.pair.connect(endpoint)
        self.seen = []

    def next(self, timeout):
        """The next event, or None within `timeout` seconds."""
        msg = self.pair.recv_multipart(timeout)
        if msg is None:
            return None
        head, endpoint = msg
        evt = (
            struct.unpack("=H", head[:2])[0],
            struct.unpack("=I", head[2:6])[0],
            endpoint.decode(),
        )
        self.seen.append(evt)
        return evt

    def expect(self, event, timeout):
        """The first event of kind `event`; fails after `timeout` seconds with what was seen."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            evt = self.next(max(left, 0)) if left > 0 else None
            if evt is None:
                raise AssertionError(
                    f"no monitor event {event:#x} within {timeout}s; seen: "
                    + ", ".join(f"({e:#x}, {v:#x}, {ep})" for e, v, ep in self.seen)
                )
            if evt[0] == event:
                return evt


class ZapHandler:
    """A minimal ZAP handler (RFC 27) in `ctx`: a REP socket at inproc://zeromq.zap.01,
    answered by a thread. `decide(request_frames)` returns (status code, user id); the default
    accepts everyone. Every request is kept in `requests`."""

    POLL = 0.1  # seconds between checks of the stop flag

    def __init__(self, ctx, decide=None):
        self.decide = decide or (lambda request: (b"200", b"anonymous"))
        self.requests = []
        self._stop = threading.Event()
        self._sock = Socket(ctx, REP)
        self._sock.set(LINGER, 0)
        self._sock.bind(ZAP_ENDPOINT.decode())
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            request = self._sock.recv_multipart(self.POLL)
            if request is None:
                continue
            self.requests.append(request)
            # version, request id, domain, address, identity, mechanism, credentials...
            version, request_id = request[0], request[1]
            status, user_id = self.decide(request)
            text = b"OK" if status == b"200" else b"denied"
            self._sock.send_multipart([version, request_id, status, text, user_id, b""])

    def stop(self):
        """Stops the thread and closes the socket (before the context is terminated)."""
        self._stop.set()
        self._thread.join()
        self._sock.close()

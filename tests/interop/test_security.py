"""CURVE (RFC 26), PLAIN (RFC 24) and ZAP (RFC 27) between `isomq cat` and libzmq 4.3.5
(pyzmq), over tcp and ipc.

Refusals are observed where libzmq reports them: a pyzmq socket monitor shows
HANDSHAKE_FAILED_AUTH (with the ZAP status code as its value) or HANDSHAKE_FAILED_PROTOCOL
(with libzmq's protocol error code). Absence of a message is proved with a receive timeout
only after the refusal has been observed, so a slow machine cannot turn "not yet" into
"never".
"""

import os
import socket
import subprocess
import threading

import pytest
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator
from zmq.utils.monitor import recv_monitor_message

from harness import (
    RETRY_INTERVAL,
    TIMEOUT,
    recv_multipart,
    tabbed,
    try_recv_multipart,
    until,
)

# How long a receive waits to show that nothing arrives, once the refusal has been seen.
ABSENCE = 0.5


# --- keys, sockets, monitors ---------------------------------------------------------------


def isomq_keygen(isomq_bin):
    """(public, secret) as Z85 text, from `isomq keygen`."""
    out = subprocess.run(
        [isomq_bin, "keygen"],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    ).stdout.decode()
    fields = dict(line.split(" ", 1) for line in out.splitlines())
    assert set(fields) == {"public", "secret"}, out
    return fields["public"], fields["secret"]


def pyzmq_keygen():
    public, secret = zmq.curve_keypair()
    return public.decode(), secret.decode()


def new_socket(ctx, zmq_type, **options):
    sock = ctx.socket(zmq_type)
    sock.linger = 0
    sock.sndtimeo = int(TIMEOUT * 1000)
    for name, value in options.items():
        setattr(sock, name, value)
    return sock


def curve_server_options(public, secret):
    return {
        "curve_server": True,
        "curve_publickey": public.encode(),
        "curve_secretkey": secret.encode(),
    }


def curve_client_options(public, secret, server_public):
    return {
        "curve_publickey": public.encode(),
        "curve_secretkey": secret.encode(),
        "curve_serverkey": server_public.encode(),
    }


HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_SUCCEEDED
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)


def monitor(sock):
    """A monitor socket reporting `sock`'s handshake outcomes; attach before bind/connect."""
    return sock.get_monitor_socket(HANDSHAKE_EVENTS)


def expect_event(mon, event, timeout=TIMEOUT):
    """The next monitor event of kind `event` (a dict: event, value, endpoint); fails with the
    events seen instead after `timeout`."""
    seen = []

    def attempt():
        if not mon.poll(int(RETRY_INTERVAL * 1000)):
            return None
        evt = recv_monitor_message(mon)
        if evt["event"] == event:
            return evt
        seen.append(evt)
        return None

    try:
        return until(attempt, f"monitor event {event:#x}", timeout)
    except AssertionError as e:
        raise AssertionError(f"{e}; events seen instead: {seen}") from None


def assert_still_running(*procs):
    for p in procs:
        assert p.proc.poll() is None, f"exited although it should keep trying: {p.describe()}"


@pytest.fixture
def authenticator(ctx):
    """pyzmq's ZAP handler in `ctx`; stopped before the context is destroyed."""
    auth = ThreadAuthenticator(ctx)
    auth.start()
    yield auth
    auth.stop()


def secure_pair(run_isomq, ctx, transport, isomq_binds, isomq_args, zmq_type, options):
    """An `isomq cat <isomq_args>` process and a pyzmq socket with `options`, connected over
    `transport`; the side given by `isomq_binds` binds, the other connects."""
    sock = new_socket(ctx, zmq_type, **options)
    if isomq_binds:
        bind_arg = transport.isomq_bind_arg()
        proc = run_isomq(*isomq_args, "--bind", bind_arg)
        sock.connect(transport.endpoint_of(proc, bind_arg))
    else:
        ep = transport.pyzmq_bind(sock)
        proc = run_isomq(*isomq_args, "--connect", ep)
    return proc, sock


# --- 1. CURVE both directions, every pattern -----------------------------------------------


def exchange_push(proc, sock):
    proc.write_line(tabbed("secret", "push"))
    assert recv_multipart(sock) == [b"secret", b"push"]


def exchange_pull(proc, sock):
    sock.send_multipart([b"secret", b"pull"])
    assert proc.read_line() == tabbed("secret", "pull")


def exchange_pub(proc, sock):
    sock.subscribe(b"")

    def publish_once():
        proc.write_line(tabbed("secret", "pub"))
        return try_recv_multipart(sock, RETRY_INTERVAL)

    assert until(publish_once, "a published message") == [b"secret", b"pub"]


def exchange_sub(proc, sock):
    def publish_once():
        sock.send_multipart([b"secret", b"sub"])
        return proc.try_read_line(RETRY_INTERVAL)

    assert until(publish_once, "a published message") == tabbed("secret", "sub")


def exchange_req(proc, sock):
    proc.write_line("request")
    assert recv_multipart(sock) == [b"request"]
    sock.send(b"reply")
    assert proc.read_line() == b"reply"


def exchange_rep(proc, sock):
    sock.send_multipart([b"request", b"2"])
    assert recv_multipart(sock) == [b"request", b"2"]
    assert proc.read_line() == tabbed("request", "2")


def exchange_dealer(proc, sock):
    proc.write_line(tabbed("a", "b"))
    assert recv_multipart(sock) == [b"dlr", b"a", b"b"]
    sock.send_multipart([b"dlr", b"back"])
    assert proc.read_line() == b"back"


def exchange_router(proc, sock):
    sock.send_multipart([b"m1", b"m2"])
    assert proc.read_line() == tabbed("py-dealer", "m1", "m2")
    proc.write_line(tabbed("py-dealer", "back"))
    assert recv_multipart(sock) == [b"back"]


# isomq role -> (extra CLI flags, pyzmq peer type, extra pyzmq options, exchange)
ROLES = {
    "push": ([], zmq.PULL, {}, exchange_push),
    "pull": ([], zmq.PUSH, {}, exchange_pull),
    "pub": ([], zmq.SUB, {}, exchange_pub),
    "sub": ([], zmq.PUB, {}, exchange_sub),
    "req": ([], zmq.REP, {}, exchange_req),
    "rep": (["--echo"], zmq.REQ, {}, exchange_rep),
    "dealer": (["--identity", "dlr"], zmq.ROUTER, {}, exchange_dealer),
    "router": ([], zmq.DEALER, {"routing_id": b"py-dealer"}, exchange_router),
}


@pytest.mark.parametrize("role", ROLES)
def test_curve_pyzmq_server_isomq_client(run_isomq, isomq_bin, ctx, transport, role):
    """RFC 26: a client that knows the server's long-term public key (CURVE_SERVERKEY)
    completes HELLO/WELCOME/INITIATE/READY with a libzmq CURVE server and its messages travel
    as MESSAGE commands both ways, for every socket pattern (RFC 28/29/30). libzmq without a
    ZAP handler accepts any client key. The client's key pair comes from `isomq keygen` for
    half the roles and is a fresh one made by the CLI for the others.
    """
    extra, zmq_type, options, exchange = ROLES[role]
    server_public, server_secret = pyzmq_keygen()
    args = [role, *extra, "--curve-serverkey", server_public]
    if role in ("push", "pub", "req", "dealer"):
        _, client_secret = isomq_keygen(isomq_bin)
        args += ["--curve-secret", client_secret]
    options = {**options, **curve_server_options(server_public, server_secret)}
    proc, sock = secure_pair(run_isomq, ctx, transport, False, args, zmq_type, options)
    exchange(proc, sock)


@pytest.mark.parametrize("role", ROLES)
def test_curve_isomq_server_pyzmq_client(run_isomq, isomq_bin, ctx, transport, role):
    """RFC 26: an isomq CURVE server (`--curve-server --curve-secret`, key from
    `isomq keygen`) accepts a libzmq CURVE client holding its public key, and messages flow
    both ways for every socket pattern; without a ZAP handler any client key is accepted
    (libzmq's rule, which isomq follows).
    """
    extra, zmq_type, options, exchange = ROLES[role]
    server_public, server_secret = isomq_keygen(isomq_bin)
    client_public, client_secret = pyzmq_keygen()
    args = [role, *extra, "--curve-server", "--curve-secret", server_secret]
    options = {**options, **curve_client_options(client_public, client_secret, server_public)}
    proc, sock = secure_pair(run_isomq, ctx, transport, True, args, zmq_type, options)
    exchange(proc, sock)


def test_isomq_keygen_keys_are_libzmq_keys(isomq_bin):
    """RFC 26 / RFC 32 (Z85): a CURVE key is 32 bytes, 40 characters of Z85, and the public
    key is the Curve25519 base-point multiple of the secret key; libzmq's zmq_curve_public
    derives from `isomq keygen`'s secret exactly the public key isomq printed, and Z85 decodes
    both to 32 bytes the same way on both sides.
    """
    for _ in range(5):
        public, secret = isomq_keygen(isomq_bin)
        assert len(public) == 40 and len(secret) == 40, (public, secret)
        assert zmq.curve_public(secret.encode()).decode() == public
        assert len(zmq.utils.z85.decode(public)) == 32
        assert zmq.utils.z85.encode(zmq.utils.z85.decode(secret)).decode() == secret


def test_pyzmq_keys_work_as_isomq_keys(run_isomq, ctx, transport):
    """RFC 26: keys are plain Curve25519 key pairs; a pair from libzmq's zmq_curve_keypair
    serves as the isomq server's long-term key, and a libzmq client holding the public half
    gets through.
    """
    server_public, server_secret = pyzmq_keygen()
    client_public, client_secret = pyzmq_keygen()
    args = ["pull", "--curve-server", "--curve-secret", server_secret]
    options = curve_client_options(client_public, client_secret, server_public)
    pull, push = secure_pair(run_isomq, ctx, transport, True, args, zmq.PUSH, options)
    exchange_pull(pull, push)


# --- 2. ZAP on the pyzmq side --------------------------------------------------------------


def test_pyzmq_zap_curve_allow_any(run_isomq, ctx, transport, authenticator):
    """RFC 27 with pyzmq's ThreadAuthenticator, configure_curve(location=CURVE_ALLOW_ANY):
    the ZAP handler answers 200 for any client key, so an isomq client with a fresh key pair
    reaches the libzmq CURVE server; the server monitor reports HANDSHAKE_SUCCEEDED.
    """
    authenticator.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    server_public, server_secret = pyzmq_keygen()
    pull = new_socket(ctx, zmq.PULL, **curve_server_options(server_public, server_secret))
    mon = monitor(pull)
    ep = transport.pyzmq_bind(pull)
    push = run_isomq("push", "--curve-serverkey", server_public, "--connect", ep)
    expect_event(mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    exchange_push(push, pull)


def write_public_certificate(directory, name, public):
    """A czmq certificate holding only a public key, as zmq.auth.load_certificates reads it."""
    path = os.path.join(directory, f"{name}.key")
    with open(path, "w", encoding="ascii") as f:
        f.write(
            "#   ZeroMQ CURVE Public Certificate\n"
            "metadata\n"
            "curve\n"
            f'    public-key = "{public}"\n'
        )
    return path


def test_pyzmq_zap_curve_certificates(
    run_isomq, isomq_bin, ctx, transport, authenticator, tmp_path
):
    """RFC 27: the ZAP handler decides on the client's long-term public key from INITIATE;
    pyzmq's authenticator with a certificate folder answers 200 for a listed key and 400 for
    any other. The isomq client whose `isomq keygen` key is listed gets its messages through;
    the other one's handshake fails (libzmq: HANDSHAKE_FAILED_AUTH, value 400, on the server
    monitor), nothing it sends is delivered, and it keeps running (retrying).
    """
    allowed_public, allowed_secret = isomq_keygen(isomq_bin)
    _, refused_secret = isomq_keygen(isomq_bin)
    certs = tmp_path / "certs"
    certs.mkdir()
    write_public_certificate(certs, "allowed", allowed_public)
    # zmq.auth.create_certificates makes one too: a listed key the isomq clients do not have.
    zmq.auth.create_certificates(certs, "other")
    authenticator.configure_curve(domain="*", location=str(certs))

    server_public, server_secret = pyzmq_keygen()
    pull = new_socket(ctx, zmq.PULL, **curve_server_options(server_public, server_secret))
    mon = monitor(pull)
    ep = transport.pyzmq_bind(pull)

    refused = run_isomq(
        "push", "--curve-serverkey", server_public, "--curve-secret", refused_secret,
        "--connect", ep,
    )
    refused.write_line("from the refused client")
    evt = expect_event(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert evt["value"] == 400, evt

    allowed = run_isomq(
        "push", "--curve-serverkey", server_public, "--curve-secret", allowed_secret,
        "--connect", ep,
    )
    allowed.write_line("from the allowed client")
    assert recv_multipart(pull) == [b"from the allowed client"]
    assert try_recv_multipart(pull, ABSENCE) is None
    assert_still_running(refused, allowed)


# --- 3. ZAP on the isomq side --------------------------------------------------------------


def test_isomq_curve_allow_list(run_isomq, isomq_bin, ctx, transport):
    """RFC 27 through isomq's built-in Authenticator (`--curve-allow K1`): a libzmq client with
    key K1 is accepted, one with another key is refused with status code 400 in an ERROR
    command, which libzmq reports as HANDSHAKE_FAILED_AUTH with value 400 (libzmq's
    mechanism_base_t::handle_error_reason); only the allowed client's messages arrive.
    """
    server_public, server_secret = isomq_keygen(isomq_bin)
    k1_public, k1_secret = pyzmq_keygen()
    k2_public, k2_secret = pyzmq_keygen()
    bind_arg = transport.isomq_bind_arg()
    pull = run_isomq(
        "pull", "--curve-server", "--curve-secret", server_secret, "--curve-allow", k1_public,
        "--bind", bind_arg,
    )
    ep = transport.endpoint_of(pull, bind_arg)

    refused_options = curve_client_options(k2_public, k2_secret, server_public)
    refused = new_socket(ctx, zmq.PUSH, **refused_options)
    refused_mon = monitor(refused)
    refused.connect(ep)
    refused.send(b"from the refused client")
    evt = expect_event(refused_mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert evt["value"] == 400, evt

    allowed_options = curve_client_options(k1_public, k1_secret, server_public)
    allowed = new_socket(ctx, zmq.PUSH, **allowed_options)
    allowed_mon = monitor(allowed)
    allowed.connect(ep)
    allowed.send(b"from the allowed client")
    expect_event(allowed_mon, zmq.EVENT_HANDSHAKE_SUCCEEDED)
    assert pull.read_line() == b"from the allowed client"
    assert pull.try_read_line(ABSENCE) is None
    assert_still_running(pull)


# --- 4. PLAIN both ways --------------------------------------------------------------------


def test_pyzmq_plain_server_isomq_client(run_isomq, ctx, transport, authenticator):
    """RFC 24 + RFC 27: a libzmq PLAIN server passes the client's username and password to ZAP;
    pyzmq's authenticator (configure_plain) answers 200 for the right password and 400 for a
    wrong one. The isomq client with the right password gets through; the one with a wrong
    password is refused (HANDSHAKE_FAILED_AUTH, 400, on the server monitor) and keeps running
    — it understands libzmq's malformed PLAIN ERROR command (`5E 'RROR' 03 '400'`, the name
    length byte overwritten) as a refusal rather than dying on it.
    """
    authenticator.configure_plain(domain="*", passwords={"admin": "secret"})
    pull = new_socket(ctx, zmq.PULL, plain_server=True)
    mon = monitor(pull)
    ep = transport.pyzmq_bind(pull)

    wrong = run_isomq("push", "--plain", "admin:guess", "--connect", ep)
    wrong.write_line("with a wrong password")
    evt = expect_event(mon, zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    assert evt["value"] == 400, evt

    right = run_isomq("push", "--plain", "admin:secret", "--connect", ep)
    right.write_line("with the right password")
    assert recv_multipart(pull) == [b"with the right password"]
    assert try_recv_multipart(pull, ABSENCE) is None
    assert_still_running(wrong, right)


def test_isomq_plain_server_pyzmq_client(run_isomq, ctx, transport, relay):
    """RFC 24 + RFC 27 through isomq's built-in Authenticator (`--plain-server admin:secret`):
    a libzmq PLAIN client with the right password gets through; a wrong password is refused
    with the RFC's ERROR command, `05 'ERROR' 03 '400'`, and nothing from it is delivered.

    libzmq 4.3.5 quirk: its PLAIN code spells the ERROR prefix "\\x05ERROR", which C reads as
    the byte 0x5E followed by "RROR"; its client recognises only that spelling, so it
    reports a well-formed ERROR as HANDSHAKE_FAILED_PROTOCOL / ZMTP_UNEXPECTED_COMMAND (not
    HANDSHAKE_FAILED_AUTH 400) and drops the connection; the refusal holds either way. Over
    tcp a relay records the refusal's bytes.
    """
    bind_arg = transport.isomq_bind_arg()
    pull = run_isomq("pull", "--plain-server", "admin:secret", "--bind", bind_arg)
    ep = transport.endpoint_of(pull, bind_arg)
    r = None
    wrong_ep = ep
    if transport.name == "tcp":
        r = relay(int(ep.rsplit(":", 1)[1]))
        wrong_ep = f"tcp://127.0.0.1:{r.port}"

    wrong = new_socket(ctx, zmq.PUSH, plain_username=b"admin", plain_password=b"guess")
    wrong_mon = monitor(wrong)
    wrong.connect(wrong_ep)
    wrong.send(b"with a wrong password")
    evt = expect_event(wrong_mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert evt["value"] == zmq.PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND, evt
    if r is not None:
        [(_, s2c)] = r.recorded()
        assert s2c[64:] == b"\x04\x0a\x05ERROR\x03400", s2c[64:]

    right = new_socket(ctx, zmq.PUSH, plain_username=b"admin", plain_password=b"secret")
    right.connect(ep)
    right.send(b"with the right password")
    assert pull.read_line() == b"with the right password"
    assert pull.try_read_line(ABSENCE) is None
    assert_still_running(pull)


# --- 5. wrong server key, mechanism mismatch -----------------------------------------------


def test_isomq_client_with_wrong_server_key(run_isomq, isomq_bin, ctx, transport):
    """RFC 26: the client authenticates the server: HELLO's box is made for the server key the
    client holds, so a libzmq server with another key cannot open it and drops the connection
    (libzmq: HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC). Nothing is
    delivered; both sides keep running, and the server still serves a client with the right
    key.
    """
    server_public, server_secret = pyzmq_keygen()
    wrong_public, _ = isomq_keygen(isomq_bin)
    pull = new_socket(ctx, zmq.PULL, **curve_server_options(server_public, server_secret))
    mon = monitor(pull)
    ep = transport.pyzmq_bind(pull)

    wrong = run_isomq("push", "--curve-serverkey", wrong_public, "--connect", ep)
    wrong.write_line("to the wrong server")
    evt = expect_event(mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert evt["value"] == zmq.PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC, evt

    right = run_isomq("push", "--curve-serverkey", server_public, "--connect", ep)
    right.write_line("to the right server")
    assert recv_multipart(pull) == [b"to the right server"]
    assert try_recv_multipart(pull, ABSENCE) is None
    assert_still_running(wrong, right)


def mismatch(case, public, secret):
    """(isomq binds, isomq flags, pyzmq options) for one mismatch; the pyzmq socket's keys
    are (public, secret)."""
    plain_client = {"plain_username": b"admin", "plain_password": b"secret"}
    return {
        "isomq_curve_client-pyzmq_null_server": (False, ["--curve-serverkey", public], {}),
        "isomq_plain_client-pyzmq_curve_server": (
            False,
            ["--plain", "admin:secret"],
            curve_server_options(public, secret),
        ),
        "pyzmq_curve_client-isomq_null_server": (
            True,
            [],
            curve_client_options(public, secret, pyzmq_keygen()[0]),
        ),
        "pyzmq_plain_client-isomq_curve_server": (
            True,
            ["--curve-server", "--curve-secret", secret],
            plain_client,
        ),
    }[case]


MISMATCHES = [
    "isomq_curve_client-pyzmq_null_server",
    "isomq_plain_client-pyzmq_curve_server",
    "pyzmq_curve_client-isomq_null_server",
    "pyzmq_plain_client-isomq_curve_server",
]


@pytest.mark.parametrize("case", MISMATCHES)
def test_mechanism_mismatch(run_isomq, ctx, transport, case):
    """RFC 23/ZMTP 3.0: "the peers SHALL use the same mechanism"; a peer whose greeting names
    another mechanism is refused (libzmq: HANDSHAKE_FAILED_PROTOCOL,
    ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, on the pyzmq monitor). Nothing is delivered
    either way, and the isomq process keeps running.
    """
    isomq_binds, isomq_flags, pyzmq_options = mismatch(case, *pyzmq_keygen())
    sock = new_socket(ctx, zmq.PULL, **pyzmq_options)
    mon = monitor(sock)
    args = ["push", *isomq_flags]
    if isomq_binds:
        bind_arg = transport.isomq_bind_arg()
        push = run_isomq(*args, "--bind", bind_arg)
        sock.connect(transport.endpoint_of(push, bind_arg))
    else:
        push = run_isomq(*args, "--connect", transport.pyzmq_bind(sock))
    push.write_line("never delivered")
    evt = expect_event(mon, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)
    assert evt["value"] == zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH, evt
    assert try_recv_multipart(sock, ABSENCE) is None
    assert_still_running(push)


# --- 6. the wire under CURVE ---------------------------------------------------------------


class Relay:
    """A TCP relay on a kernel-chosen port that forwards to `upstream` and records every byte,
    client→server and server→client, for each connection it accepts."""

    def __init__(self, upstream_port):
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.port = self.listener.getsockname()[1]
        self.connections = []  # (c2s bytearray, s2c bytearray)
        self.lock = threading.Lock()
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                down, _ = self.listener.accept()
            except OSError:
                return
            up = socket.create_connection(self.upstream)
            c2s, s2c = bytearray(), bytearray()
            with self.lock:
                self.connections.append((c2s, s2c))
                self.sockets += [down, up]
            for src, dst, log in ((down, up, c2s), (up, down, s2c)):
                threading.Thread(target=self._pump, args=(src, dst, log), daemon=True).start()

    def _pump(self, src, dst, log):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            if not data:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            with self.lock:
                log.extend(data)
            try:
                dst.sendall(data)
            except OSError:
                return

    def recorded(self):
        with self.lock:
            return [(bytes(a), bytes(b)) for a, b in self.connections]

    def close(self):
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass


@pytest.fixture
def relay():
    relays = []

    def make(upstream_port):
        r = Relay(upstream_port)
        relays.append(r)
        return r

    yield make
    for r in relays:
        r.close()


def zmtp_frames(stream):
    """The ZMTP 3.0 greeting and the (flags, body) frames after it; a trailing partial frame
    is left out."""
    greeting, rest, frames = stream[:64], stream[64:], []
    while rest:
        flags = rest[0]
        if flags & 0x02:
            if len(rest) < 9:
                break
            size, head = int.from_bytes(rest[1:9], "big"), 9
        else:
            if len(rest) < 2:
                break
            size, head = rest[1], 2
        if len(rest) < head + size:
            break
        frames.append((flags, rest[head : head + size]))
        rest = rest[head + size :]
    return greeting, frames


def command_name(body):
    return body[1 : 1 + body[0]]


PAYLOAD = b"plaintext-canary-7f3a9c"
# RFC 26 MESSAGE: %d7 "MESSAGE", an 8-byte short nonce, then a box of 16 bytes of MAC, the
# flags byte and the frame's body.
MESSAGE_OVERHEAD = 8 + 8 + 16 + 1


def check_curve_transcript(c2s, s2c):
    """RFC 26 sizes and order: client HELLO (200 bytes: 04 C8 05 'HELLO'), server WELCOME
    (168: 04 A8 07 'WELCOME'), client INITIATE (at least 257), server READY, then only MESSAGEs;
    both greetings name CURVE."""
    c_greeting, c_frames = zmtp_frames(c2s)
    s_greeting, s_frames = zmtp_frames(s2c)
    for greeting in (c_greeting, s_greeting):
        assert greeting[0] == 0xFF and greeting[9] == 0x7F, greeting
        assert greeting[10] == 3, greeting  # ZMTP 3.x
        assert greeting[12:32] == b"CURVE".ljust(20, b"\0"), greeting
        # libzmq writes as-server 0 on both sides (it zeroes the whole filler), and so does
        # isomq (docs/wire.md §2.2); CURVE roles come from the options, not the greeting.
        assert greeting[32] == 0, greeting
    assert c2s[64:72] == b"\x04\xc8\x05HELLO", c2s[64:80]
    assert s2c[64:74] == b"\x04\xa8\x07WELCOME", s2c[64:80]
    c_names = [command_name(body) for _, body in c_frames]
    s_names = [command_name(body) for _, body in s_frames]
    assert c_names[:2] == [b"HELLO", b"INITIATE"], c_names
    assert s_names[:2] == [b"WELCOME", b"READY"], s_names
    # Handshake commands travel in command frames; libzmq sends each MESSAGE as an ordinary
    # frame (flags 0: "more" is inside the box), and isomq does the same (docs/wire.md §11).
    for frames in (c_frames, s_frames):
        assert all(flags & 0x04 for flags, _ in frames[:2]), frames[:2]
        assert all(flags == 0 for flags, _ in frames[2:]), [f for f, _ in frames[2:]]
    assert len(c_frames[0][1]) == 200 and len(s_frames[0][1]) == 168
    assert len(c_frames[1][1]) >= 257, len(c_frames[1][1])
    assert set(c_names[2:]) <= {b"MESSAGE"} and set(s_names[2:]) <= {b"MESSAGE"}
    return c_names, s_names


def test_curve_wire_pyzmq_client_isomq_server(run_isomq, isomq_bin, ctx, relay):
    """RFC 26: "all data SHALL be encrypted" after the handshake; a payload sent by a libzmq
    CURVE client to an isomq CURVE server never appears in clear on the wire (recorded by a
    TCP relay in between), and the transcript has RFC 26's command sizes: HELLO 200, WELCOME
    168, INITIATE at least 257, then MESSAGE commands only.
    """
    server_public, server_secret = isomq_keygen(isomq_bin)
    pull = run_isomq(
        "pull", "--curve-server", "--curve-secret", server_secret, "--bind", "tcp://127.0.0.1:*"
    )
    server_port = int(pull.bound_endpoint().rsplit(":", 1)[1])
    r = relay(server_port)
    push = new_socket(ctx, zmq.PUSH, **curve_client_options(*pyzmq_keygen(), server_public))
    push.connect(f"tcp://127.0.0.1:{r.port}")
    push.send_multipart([PAYLOAD, b"second frame " + PAYLOAD])
    assert pull.read_line() == tabbed(PAYLOAD, b"second frame " + PAYLOAD)
    [(c2s, s2c)] = r.recorded()
    assert PAYLOAD not in c2s and PAYLOAD not in s2c
    check_curve_transcript(c2s, s2c)
    # One MESSAGE per frame: 'MESSAGE' name (8) + short nonce (8) + box (16 + flags + body).
    _, c_frames = zmtp_frames(c2s)
    sizes = [len(body) for _, body in c_frames[2:]]
    assert sizes == [MESSAGE_OVERHEAD + len(PAYLOAD), MESSAGE_OVERHEAD + 13 + len(PAYLOAD)]


def test_curve_wire_isomq_client_pyzmq_server(run_isomq, ctx, relay):
    """RFC 26: the isomq CURVE client's transcript as a libzmq CURVE server sees it: HELLO of
    200 bytes, INITIATE of at least 257 after libzmq's WELCOME of 168, then MESSAGE commands
    only, and the payload never in clear in either direction; a reply from the libzmq side
    (REP) is encrypted too.
    """
    server_public, server_secret = pyzmq_keygen()
    rep = new_socket(ctx, zmq.REP, **curve_server_options(server_public, server_secret))
    server_port = rep.bind_to_random_port("tcp://127.0.0.1")
    r = relay(server_port)
    req = run_isomq(
        "req", "--curve-serverkey", server_public, "--connect", f"tcp://127.0.0.1:{r.port}"
    )
    req.write_line(PAYLOAD)
    assert recv_multipart(rep) == [PAYLOAD]
    rep.send(b"reply " + PAYLOAD)
    assert req.read_line() == b"reply " + PAYLOAD
    [(c2s, s2c)] = r.recorded()
    assert PAYLOAD not in c2s and PAYLOAD not in s2c
    check_curve_transcript(c2s, s2c)
    # REQ sends the empty delimiter and the body, REP the same back: two MESSAGEs each way.
    (_, c_frames), (_, s_frames) = zmtp_frames(c2s), zmtp_frames(s2c)
    assert [len(b) for _, b in c_frames[2:]] == [MESSAGE_OVERHEAD, MESSAGE_OVERHEAD + len(PAYLOAD)]
    assert [len(b) for _, b in s_frames[2:]] == [
        MESSAGE_OVERHEAD,
        MESSAGE_OVERHEAD + len(b"reply ") + len(PAYLOAD),
    ]

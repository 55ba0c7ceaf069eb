"""ZMTP 3.1 heartbeats between libzmq (pyzmq) and `isomq cat`, over tcp and ipc, and the cat
process against a raw peer that goes silent after its handshake (--heartbeat-ivl)."""

import socket
import time

import zmq
import zmq.utils.monitor

from harness import TIMEOUT, recv_multipart


def test_libzmq_pings_are_answered(run_isomq, ctx, transport, binder):
    """RFC 37 "Connection Heartbeating", docs/wire.md §5.1: a peer that sent a PING closes the
    connection when nothing at all arrives within HEARTBEAT_TIMEOUT. A libzmq PULL pinging
    every 50 ms with a 200 ms timeout stays connected to an isomq PUSH only if isomq answers
    each PING: over a second (five timeouts) libzmq reports no disconnection, and messages
    keep flowing.
    """
    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.heartbeat_ivl = 50
    pull.heartbeat_timeout = 200
    monitor = pull.get_monitor_socket(zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    if binder == "isomq":
        bind_arg = transport.isomq_bind_arg()
        push = run_isomq("push", "--bind", bind_arg)
        pull.connect(transport.endpoint_of(push, bind_arg))
    else:
        ep = transport.pyzmq_bind(pull)
        push = run_isomq("push", "--connect", ep)
    push.write_line(b"before")
    assert recv_multipart(pull) == [b"before"]
    # A second without messages (five heartbeat timeouts) is the duration under test, not a
    # wait for something to happen: a missing PONG would drop the connection within it.
    # Watching the monitor meanwhile reports such a drop as soon as it happens.
    disconnects = []
    idle_until = time.monotonic() + 1.0
    while (left := idle_until - time.monotonic()) > 0:
        if not monitor.poll(max(1, int(left * 1000))):
            break
        event = zmq.utils.monitor.recv_monitor_message(monitor)
        if event["event"] == zmq.EVENT_DISCONNECTED:
            disconnects.append(event)
            break
    assert disconnects == [], disconnects
    push.write_line(b"after")
    assert recv_multipart(pull) == [b"after"]
    pull.disable_monitor()
    monitor.close()


# A raw ZMTP 3.1 peer (docs/wire.md §2, §4): the NULL greeting and a READY of its type.
GREETING = b"\xff" + b"\x00" * 7 + b"\x01\x7f\x03\x01" + b"NULL".ljust(20, b"\x00") + b"\x00" * 32


def ready(socket_type):
    body = b"\x05READY\x0bSocket-Type" + len(socket_type).to_bytes(4, "big") + socket_type
    return b"\x04" + bytes([len(body)]) + body


def handshake(conn, own_type, peer_type):
    """Sends this side's greeting and READY, reads the peer's: the handshake is complete."""
    conn.settimeout(TIMEOUT)
    conn.sendall(GREETING + ready(own_type))
    want = len(GREETING) + len(ready(peer_type))
    got = b""
    while len(got) < want:
        chunk = conn.recv(want - len(got))
        assert chunk, f"closed during the handshake after {got!r}"
        got += chunk
    assert got[len(GREETING) :] == ready(peer_type), got


def read_until_closed(conn):
    """Reads (heartbeat PINGs, never answered) until the other side closes the connection."""
    while True:
        try:
            if not conn.recv(4096):
                return
        except ConnectionResetError:
            return


def disconnected_line(proc):
    """The next stderr line that reports a connection's end."""
    while True:
        line = proc.read_stderr_line()
        if line.startswith(b"disconnected "):
            return line


def test_a_silent_peer_is_dropped_by_the_bound_side(run_isomq):
    """RFC 37 "Connection Heartbeating", docs/wire.md §5.1: with --heartbeat-ivl the cat
    process PINGs each connection and closes one from which nothing at all arrives within
    --heartbeat-timeout after a PING, reporting it on stderr. The peer here completes the
    handshake, then never sends again.
    """
    pull = run_isomq(
        "pull", "--bind", "tcp://127.0.0.1:*", "--heartbeat-ivl", "100", "--heartbeat-timeout", "300"
    )
    host, port = pull.bound_endpoint().removeprefix("tcp://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=TIMEOUT) as conn:
        handshake(conn, b"PUSH", b"PULL")
        line = disconnected_line(pull)
        assert line.startswith(f"disconnected tcp://{host}:{port}".encode()), line
        assert line.endswith(b": heartbeat timed out"), line
        read_until_closed(conn)


def test_a_silent_server_is_dropped_and_reconnected(run_isomq):
    """The connecting side alike: a server that completes the handshake and goes silent is
    dropped at the heartbeat timeout, reported on stderr, and connected to again (a
    heartbeat failure is not a protocol error, docs/wire.md §7.4).
    """
    with socket.create_server(("127.0.0.1", 0)) as server:
        server.settimeout(TIMEOUT)
        port = server.getsockname()[1]
        push = run_isomq(
            "push",
            "--connect",
            f"tcp://127.0.0.1:{port}",
            "--heartbeat-ivl",
            "100",
            "--heartbeat-timeout",
            "300",
        )
        first, _ = server.accept()
        with first:
            handshake(first, b"PULL", b"PUSH")
            line = disconnected_line(push)
            assert line == f"disconnected tcp://127.0.0.1:{port}: heartbeat timed out".encode()
            read_until_closed(first)
        again, _ = server.accept()
        with again:
            handshake(again, b"PULL", b"PUSH")

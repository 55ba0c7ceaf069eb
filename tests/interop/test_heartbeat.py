"""ZMTP 3.1 heartbeats between libzmq (pyzmq) and `isomq cat`, over tcp and ipc."""

import time

import zmq
import zmq.utils.monitor

from harness import recv_multipart


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

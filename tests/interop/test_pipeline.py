"""PUSH/PULL between `isomq cat` and libzmq (pyzmq), over tcp and ipc, either side binding."""

import zmq

from harness import recv_multipart, tabbed, wire

# Short ones travel inline, 300 bytes needs ZMTP's long frame size, 70000 bytes crosses
# any single read or write buffer.
MESSAGES = [
    [b"first"],
    [b"two", b"frames"],
    [b"three", b"", b"frames (one empty)"],
    [b"x" * 300],
    [b"head", b"L" * 70000],
]


def test_isomq_push_to_pyzmq_pull(run_isomq, ctx, transport, binder):
    """RFC 30/PIPELINE, PUSH: "SHALL not filter or modify outgoing messages in any way" and
    "SHALL NOT discard messages that it cannot queue"; every message reaches the one PULL
    peer, frames intact.

    CLI: at end of stdin a send-only socket lingers until its messages are delivered, then
    exits 0.
    """
    push, pull = wire(run_isomq, ctx, transport, binder, "push", zmq.PULL)
    for frames in MESSAGES:
        push.write_line(tabbed(*frames))
    push.close_stdin()
    for frames in MESSAGES:
        assert recv_multipart(pull) == frames
    assert push.wait() == 0, push.describe()


def test_pyzmq_push_to_isomq_pull(run_isomq, ctx, transport, binder):
    """RFC 30/PIPELINE, PULL: "SHALL not filter or modify incoming messages in any way" and
    "SHALL deliver these to its calling application"; the CLI prints each message as one line,
    frames separated by TAB.
    """
    pull, push = wire(run_isomq, ctx, transport, binder, "pull", zmq.PUSH)
    for frames in MESSAGES:
        push.send_multipart(frames)
    for frames in MESSAGES:
        assert pull.read_line() == tabbed(*frames)

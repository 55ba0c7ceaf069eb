"""ws:// (ZWS 2.0, RFC 45) between `isomq cat` and jszmq, an independent JavaScript
implementation, in Node: each side binding, PUB/SUB and PUSH/PULL.

jszmq speaks bare `ZWS2.0` (routing ids, no READY); isomq offers `ZWS2.0/NULL,ZWS2.0` as
libzmq does and accepts either. The jszmq side is tests/ws-interop/peer.js, driven over stdio
like the CLI.
"""

import os
import shutil

import pytest

from harness import RETRY_INTERVAL, IsomqProc, tabbed, until

PEER_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "ws-interop")

MESSAGES = [
    [b"first"],
    [b"two", b"frames"],
    [b"three", b"", b"frames (one empty)"],
    [b"head", b"L" * 70000],
]


@pytest.fixture
def run_jszmq():
    # Missing Node or jszmq is an error, never a skip (scripts/test installs both).
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed")
    if not os.path.isdir(os.path.join(PEER_DIR, "node_modules", "jszmq")):
        pytest.fail(f"jszmq is not installed: run npm ci in {PEER_DIR}")
    procs = []

    def run(*args):
        p = IsomqProc([node, os.path.join(PEER_DIR, "peer.js"), *args])
        procs.append(p)
        return p

    yield run
    for p in procs:
        p.kill()


def bound(proc):
    ep = proc.bound_endpoint()
    assert ep.startswith("ws://127.0.0.1:") and "*" not in ep, ep
    return ep


def check_pubsub(pub, sub):
    """RFC 29/PUBSUB: the subscriber gets the messages on its topic, frames intact."""

    def publish_once():
        pub.write_line(tabbed("B", "unwanted"))
        pub.write_line(tabbed("A", "hello"))
        return sub.try_read_line(RETRY_INTERVAL)

    assert until(publish_once, "a message on topic A") == tabbed("A", "hello")
    pub.write_line(tabbed("B", "unwanted"))
    pub.write_line(tabbed("A", "marker", "three frames"))
    line = sub.read_line()
    while line == tabbed("A", "hello"):
        line = sub.read_line()
    assert line == tabbed("A", "marker", "three frames")


def test_isomq_pub_to_jszmq_sub(run_isomq, run_jszmq):
    """RFC 45: jszmq's subscription arrives as a `00 01 A` data message; isomq's PUB filters."""
    pub = run_isomq("pub", "--bind", "ws://127.0.0.1:*/feed")
    sub = run_jszmq("sub", "--connect", bound(pub), "--subscribe", "A")
    check_pubsub(pub, sub)


def test_jszmq_pub_to_isomq_sub(run_isomq, run_jszmq):
    """isomq's client offers ZWS2.0/NULL,ZWS2.0; jszmq's server takes bare ZWS2.0."""
    pub = run_jszmq("pub", "--bind", "ws://127.0.0.1:0/feed")
    sub = run_isomq("sub", "--connect", bound(pub), "--subscribe", "A")
    check_pubsub(pub, sub)


def test_jszmq_push_to_isomq_pull(run_isomq, run_jszmq):
    """RFC 30/PIPELINE: every message reaches the PULL, multipart and large frames intact."""
    pull = run_isomq("pull", "--bind", "ws://127.0.0.1:*/jobs")
    push = run_jszmq("push", "--connect", bound(pull))
    for frames in MESSAGES:
        push.write_line(tabbed(*frames))
    for frames in MESSAGES:
        assert pull.read_line() == tabbed(*frames)


def test_isomq_push_to_jszmq_pull(run_isomq, run_jszmq):
    pull = run_jszmq("pull", "--bind", "ws://127.0.0.1:0/jobs")
    push = run_isomq("push", "--connect", bound(pull))
    for frames in MESSAGES:
        push.write_line(tabbed(*frames))
    for frames in MESSAGES:
        assert pull.read_line() == tabbed(*frames)
    push.close_stdin()
    assert push.wait() == 0, push.describe()

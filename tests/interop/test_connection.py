"""Connection life cycle between `isomq cat` and libzmq (pyzmq): connecting before the peer
binds, and reconnecting after the peer restarts."""

import zmq

from harness import RETRY_INTERVAL, TIMEOUT, recv_multipart, tabbed, until


def test_isomq_pull_connects_before_pyzmq_binds(run_isomq, ctx, transport):
    """RFC 30/PIPELINE, PULL: "SHALL create this queue when initiating an outgoing connection to
    a peer, and SHALL maintain the queue whether or not the connection is established"; a
    connect to an endpoint nobody listens on yet succeeds, and messages flow once the peer binds
    (libzmq retries every RECONNECT_IVL, 100 ms + jitter).
    """
    # A witness peer, bound from the start: once its message comes out, the CLI has made both
    # of its connects (they come before it receives anything), so the bind below follows the
    # connect to the endpoint nobody listened on.
    witness = ctx.socket(zmq.PUSH)
    witness.linger = 0
    witness.sndtimeo = int(TIMEOUT * 1000)
    witness_ep = transport.pyzmq_bind(witness)
    ep = transport.unbound_endpoint()
    pull = run_isomq("pull", "--connect", witness_ep, "--connect", ep)
    witness.send(b"witness")
    assert pull.read_line() == b"witness"
    assert pull.proc.poll() is None, pull.describe()

    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndtimeo = int(TIMEOUT * 1000)
    push.bind(ep)
    push.send_multipart([b"late", b"bind"])
    assert pull.read_line() == tabbed("late", "bind")


def test_isomq_push_connects_before_pyzmq_binds(run_isomq, ctx, transport):
    """RFC 30/PIPELINE, PUSH: "SHALL create this queue when initiating an outgoing connection to
    a peer, and SHALL maintain the queue whether or not the connection is established"; messages
    written before the peer exists are queued and delivered once it binds.
    """
    # A witness peer, bound from the start, next to one that does not exist yet. Both queues
    # exist from the connects on and neither is full, so PUSH deals the messages to them in
    # turn (RFC 30: "SHALL consider a peer as available only when it has an outgoing queue that
    # is not full", "SHALL route outgoing messages to available peers using a round-robin
    # strategy"). Once the witness has its two of four, at least one message has been queued
    # for the absent peer before the bind below.
    witness = ctx.socket(zmq.PULL)
    witness.linger = 0
    witness_ep = transport.pyzmq_bind(witness)
    ep = transport.unbound_endpoint()
    push = run_isomq("push", "--connect", witness_ep, "--connect", ep)
    sent = [[b"queued", str(i).encode()] for i in range(4)]
    for frames in sent:
        push.write_line(tabbed(*frames))
    got = [recv_multipart(witness) for _ in range(2)]
    assert push.proc.poll() is None, push.describe()

    pull = ctx.socket(zmq.PULL)
    pull.linger = 0
    pull.bind(ep)
    got += [recv_multipart(pull) for _ in range(2)]
    assert sorted(got) == sent, got
    push.close_stdin()
    assert push.wait() == 0, push.describe()


def _bind_pub(ctx, ep):
    pub = ctx.socket(zmq.PUB)
    pub.linger = 0
    pub.bind(ep)
    return pub


def test_isomq_sub_resubscribes_after_pyzmq_pub_restarts(run_isomq, ctx, transport):
    """libzmq's rule (zmq_setsockopt ZMQ_RECONNECT_IVL; session_base.cpp, xsub.cpp): a
    connecting socket reconnects after the connection is closed, every RECONNECT_IVL (100 ms +
    jitter), and a SUB re-sends all its subscriptions on the new connection; so messages on the
    subscribed topic arrive again from a new publisher bound on the same endpoint.
    """
    ep = transport.unbound_endpoint()
    before, after = tabbed("T", "before"), tabbed("T", "after")

    def publisher(pub, body):
        def once():
            pub.send_multipart([b"other", b"unwanted"])
            pub.send_multipart([b"T", body])
            line = sub.try_read_line(RETRY_INTERVAL)
            assert line in (None, before, after), f"unexpected line {line!r}"
            return line

        return once

    # The first publisher gets its own context: terminating it waits until libzmq has really
    # closed the listener (and removed its ipc file), so the second bind cannot race with it.
    first_ctx = zmq.Context()
    try:
        first = _bind_pub(first_ctx, ep)
        sub = run_isomq("sub", "--connect", ep, "--subscribe", "T")
        assert until(publisher(first, b"before"), "the first publisher's message") == before
    finally:
        # Closes the socket (linger 0) and waits for the I/O thread to finish.
        first_ctx.destroy(linger=0)

    # Same endpoint, new socket: only a reconnect plus a replayed subscription gets this through
    # (a fresh libzmq PUB sends nothing to a peer that has not subscribed on its connection).
    second = _bind_pub(ctx, ep)
    send_after = publisher(second, b"after")

    def arrived_after():
        line = send_after()
        return line if line == after else None

    assert until(arrived_after, "a message from the restarted publisher") == after

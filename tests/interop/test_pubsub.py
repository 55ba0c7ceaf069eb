"""PUB/SUB and XPUB/XSUB between `isomq cat` and libzmq (pyzmq), over tcp and ipc, either side
binding.

Subscriptions travel asynchronously: a publisher repeats itself until the subscriber sees a
first message, and only then does a test check filtering, using a marker message sent after
the message that must be filtered (one connection keeps order, so a leak shows up before the
marker).
"""

import zmq

from harness import RETRY_INTERVAL, recv_multipart, tabbed, try_recv_multipart, until, wire


def test_isomq_pub_to_pyzmq_sub(run_isomq, ctx, transport, binder):
    """RFC 29/PUBSUB, PUB: "SHALL perform a binary comparison of the subscription against the
    start of the first frame of the message" and "SHALL not modify outgoing messages in any
    way"; SUB delivers only matching messages, multipart intact.
    """
    pub, sub = wire(run_isomq, ctx, transport, binder, "pub", zmq.SUB)
    sub.subscribe(b"A")

    def publish_once():
        pub.write_line(tabbed("B", "unwanted"))
        pub.write_line(tabbed("A", "hello"))
        return try_recv_multipart(sub, RETRY_INTERVAL)

    assert until(publish_once, "a message on topic A") == [b"A", b"hello"]

    pub.write_line(tabbed("B", "unwanted"))
    pub.write_line(tabbed("Apple", "prefix match"))
    pub.write_line(tabbed("A", "marker", "three frames"))
    seen = []
    while not seen or seen[-1][:2] != [b"A", b"marker"]:
        msg = recv_multipart(sub)
        assert msg[0].startswith(b"A"), f"message outside the subscription arrived: {msg}"
        seen.append(msg)
    assert [b"Apple", b"prefix match"] in seen
    assert seen[-1] == [b"A", b"marker", b"three frames"]


def test_pyzmq_pub_to_isomq_sub(run_isomq, ctx, transport, binder):
    """RFC 29/PUBSUB, SUB: "SHALL not modify incoming messages in any way" and delivers only
    messages whose first frame starts with a subscribed topic (here libzmq's PUB filters, having
    received the subscription isomq sent).
    """
    sub, pub = wire(run_isomq, ctx, transport, binder, "sub", zmq.PUB, "--subscribe", "A")

    def publish_once():
        pub.send_multipart([b"B", b"unwanted"])
        pub.send_multipart([b"A", b"hello"])
        return sub.try_read_line(RETRY_INTERVAL)

    assert until(publish_once, "a message on topic A") == tabbed("A", "hello")

    pub.send_multipart([b"B", b"unwanted"])
    pub.send_multipart([b"Apple", b"prefix match"])
    pub.send_multipart([b"A", b"marker", b"three frames"])
    seen = []
    while not seen or not seen[-1].startswith(tabbed("A", "marker")):
        line = sub.read_line()
        assert line.startswith(b"A"), f"message outside the subscription arrived: {line!r}"
        seen.append(line)
    assert tabbed("Apple", "prefix match") in seen
    assert seen[-1] == tabbed("A", "marker", "three frames")


def test_isomq_sub_with_several_topics(run_isomq, ctx, transport, binder):
    """RFC 29/PUBSUB: a SUB with several subscriptions receives messages matching any of them,
    and an empty first frame matches no non-empty topic.
    """
    sub, pub = wire(
        run_isomq, ctx, transport, binder, "sub", zmq.PUB, "--subscribe", "x", "--subscribe", "y"
    )

    def publish_once():
        pub.send_multipart([b"x", b"1"])
        return sub.try_read_line(RETRY_INTERVAL)

    assert until(publish_once, "a message on topic x") == tabbed("x", "1")
    pub.send_multipart([b"", b"empty topic"])
    pub.send_multipart([b"z", b"unwanted"])
    pub.send_multipart([b"y", b"marker"])
    while True:
        line = sub.read_line()
        assert line in (tabbed("x", "1"), tabbed("y", "marker")), line
        if line == tabbed("y", "marker"):
            break


def test_isomq_xpub_sees_subscriptions(run_isomq, ctx, transport, binder):
    """RFC 29/PUBSUB, XPUB: "SHALL deliver these commands [subscribe and unsubscribe] to its
    calling application"; libzmq's form is 0x01 + topic to subscribe and 0x00 + topic to cancel
    (libzmq xpub.cpp, zmq_socket(3) "ZMQ_XPUB"). XPUB also publishes: a line on stdin reaches the subscriber.
    """
    xpub, sub = wire(run_isomq, ctx, transport, binder, "xpub", zmq.SUB)
    sub.subscribe(b"topic")

    # A libzmq socket attaches a newly accepted connection, and so sends its cached
    # subscriptions, only when its own thread next calls into it; a bound pyzmq SUB that nobody
    # polls never subscribes. Polling it while waiting is that call.
    def nudge():
        sub.poll(0)
        return xpub.try_read_line(RETRY_INTERVAL)

    assert until(nudge, "the subscription at XPUB") == b"\x01topic"

    # The subscription is known to XPUB now, so one publish is enough.
    xpub.write_line(tabbed("other", "unwanted"))
    xpub.write_line(tabbed("topic", "data"))
    assert recv_multipart(sub) == [b"topic", b"data"]

    # XPUB passes an unsubscribe on when the last subscriber to the topic cancels.
    sub.unsubscribe(b"topic")
    assert xpub.read_line() == b"\x00topic"


def test_isomq_xsub_subscribes_from_stdin(run_isomq, ctx, transport, binder):
    """RFC 29/PUBSUB, XSUB: "SHALL accept subscription commands from its calling application"
    and "SHALL send subscribe and unsubscribe requests to publishers"; a stdin line starting with
    byte 0x01 subscribes, and libzmq's XPUB reports it as 0x01 + topic. Messages then flow back.
    """
    xsub, xpub = wire(run_isomq, ctx, transport, binder, "xsub", zmq.XPUB)
    # The subscription may be written before the connection exists: XSUB remembers it and
    # sends it when the publisher connects (libzmq replays cached subscriptions to new pipes).
    xsub.write_line(b"\x01news")
    assert recv_multipart(xpub) == [b"\x01news"]

    xpub.send_multipart([b"sport", b"unwanted"])
    xpub.send_multipart([b"news", b"data"])
    assert xsub.read_line() == tabbed("news", "data")

    xsub.write_line(b"\x00news")
    assert recv_multipart(xpub) == [b"\x00news"]

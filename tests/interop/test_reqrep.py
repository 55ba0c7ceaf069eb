"""REQ, REP, DEALER and ROUTER between `isomq cat` and libzmq (pyzmq), over tcp and ipc,
either side binding."""

import zmq

from harness import TIMEOUT, recv_multipart, tabbed, wire


def wire_named(run_isomq, ctx, transport, binder, isomq_type, zmq_type, routing_id, *args):
    """As harness.wire, with the pyzmq socket's ZMQ_ROUTING_ID set before it binds or
    connects (libzmq applies it to connections made afterwards only)."""
    sock = ctx.socket(zmq_type)
    sock.linger = 0
    sock.sndtimeo = int(TIMEOUT * 1000)
    sock.setsockopt(zmq.ROUTING_ID, routing_id)
    if binder == "isomq":
        bind_arg = transport.isomq_bind_arg()
        proc = run_isomq(isomq_type, "--bind", bind_arg, *args)
        sock.connect(transport.endpoint_of(proc, bind_arg))
    else:
        ep = transport.pyzmq_bind(sock)
        proc = run_isomq(isomq_type, "--connect", ep, *args)
    return proc, sock


def test_libzmq_req_to_isomq_rep_echo(run_isomq, ctx, transport, binder):
    """RFC 28: REP strips the request's envelope and puts it back in front of the reply; a
    libzmq REQ gets exactly its request back from `isomq cat rep --echo`.
    """
    rep, req = wire(run_isomq, ctx, transport, binder, "rep", zmq.REQ, "--echo")
    for i in range(5):
        req.send_multipart([f"q{i}".encode(), b"part"])
        assert recv_multipart(req) == [f"q{i}".encode(), b"part"]
        assert rep.read_line() == tabbed(f"q{i}", "part")


def test_isomq_req_to_libzmq_router(run_isomq, ctx, transport, binder):
    """RFC 28: REQ "SHALL prefix the outgoing message with an empty delimiter frame"; libzmq's
    ROUTER prefixes the REQ's routing id (its READY Identity), and the reply it routes back
    with the same envelope reaches the REQ.
    """
    req, router = wire(
        run_isomq, ctx, transport, binder, "req", zmq.ROUTER, "--identity", "client-7"
    )
    req.write_line(tabbed("hello", "world"))
    assert recv_multipart(router) == [b"client-7", b"", b"hello", b"world"]
    router.send_multipart([b"client-7", b"", b"reply"])
    assert req.read_line() == b"reply"
    # Strict alternation: the next request goes only after the reply was printed.
    req.write_line("second")
    assert recv_multipart(router) == [b"client-7", b"", b"second"]
    router.send_multipart([b"client-7", b"", b"r2"])
    assert req.read_line() == b"r2"


def test_isomq_dealer_to_libzmq_router(run_isomq, ctx, transport, binder):
    """RFC 28: libzmq's ROUTER names the isomq DEALER by its ROUTING_ID and routes back by it;
    multipart messages stay whole both ways.
    """
    dealer, router = wire(
        run_isomq, ctx, transport, binder, "dealer", zmq.ROUTER, "--identity", "dlr"
    )
    dealer.write_line(tabbed("a", "b", "c"))
    assert recv_multipart(router) == [b"dlr", b"a", b"b", b"c"]
    router.send_multipart([b"dlr", b"x", b"y"])
    assert dealer.read_line() == tabbed("x", "y")


def test_libzmq_dealer_to_isomq_router(run_isomq, ctx, transport, binder):
    """RFC 28: the isomq ROUTER prints the libzmq DEALER's routing id (its ZMQ_ROUTING_ID) in
    front of each message, and a stdin line whose first field is that id reaches the DEALER.
    """
    router, dealer = wire_named(
        run_isomq, ctx, transport, binder, "router", zmq.DEALER, b"py-dealer"
    )
    dealer.send_multipart([b"m1", b"m2"])
    assert router.read_line() == tabbed("py-dealer", "m1", "m2")
    router.write_line(tabbed("py-dealer", "back", "2"))
    assert recv_multipart(dealer) == [b"back", b"2"]


def test_libzmq_dealer_anonymous_to_isomq_router_echo(run_isomq, ctx, transport, binder):
    """docs/wire.md §6.3: a peer with no Identity gets a generated 5-byte id (0x00 + counter);
    `router --echo` sends each message back by it.
    """
    router, dealer = wire(run_isomq, ctx, transport, binder, "router", zmq.DEALER, "--echo")
    dealer.send_multipart([b"ping", b"1"])
    assert recv_multipart(dealer) == [b"ping", b"1"]
    line = router.read_line()
    ident, rest = line[:5], line[5:]
    assert ident[0] == 0 and rest == b"\t" + tabbed("ping", "1")

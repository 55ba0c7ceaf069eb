"""PAIR between `isomq cat` and libzmq (pyzmq), over tcp and ipc, either side binding."""

import zmq

from harness import recv_multipart, tabbed, wire


def test_pair_both_directions(run_isomq, ctx, transport, binder):
    """RFC 31/EXPAIR: PAIR "MAY both send and receive messages" and "SHALL not filter or modify
    outgoing or incoming messages in any way"; the CLI's pair reads stdin and prints what
    arrives.
    """
    pair, peer = wire(run_isomq, ctx, transport, binder, "pair", zmq.PAIR)

    pair.write_line(tabbed("from", "isomq"))
    assert recv_multipart(peer) == [b"from", b"isomq"]

    peer.send_multipart([b"from", b"libzmq"])
    assert pair.read_line() == tabbed("from", "libzmq")

    # Several in each direction, interleaved, keep their order.
    for i in range(10):
        pair.write_line(f"i{i}")
        peer.send(f"p{i}".encode())
    for i in range(10):
        assert recv_multipart(peer) == [f"i{i}".encode()]
        assert pair.read_line() == f"p{i}".encode()

"""Request-reply through brokers: a libzmq broker between isomq clients and workers, and an
isomq broker (`isomq proxy`) between libzmq clients and workers, over tcp and ipc."""

import threading

import zmq

from harness import recv_multipart


def _bind_arg(transport):
    return transport.isomq_bind_arg()


def test_libzmq_broker_between_isomq_clients_and_workers(run_isomq, transport):
    """zmq_proxy(3): "the proxy connects a frontend socket to a backend socket"; with a
    ROUTER frontend and a DEALER backend it is the request-reply broker of the guide. isomq
    REQ clients reach isomq REP workers through it, and each reply finds its client: ROUTER
    prepends the client's routing id and routes the reply back by it (RFC 28)."""
    broker_ctx = zmq.Context()
    frontend = broker_ctx.socket(zmq.ROUTER)
    backend = broker_ctx.socket(zmq.DEALER)
    front_ep = transport.pyzmq_bind(frontend)
    back_ep = transport.pyzmq_bind(backend)

    def run():
        try:
            zmq.proxy(frontend, backend)
        except zmq.ContextTerminated:
            pass
        frontend.close(linger=0)
        backend.close(linger=0)

    broker = threading.Thread(target=run, daemon=True)
    broker.start()
    try:
        workers = [run_isomq("rep", "--echo", "--connect", back_ep) for _ in range(2)]
        clients = [run_isomq("req", "--connect", front_ep) for _ in range(3)]
        for round_ in range(3):
            for i, c in enumerate(clients):
                c.write_line(f"client {i} round {round_}")
            for i, c in enumerate(clients):
                assert c.read_line() == f"client {i} round {round_}".encode(), c.describe()
        # Both workers took part (DEALER round-robins requests across them).
        for w in workers:
            assert w.proc.poll() is None, w.describe()
    finally:
        broker_ctx.term()
        broker.join(10)


def test_isomq_proxy_between_libzmq_clients_and_workers(run_isomq_command, ctx, transport):
    """The same broker with the roles swapped: `isomq proxy router ... dealer ...` between
    libzmq REQ clients and libzmq REP workers. Envelopes pass through unchanged, so each
    libzmq client gets the reply to its own request."""
    proxy = run_isomq_command(
        "proxy", "router", "@" + _bind_arg(transport), "dealer", "@" + _bind_arg(transport)
    )
    front_ep = proxy.bound_endpoint()
    back_ep = proxy.bound_endpoint()
    stop = threading.Event()

    def worker(n):
        rep = ctx.socket(zmq.REP)
        rep.linger = 0
        rep.connect(back_ep)
        while not stop.is_set():
            if rep.poll(50):
                request = rep.recv()
                rep.send(request + b" (worker %d)" % n)
        rep.close()

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(2)]
    for t in threads:
        t.start()
    try:
        clients = []
        for _ in range(3):
            c = ctx.socket(zmq.REQ)
            c.linger = 0
            c.connect(front_ep)
            clients.append(c)
        for round_ in range(3):
            for i, c in enumerate(clients):
                c.send(b"client %d round %d" % (i, round_))
            for i, c in enumerate(clients):
                [reply] = recv_multipart(c)
                assert reply.startswith(b"client %d round %d (worker " % (i, round_)), reply
        for c in clients:
            c.close()
    finally:
        stop.set()
        for t in threads:
            t.join(10)


def test_isomq_proxy_bad_arguments_exit_2(run_isomq_command):
    """CLI: bad arguments get a one-line error and exit code 2."""
    for args in (["proxy", "router"], ["proxy", "nope", "@tcp://127.0.0.1:*", "dealer", "@ipc://@x"],
                 ["proxy", "router", "@tcp://nope", "dealer", "@ipc://@x"]):
        p = run_isomq_command(*args)
        assert p.wait() == 2, p.describe()

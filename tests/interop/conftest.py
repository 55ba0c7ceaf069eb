"""Fixtures for the interop suite: the isomq binary under test, a pyzmq context, transports."""

import os

import pytest
import zmq

from harness import IsomqProc, Transport


@pytest.fixture(scope="session")
def isomq_bin():
    # A missing binary is an error, never a skip: a suite that silently runs nothing proves
    # nothing.
    path = os.environ.get("ISOMQ_BIN")
    if not path:
        pytest.fail("ISOMQ_BIN is not set: point it at the isomq binary (scripts/test does)")
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"ISOMQ_BIN={path} is not an executable file")
    return path


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def run_isomq(isomq_bin):
    """Starts `isomq cat <args>`; every process started is killed when the test ends."""
    procs = []

    def run(*args):
        p = IsomqProc([isomq_bin, "cat", *args])
        procs.append(p)
        return p

    yield run
    for p in procs:
        p.kill()


@pytest.fixture
def run_isomq_command(isomq_bin):
    """Starts `isomq <args>` (any subcommand); killed when the test ends."""
    procs = []

    def run(*args):
        p = IsomqProc([isomq_bin, *args])
        procs.append(p)
        return p

    yield run
    for p in procs:
        p.kill()


@pytest.fixture(params=["tcp", "ipc"])
def transport(request, tmp_path_factory):
    # A fresh short directory per test: ipc paths must fit in sun_path (108 bytes).
    return Transport(request.param, tmp_path_factory.mktemp("ipc"))


@pytest.fixture(params=["isomq", "pyzmq"], ids=["isomq_binds", "pyzmq_binds"])
def binder(request):
    return request.param

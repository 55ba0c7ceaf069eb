"""The `isomq cat` command line itself: exit codes, --count, --timeout-ms, the bound line."""

import re
import subprocess

import pytest
import zmq

from harness import TIMEOUT, Transport, recv_multipart, tabbed, wire

BAD_ARGUMENTS = {
    "no socket type": [],
    "unknown socket type": ["bogus", "--bind", "tcp://127.0.0.1:*"],
    "unknown option": ["pull", "--frobnicate", "--bind", "tcp://127.0.0.1:*"],
    "option without value": ["pull", "--bind"],
    "count not a number": ["pull", "--count", "many", "--bind", "tcp://127.0.0.1:*"],
    "endpoint without transport": ["push", "--connect", "127.0.0.1:5555"],
    "unknown transport": ["push", "--connect", "carrier-pigeon://127.0.0.1:5555"],
    "tcp endpoint without port": ["pull", "--bind", "tcp://127.0.0.1"],
    "tcp port not a number": ["pull", "--connect", "tcp://127.0.0.1:http-alt"],
    "tcp port out of range": ["pull", "--connect", "tcp://127.0.0.1:70000"],
}


@pytest.mark.parametrize("args", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_arguments_exit_2(run_isomq, args):
    """CLI: bad arguments, an unknown socket type or a malformed endpoint give a one-line error
    on stderr and exit code 2 (as libzmq's zmq_bind/zmq_connect reject such endpoints with
    EINVAL / EPROTONOSUPPORT before any I/O)."""
    proc = run_isomq(*args)
    proc.close_stdin()
    assert proc.wait() == 2, proc.describe()
    assert len(proc.stderr_seen) == 1 and proc.stderr_seen[0].strip(), proc.describe()
    assert proc.rest_of_stdout() == []


def test_unknown_subcommand_exits_2(isomq_bin):
    """CLI: an unknown command is a bad argument: exit code 2."""
    result = subprocess.run(
        [isomq_bin, "frobnicate"],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    assert result.returncode == 2, result


def test_wildcard_bind_prints_resolved_endpoint(run_isomq):
    """CLI: a wildcard bind (`tcp://127.0.0.1:*`) prints the resolved endpoint as the first line
    on stderr, `bound <endpoint>`, with the port the kernel chose."""
    proc = run_isomq("pull", "--bind", "tcp://127.0.0.1:*")
    line = proc.read_stderr_line()
    assert re.fullmatch(rb"bound tcp://127\.0\.0\.1:[1-9][0-9]*", line), line


@pytest.fixture
def tcp(tmp_path):
    return Transport("tcp", tmp_path)


def test_count_on_receiving_socket(run_isomq, ctx, tcp):
    """CLI: `--count N` makes a receiving socket exit 0 after N messages."""
    pull, push = wire(run_isomq, ctx, tcp, "isomq", "pull", zmq.PUSH, "--count", "2")
    push.send(b"one")
    push.send_multipart([b"two", b"frames"])
    assert pull.read_line() == b"one"
    assert pull.read_line() == tabbed("two", "frames")
    assert pull.wait() == 0, pull.describe()


def test_count_on_send_only_socket(run_isomq, ctx, tcp):
    """CLI: `--count N` makes a send-only socket exit 0 after N messages sent, stdin still
    open; what it sent is delivered (linger)."""
    push, pull = wire(run_isomq, ctx, tcp, "pyzmq", "push", zmq.PULL, "--count", "2")
    push.write_line("one")
    push.write_line("two")
    assert push.wait() == 0, push.describe()
    assert recv_multipart(pull) == [b"one"]
    assert recv_multipart(pull) == [b"two"]


def test_timeout_exits_1_when_nothing_arrives(run_isomq):
    """CLI: `--timeout-ms MS` makes a receiving socket exit with code 1 when no message arrives
    for MS ms."""
    pull = run_isomq("pull", "--bind", "tcp://127.0.0.1:*", "--timeout-ms", "300")
    assert pull.wait() == 1, pull.describe()
    assert pull.rest_of_stdout() == []


def test_timeout_counts_from_the_last_message(run_isomq, ctx, tcp):
    """CLI: `--timeout-ms MS` measures silence: messages that arrive are printed, and the exit
    with code 1 comes after them. (The timeout is long so that a slow start cannot use it up
    before the first message.)"""
    pull, push = wire(run_isomq, ctx, tcp, "isomq", "pull", zmq.PUSH, "--timeout-ms", "3000")
    push.send(b"only one")
    assert pull.read_line() == b"only one"
    assert pull.wait() == 1, pull.describe()


def test_ws_endpoints_between_two_cli_processes(run_isomq):
    """`isomq cat` takes ws:// endpoints (Endpoint::parse): a wildcard bind reports the real
    port and the path, and two CLI processes talk ZWS 2.0 to each other.
    """
    pull = run_isomq("pull", "--bind", "ws://127.0.0.1:*/cli")
    ep = pull.bound_endpoint()
    assert re.fullmatch(r"ws://127\.0\.0\.1:[1-9][0-9]*/cli", ep), ep
    push = run_isomq("push", "--connect", ep)
    push.write_line(tabbed("over", "ws"))
    assert pull.read_line() == tabbed("over", "ws")

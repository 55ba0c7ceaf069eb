"""Helpers for driving the `isomq cat` CLI against pyzmq (libzmq) peers.

Everything here waits for events with a deadline and never measures durations: a slow machine
makes a test slower, not red.
"""

import os
import queue
import socket
import subprocess
import threading
import time


# Long enough for a loaded 2-core CI machine; only reached when something is broken.
TIMEOUT = float(os.environ.get("ISOMQ_TEST_TIMEOUT", "20"))

# How often a publisher repeats itself while waiting for a subscription to take effect.
RETRY_INTERVAL = 0.1


class IsomqProc:
    """One `isomq cat` child process, its output read line by line by background threads."""

    def __init__(self, argv):
        self.argv = argv
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._stdout = queue.Queue()
        self._stderr = queue.Queue()
        self.stderr_seen = []
        self._threads = [
            threading.Thread(
                target=self._pump, args=(self.proc.stdout, self._stdout, None), daemon=True
            ),
            threading.Thread(
                target=self._pump,
                args=(self.proc.stderr, self._stderr, self.stderr_seen),
                daemon=True,
            ),
        ]
        for t in self._threads:
            t.start()

    @staticmethod
    def _pump(stream, q, log):
        # Lines are bytes: the CLI prints payloads raw, so tests compare bytes.
        for line in iter(stream.readline, b""):
            line = line[:-1] if line.endswith(b"\n") else line
            if log is not None:
                log.append(line)
            q.put(line)
        q.put(None)

    def describe(self):
        """Context for a failure message: the command, its exit state and everything on stderr."""
        code = self.proc.poll()
        state = "running" if code is None else f"exited {code}"
        stderr = b"\n".join(self.stderr_seen).decode("utf-8", "replace")
        return f"{' '.join(self.argv)} ({state}); stderr:\n{stderr}"

    def _get(self, q, timeout, what):
        try:
            line = q.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"no {what} line within {timeout}s from {self.describe()}"
            ) from None
        if line is None:
            q.put(None)  # keep reporting end of stream to later readers
            raise AssertionError(f"{what} closed before the expected line: {self.describe()}")
        return line

    def read_line(self, timeout=TIMEOUT):
        """The next stdout line (without its newline), or an assertion error after `timeout`."""
        return self._get(self._stdout, timeout, "stdout")

    def try_read_line(self, timeout):
        """The next stdout line, or None if none arrives within `timeout`."""
        try:
            line = self._stdout.get(timeout=timeout)
        except queue.Empty:
            return None
        if line is None:
            self._stdout.put(None)
            raise AssertionError(f"stdout closed: {self.describe()}")
        return line

    def rest_of_stdout(self):
        """Every stdout line not read yet; only meaningful once the process has exited."""
        lines = []
        while True:
            line = self._stdout.get(timeout=TIMEOUT)
            if line is None:
                self._stdout.put(None)
                return lines
            lines.append(line)

    def read_stderr_line(self, timeout=TIMEOUT):
        return self._get(self._stderr, timeout, "stderr")

    def bound_endpoint(self, timeout=TIMEOUT):
        """The endpoint from the `bound <endpoint>` line a wildcard bind prints first on stderr."""
        line = self.read_stderr_line(timeout)
        prefix = b"bound "
        assert line.startswith(prefix), f"first stderr line is not 'bound <ep>': {line!r}"
        return line[len(prefix) :].decode()

    def write_line(self, line):
        """Sends one message: a line on stdin, frames separated by TAB."""
        if isinstance(line, str):
            line = line.encode()
        try:
            self.proc.stdin.write(line + b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise AssertionError(f"stdin closed: {self.describe()}") from None

    def close_stdin(self):
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass

    def wait(self, timeout=TIMEOUT):
        """The exit code, or an assertion error if the process is still running after `timeout`."""
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"did not exit within {timeout}s: {self.describe()}") from None
        for t in self._threads:
            t.join(timeout)
        return code

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except (BrokenPipeError, OSError):
                pass


def free_tcp_port():
    """A port nothing listens on right now (for connect-before-bind); the kernel picks it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Transport:
    """Endpoints for one transport: tcp on loopback with kernel-chosen ports, or ipc in a tmp dir."""

    def __init__(self, name, ipc_dir):
        self.name = name
        self._ipc_dir = ipc_dir
        self._ipc_count = 0

    def __repr__(self):
        return self.name

    def _ipc_path(self):
        self._ipc_count += 1
        return f"ipc://{self._ipc_dir}/s{self._ipc_count}"

    def isomq_bind_arg(self):
        return "tcp://127.0.0.1:*" if self.name == "tcp" else self._ipc_path()

    def endpoint_of(self, proc, bind_arg):
        """Where peers connect after isomq bound `bind_arg`."""
        if bind_arg.endswith(":*"):
            ep = proc.bound_endpoint()
            assert ep.startswith("tcp://127.0.0.1:") and not ep.endswith(":*"), ep
            assert int(ep.rsplit(":", 1)[1]) > 0, ep
            return ep
        return bind_arg

    def pyzmq_bind(self, sock):
        if self.name == "tcp":
            port = sock.bind_to_random_port("tcp://127.0.0.1")
            return f"tcp://127.0.0.1:{port}"
        ep = self._ipc_path()
        sock.bind(ep)
        return ep

    def unbound_endpoint(self):
        if self.name == "tcp":
            return f"tcp://127.0.0.1:{free_tcp_port()}"
        return self._ipc_path()


def wire(run_isomq, ctx, transport, binder, isomq_type, zmq_type, *args):
    """An isomq socket and a pyzmq socket connected over `transport`; `binder` says which binds."""
    sock = ctx.socket(zmq_type)
    sock.linger = 0
    # A send that would block forever (no peer ever arrives) fails the test instead.
    sock.sndtimeo = int(TIMEOUT * 1000)
    if binder == "isomq":
        bind_arg = transport.isomq_bind_arg()
        proc = run_isomq(isomq_type, "--bind", bind_arg, *args)
        sock.connect(transport.endpoint_of(proc, bind_arg))
    else:
        ep = transport.pyzmq_bind(sock)
        proc = run_isomq(isomq_type, "--connect", ep, *args)
    return proc, sock


def recv_multipart(sock, timeout=TIMEOUT):
    """The next message on a pyzmq socket, or an assertion error after `timeout`."""
    if not sock.poll(int(timeout * 1000)):
        raise AssertionError(f"pyzmq {sock.type} socket received nothing within {timeout}s")
    return sock.recv_multipart()


def try_recv_multipart(sock, timeout):
    if sock.poll(int(timeout * 1000)):
        return sock.recv_multipart()
    return None


def until(attempt, what, timeout=TIMEOUT):
    """Calls `attempt()` until it returns something other than None; fails after `timeout`.

    Used where a message may be dropped by design (a subscription still travelling, a peer
    reconnecting), so the sender repeats itself.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = attempt()
        if result is not None:
            return result
    raise AssertionError(f"gave up after {timeout}s waiting for {what}")


def tabbed(*frames):
    """The CLI's line form of a multipart message."""
    return b"\t".join(f if isinstance(f, bytes) else f.encode() for f in frames)

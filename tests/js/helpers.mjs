// Shared pieces of the JavaScript tests: peers on OS-chosen loopback ports, and waiting for
// events without timed asserts (each test has a timeout only as a guard against hanging).

import http from "node:http";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { setWebSocket } from "isomq";

export const text = (frame) => new TextDecoder().decode(frame);

/** Resolves with the first argument of the socket's next `event`. */
export function next(socket, event) {
    return new Promise((resolve) => {
        const listener = (arg) => {
            socket.off(event, listener);
            resolve(arg);
        };
        socket.on(event, listener);
    });
}

/** An HTTP server on 127.0.0.1 (port 0 = chosen by the OS), for jszmq to bind on. */
export async function httpServer(port = 0) {
    const server = http.createServer();
    // Upgraded (WebSocket) connections are not the server's any more; keep them to end them.
    server.sockets = new Set();
    server.on("connection", (s) => {
        server.sockets.add(s);
        s.on("close", () => server.sockets.delete(s));
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    return server;
}

/** A jszmq socket of `Type` bound on a fresh (or the given) port: { sock, url, close }. */
export async function jszmqBound(Type, port = 0) {
    const server = await httpServer(port);
    const url = `ws://127.0.0.1:${server.address().port}/zws`;
    const sock = new Type();
    sock.bind(url, server);
    return {
        sock,
        url,
        port: server.address().port,
        close: async () => {
            sock.close();
            for (const s of server.sockets) s.destroy();
            await new Promise((resolve) => server.close(resolve));
        },
    };
}

/** Resolves with the next message a jszmq socket emits, as an array of Buffers. */
export function jszmqNext(sock) {
    return new Promise((resolve) => sock.once("message", (...frames) => resolve(frames)));
}

/** Bytes 0..n-1 of a fixed pseudo-random sequence (deterministic across runs). */
export function bytes(n, seed = 1) {
    const out = new Uint8Array(n);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = x & 0xff;
    }
    return out;
}

const BIN = process.env.ISOMQ_BIN ?? fileURLToPath(new URL("../../target/debug/isomq", import.meta.url));

/** Starts `isomq cat ...`; resolves once it is bound: { proc, endpoint, line(), close() }. */
export async function cli(...args) {
    const proc = spawn(BIN, ["cat", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const lines = [];
    const waiters = [];
    createInterface({ input: proc.stdout }).on("line", (l) => {
        const w = waiters.shift();
        if (w) w(l);
        else lines.push(l);
    });
    let stderr = "";
    const endpoint = await new Promise((resolve, reject) => {
        proc.stderr.on("data", (d) => {
            stderr += d;
            const m = stderr.match(/bound (\S+)/);
            if (m) resolve(m[1]);
        });
        proc.on("exit", (code) => reject(new Error(`isomq exited (${code}): ${stderr}`)));
    });
    return {
        proc,
        endpoint,
        line: () => (lines.length > 0 ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r))),
        /** Resolves with the exit code once the process has ended by itself. */
        exit: async () => {
            if (proc.exitCode === null && proc.signalCode === null) await once(proc, "exit");
            return proc.exitCode;
        },
        close: async () => {
            if (proc.exitCode === null && proc.signalCode === null) {
                proc.kill();
                await once(proc, "exit");
            }
        },
    };
}

export const TOKEN = "ZWS2.0.isomq-batch1";

/** Data frames in one batch message (ZMTP framing: flags, 1- or 8-byte size, body). */
function dataFrames(buffer) {
    const b = new Uint8Array(buffer);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    let n = 0;
    for (let pos = 0; pos < b.length; ) {
        const flags = b[pos];
        const long = (flags & 0x02) !== 0;
        const size = long ? Number(view.getBigUint64(pos + 1)) : b[pos + 1];
        pos += (long ? 9 : 2) + size;
        if ((flags & 0x04) === 0) n++;
    }
    return n;
}

/**
 * The global WebSocket, counting the messages and bytes that come in (and, with the batch
 * extension, data frames); `Spy.last` is the newest. Installed by withSpy().
 */
export class Spy extends globalThis.WebSocket {
    constructor(url, protocols) {
        super(url, protocols);
        Spy.last = this;
        this.messages = 0;
        this.bytes = 0;
        this.frames = 0;
        this.addEventListener("message", (e) => {
            this.messages++;
            this.bytes += e.data.byteLength ?? 0;
            if (this.protocol === TOKEN && e.data instanceof ArrayBuffer) {
                this.frames += dataFrames(e.data);
            }
        });
    }
}

export async function withSpy(body) {
    setWebSocket(Spy);
    try {
        await body();
    } finally {
        setWebSocket(null);
    }
}

// Shared pieces of the JavaScript tests: peers on OS-chosen loopback ports, and waiting for
// events without timed asserts (each test has a timeout only as a guard against hanging).

import http from "node:http";
import { once } from "node:events";

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

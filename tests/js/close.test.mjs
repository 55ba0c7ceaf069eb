// close() and LINGER in Node: what the socket queued reaches a native PULL (the `isomq cat`
// CLI) before the WebSocket closes with code 1000; LINGER 0 closes at once; a peer that
// never answers gets the linger period; and the edge cases (twice, after close, nothing
// connected).

import { test } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import { setImmediate as tick } from "node:timers/promises";
import { Socket, setWebSocket } from "isomq";
import { cli } from "./helpers.mjs";

const N = 100_000;

/** The global WebSocket, keeping the close event of the newest one in `Closes.last.closed`. */
class Closes extends globalThis.WebSocket {
    constructor(url, protocols) {
        super(url, protocols);
        Closes.last = this;
        this.closed = new Promise((resolve) => this.addEventListener("close", resolve));
    }
}

/**
 * A TCP server that accepts and never answers the WebSocket upgrade: a peer that never
 * connects. `connection()` resolves with the next connection; each resolves `ended` when
 * the client closes it.
 */
async function silentServer() {
    const pending = [];
    const waiters = [];
    const server = createServer((c) => {
        c.on("error", () => {});
        c.ended = once(c, "close");
        c.resume();
        const w = waiters.shift();
        if (w) w(c);
        else pending.push(c);
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    return {
        url: `ws://127.0.0.1:${server.address().port}/never`,
        connection: () => (pending.length ? Promise.resolve(pending.shift()) : new Promise((r) => waiters.push(r))),
        close: () => {
            server.closeAllConnections?.();
            return new Promise((r) => server.close(r));
        },
    };
}

test("close() right after the last send: a native PULL receives all 100,000, in order", { timeout: 120000 }, async () => {
    // No --count: the PULL stays up to answer the close frame.
    const pull = await cli("pull", "--bind", "ws://127.0.0.1:*/close");
    setWebSocket(Closes);
    try {
        const push = new Socket("push").connect(pull.endpoint);
        for (let i = 0; i < N; i++) await push.send(`m${i}`);
        const closed = push.close();
        let wrong;
        for (let i = 0; i < N && wrong === undefined; i++) {
            const line = await pull.line();
            if (line !== `m${i}`) wrong = `message ${i}: ${line}`;
        }
        assert.equal(wrong, undefined);
        await closed;
        const event = await Closes.last.closed;
        assert.equal(event.code, 1000, "a normal closure");
    } finally {
        setWebSocket(null);
        await pull.close();
    }
});

test("LINGER 0: close() resolves at once and the connection is dropped", { timeout: 20000 }, async () => {
    const server = await silentServer();
    try {
        const push = new Socket("push", { linger: 0 }).connect(server.url);
        const connection = await server.connection();
        for (let i = 0; i < 10; i++) await push.send(`m${i}`);
        // Before any I/O turn: nothing was waited for.
        const first = await Promise.race([push.close().then(() => "closed"), tick().then(() => "later")]);
        assert.equal(first, "closed");
        await connection.ended;
    } finally {
        await server.close();
    }
});

test("a peer that never connects: close() resolves after the linger period", { timeout: 20000 }, async () => {
    const LINGER = 300;
    const server = await silentServer();
    try {
        const push = new Socket("push", { linger: LINGER }).connect(server.url);
        const connection = await server.connection();
        await push.send("never delivered");
        // The socket's clock is performance.now() too, read inside close().
        const start = performance.now();
        await push.close();
        assert.ok(performance.now() - start >= LINGER, "not before LINGER ran out");
        await connection.ended;
    } finally {
        await server.close();
    }
});

test("close() twice, calls after close(), close() with nothing connected", { timeout: 20000 }, async () => {
    const lonely = new Socket("push");
    await lonely.close();

    const server = await silentServer();
    try {
        const push = new Socket("push", { linger: 100 }).connect(server.url);
        await push.send("queued");
        const first = push.close();
        assert.equal(push.close(), first, "the same promise");
        await assert.rejects(push.send("late"), { code: "ETERM" });
        await assert.rejects(push.recv(), { code: "ETERM" });
        assert.throws(() => push.connect(server.url), { code: "ETERM" });
        assert.throws(() => push.setOption("linger", 0), { code: "ETERM" });
        await first;
        await push.close();
    } finally {
        await server.close();
    }
});

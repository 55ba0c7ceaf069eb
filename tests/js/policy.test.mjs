// The documented policies: inbound overflow at RCVHWM is dropped and counted; the `ws`
// package's WebSocket class can be used where Node has no global one.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import jszmq from "jszmq";
import WebSocket from "ws";
import { Socket, setWebSocket } from "isomq";
import { Spy, jszmqBound, next, text, withSpy } from "./helpers.mjs";

const BARE = { subprotocols: ["ZWS2.0"] };

test("inbound messages beyond RCVHWM are dropped and counted, the first RCVHWM kept", { timeout: 20000 }, () =>
    withSpy(async () => {
        const server = await jszmqBound(jszmq.Push);
        const pull = new Socket("pull", { rcvhwm: 10 });
        const connected = next(pull, "connect");
        pull.connect(server.url, BARE);
        await connected;
        // 100 messages of 10 kB: more than RCVHWM plus the 256 KiB that may wait for room.
        const body = "x".repeat(10_000);
        for (let i = 0; i < 100; i++) server.sock.send([String(i), body]);
        // A browser WebSocket cannot be paused: what the application does not read is
        // dropped, whole messages, once more would wait than that.
        while (Spy.last.messages < 1 + 200) await tick();
        const got = [];
        while (got.length + pull.dropped < 100) {
            const msg = await pull.recv();
            assert.equal(msg.length, 2);
            got.push(Number(text(msg[0])));
        }
        assert.ok(pull.dropped > 0);
        assert.deepEqual(got.slice(0, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert.ok(got.every((n, i) => i === 0 || n > got[i - 1]), "in order");
        pull.close();
        await server.close();
    }));

test("the ws package's WebSocket class works through setWebSocket", { timeout: 20000 }, async () => {
    setWebSocket(WebSocket);
    try {
        const server = await jszmqBound(jszmq.Pull);
        const push = new Socket("push").connect(server.url, BARE);
        const got = new Promise((resolve) => server.sock.once("message", (...f) => resolve(f)));
        await push.send(["via", "ws"]);
        assert.deepEqual((await got).map(String), ["via", "ws"]);
        push.close();
        await server.close();
    } finally {
        setWebSocket(null);
    }
});

test("a server that never completes the upgrade is dropped after handshakeIvl and tried again", { timeout: 20000 }, async () => {
    // ZMQ_HANDSHAKE_IVL: the WebSocket opening and the ZWS handshake must finish in time;
    // a silent server is dropped (not a protocol error, so the socket reconnects).
    const { createServer } = await import("node:net");
    const connections = [];
    let closed = 0;
    const server = createServer((c) => {
        connections.push(c);
        c.on("error", () => {});
        c.on("close", () => closed++);
        c.resume(); // read (and ignore) the upgrade request, so the peer's close is seen
    });
    await new Promise((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address();
    const sub = new Socket("sub", { handshakeIvl: 200, reconnectIvl: 50, reconnectIvlMax: 0 });
    sub.connect(`ws://127.0.0.1:${port}/silent`);
    while (connections.length < 2 || closed < 1) {
        await new Promise((r) => setTimeout(r, 20));
    }
    sub.close();
    for (const c of connections) c.destroy();
    await new Promise((r) => server.close(r));
});

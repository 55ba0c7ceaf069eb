// isomq's wasm sockets against jszmq, an independent ZWS 2.0 implementation, as the bound
// (server) peer. jszmq speaks only bare `ZWS2.0`, which is also what a WebSocket API can offer.

import { test } from "node:test";
import assert from "node:assert/strict";
import jszmq from "jszmq";
import { Socket } from "isomq";
import { bytes, jszmqBound, jszmqNext, next, text } from "./helpers.mjs";

// Bare ZWS2.0 only, what jszmq speaks. The default offer puts isomq's batch extension first,
// which jszmq's server echoes without speaking it; batch.test.mjs checks the fallback.
const BARE = { subprotocols: ["ZWS2.0"] };

/** Waits until the jszmq XPUB has seen the subscription `topic` (a `01 topic` message). */
async function subscribed(xpub, topic) {
    for (;;) {
        const [frame] = await jszmqNext(xpub);
        if (frame[0] === 1 && frame.subarray(1).toString() === topic) return;
    }
}

test("PUB (jszmq) to SUB (isomq): only subscribed topics arrive", { timeout: 20000 }, async () => {
    const server = await jszmqBound(jszmq.XPub);
    const sub = new Socket("sub");
    sub.connect(server.url, BARE);
    sub.subscribe("cpu");
    await subscribed(server.sock, "cpu");
    for (const topic of ["mem", "cpu", "disk", "cpu0", "cpu-end"]) {
        server.sock.send([topic, "load"]);
    }
    const got = [];
    for await (const [topic, body] of sub) {
        assert.equal(text(body), "load");
        got.push(text(topic));
        if (text(topic) === "cpu-end") break;
    }
    assert.deepEqual(got, ["cpu", "cpu0", "cpu-end"]);
    sub.close();
    await server.close();
});

test("PUSH (isomq) to PULL (jszmq), multipart", { timeout: 20000 }, async () => {
    const server = await jszmqBound(jszmq.Pull);
    const push = new Socket("push");
    push.connect(server.url, BARE);
    const received = [];
    server.sock.on("message", (...frames) => received.push(frames.map((f) => f.toString())));
    for (let i = 0; i < 50; i++) {
        await push.send(["job", String(i), JSON.stringify({ i })]);
    }
    while (received.length < 50) {
        await jszmqNext(server.sock);
    }
    for (let i = 0; i < 50; i++) {
        assert.deepEqual(received[i], ["job", String(i), JSON.stringify({ i })]);
    }
    push.close();
    await server.close();
});

test("PUSH (jszmq) to PULL (isomq), multipart", { timeout: 20000 }, async () => {
    const server = await jszmqBound(jszmq.Push);
    const pull = new Socket("pull");
    const connected = next(pull, "connect");
    pull.connect(server.url, BARE);
    assert.equal(await connected, server.url);
    for (let i = 0; i < 50; i++) {
        server.sock.send(["job", String(i)]);
    }
    for (let i = 0; i < 50; i++) {
        assert.deepEqual((await pull.recv()).map(text), ["job", String(i)]);
    }
    pull.close();
    await server.close();
});

const SIZES = [0, 1, 29, 30, 31, 255, 256, 65535, 65536, 1 << 20];

test("binary frames up to 1 MiB both ways", { timeout: 60000 }, async () => {
    const inbound = await jszmqBound(jszmq.Pull);
    const push = new Socket("push");
    push.connect(inbound.url, BARE);
    for (const n of SIZES) {
        const sent = bytes(n, n + 1);
        const got = jszmqNext(inbound.sock);
        await push.send([String(n), sent]);
        const [size, body] = await got;
        assert.equal(size.toString(), String(n));
        assert.ok(Buffer.from(sent).equals(body), `isomq -> jszmq, ${n} bytes`);
    }
    push.close();
    await inbound.close();

    const outbound = await jszmqBound(jszmq.Push);
    const pull = new Socket("pull");
    const connected = next(pull, "connect");
    pull.connect(outbound.url, BARE);
    await connected;
    for (const n of SIZES) {
        const sent = bytes(n, n + 7);
        outbound.sock.send([String(n), Buffer.from(sent)]);
        const [size, body] = await pull.recv();
        assert.equal(text(size), String(n));
        assert.deepEqual(body, sent, `jszmq -> isomq, ${n} bytes`);
    }
    pull.close();
    await outbound.close();
});

test("SUB resubscribes after the server restarts", { timeout: 30000 }, async () => {
    let server = await jszmqBound(jszmq.XPub);
    const port = server.port;
    const sub = new Socket("sub", { reconnectIvl: 50, reconnectIvlMax: 200 });
    sub.connect(server.url, BARE);
    sub.subscribe("news");
    await subscribed(server.sock, "news");
    server.sock.send(["news", "before"]);
    assert.deepEqual((await sub.recv()).map(text), ["news", "before"]);

    const lost = next(sub, "disconnect");
    await server.close();
    await lost;

    // Same port: the SUB keeps dialing its endpoint. Nobody subscribes on the new server
    // but the SUB replaying its subscriptions.
    server = await jszmqBound(jszmq.XPub, port);
    await subscribed(server.sock, "news");
    server.sock.send(["weather", "ignored"]);
    server.sock.send(["news", "after"]);
    assert.deepEqual((await sub.recv()).map(text), ["news", "after"]);
    sub.close();
    await server.close();
});

// isomq's batch extension to ZWS 2.0 (docs/wire.md §10.9) between the wasm sockets in Node
// and native sockets (the `isomq cat` CLI): the default offer negotiates it, frames arrive
// packed, RCVHWM holds; against jszmq, whose server echoes the first token offered, the same
// offer falls back to bare ZWS2.0.

import { test } from "node:test";
import assert from "node:assert/strict";
import { setImmediate as tick } from "node:timers/promises";
import jszmq from "jszmq";
import { Socket } from "isomq";
import { Spy, TOKEN, cli, jszmqBound, jszmqNext, next, text, withSpy } from "./helpers.mjs";

const lines = (from, n) => Array.from({ length: n }, (_, i) => `m${from + i}\t${"x".repeat(12)}\n`).join("");

test("native PUSH to wasm PULL: the extension is negotiated and frames arrive packed", { timeout: 30000 }, () =>
    withSpy(async () => {
        const push = await cli("push", "--bind", "ws://127.0.0.1:*/batch");
        const pull = new Socket("pull");
        const connected = next(pull, "connect");
        pull.connect(push.endpoint);
        await connected;
        assert.equal(Spy.last.protocol, TOKEN);
        const N = 5000;
        push.proc.stdin.write(lines(0, N));
        let i = 0;
        for await (const [head, body] of pull) {
            assert.equal(text(head), `m${i}`);
            assert.equal(text(body), "x".repeat(12));
            if (++i === N) break;
        }
        // How many frames share a WebSocket message depends on how far the CLI runs ahead
        // of its I/O thread (a batch leaves as soon as the connection can take it, docs/wire.md
        // §10.9); two or more on average proves the frames travel packed.
        assert.ok(Spy.last.messages < N / 2, `${N} messages in ${Spy.last.messages} WebSocket messages`);
        pull.close();
        await push.close();
    }));

test("wasm PUSH to native PULL over the extension, multipart", { timeout: 30000 }, () =>
    withSpy(async () => {
        const N = 2000;
        const pull = await cli("pull", "--bind", "ws://127.0.0.1:*/in", "--count", String(N));
        const push = new Socket("push").connect(pull.endpoint);
        await Promise.all(Array.from({ length: N }, (_, i) => push.send(["job", String(i)])));
        for (let i = 0; i < N; i++) assert.equal(await pull.line(), `job\t${i}`);
        assert.equal(Spy.last.protocol, TOKEN);
        push.close();
        await pull.close();
    }));

test("nothing is dropped below RCVHWM: a burst waits whole while the application does not read", { timeout: 30000 }, () =>
    withSpy(async () => {
        const push = await cli("push", "--bind", "ws://127.0.0.1:*/burst");
        const pull = new Socket("pull", { rcvhwm: 1000 });
        const connected = next(pull, "connect");
        pull.connect(push.endpoint);
        await connected;
        push.proc.stdin.write(lines(0, 1000));
        while (Spy.last.frames < 2000) await tick();
        for (let i = 0; i < 1000; i++) assert.equal(text((await pull.recv())[0]), `m${i}`);
        assert.equal(pull.dropped, 0);
        pull.close();
        await push.close();
    }));

test("beyond RCVHWM whole messages are dropped and counted, never parts of one", { timeout: 30000 }, () =>
    withSpy(async () => {
        const push = await cli("push", "--bind", "ws://127.0.0.1:*/flood");
        const pull = new Socket("pull", { rcvhwm: 100 });
        const connected = next(pull, "connect");
        pull.connect(push.endpoint);
        await connected;
        // 20 000 two-frame messages, 420 kB: more than RCVHWM plus the 256 KiB that may wait
        // for room unread, so that later batches make room.
        const N = 20_000;
        push.proc.stdin.write(lines(0, N));
        while (Spy.last.frames < 2 * N) await tick();
        let received = 0;
        let last = -1;
        for (;;) {
            const msg = await Promise.race([pull.recv(), new Promise((r) => setTimeout(r, 200))]);
            if (msg === undefined) break;
            assert.equal(msg.length, 2);
            const i = Number(text(msg[0]).slice(1));
            assert.ok(i > last, "in order");
            last = i;
            received++;
        }
        assert.ok(received >= 100, `${received} received`);
        assert.ok(pull.dropped > 0);
        assert.equal(received + pull.dropped, N);
        pull.close();
        await push.close();
    }));

test("the default offer falls back to bare ZWS2.0 against jszmq, which echoes the first token", { timeout: 20000 }, () =>
    withSpy(async () => {
        const server = await jszmqBound(jszmq.Pull);
        const push = new Socket("push").connect(server.url);
        const got = jszmqNext(server.sock);
        await push.send(["via", "fallback"]);
        assert.deepEqual((await got).map(String), ["via", "fallback"]);
        assert.equal(Spy.last.protocol, TOKEN, "jszmq named the token it does not speak");
        push.close();
        await server.close();

        const source = await jszmqBound(jszmq.Push);
        const pull = new Socket("pull").connect(source.url);
        await next(pull, "connect");
        source.sock.send(["back", "again"]);
        assert.deepEqual((await pull.recv()).map(text), ["back", "again"]);
        pull.close();
        await source.close();
    }));

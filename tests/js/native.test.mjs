// isomq's wasm sockets against native isomq sockets over ws://, the native side being the
// `isomq cat` CLI (ISOMQ_BIN, default target/debug/isomq), which prints `bound <endpoint>` on
// stderr and one line per message (frames separated by TAB) on stdout.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "isomq";
import { cli, next, text } from "./helpers.mjs";

test("native XPUB to wasm SUB: subscription arrives, only matching topics come back", { timeout: 20000 }, async () => {
    const xpub = await cli("xpub", "--bind", "ws://127.0.0.1:*/metrics");
    const sub = new Socket("sub").connect(xpub.endpoint);
    sub.subscribe("cpu");
    assert.equal(await xpub.line(), "\u0001cpu");
    xpub.proc.stdin.write("mem\t1\ncpu\t2\ndisk\t3\ncpu0\t4\ncpu-end\t5\n");
    const got = [];
    for await (const frames of sub) {
        got.push(frames.map(text).join("\t"));
        if (text(frames[0]) === "cpu-end") break;
    }
    assert.deepEqual(got, ["cpu\t2", "cpu0\t4", "cpu-end\t5"]);
    sub.close();
    await xpub.close();
});

test("wasm PUSH to native PULL, multipart", { timeout: 20000 }, async () => {
    const pull = await cli("pull", "--bind", "ws://127.0.0.1:*/jobs", "--count", "3");
    const push = new Socket("push").connect(pull.endpoint);
    for (let i = 0; i < 3; i++) await push.send(["job", String(i)]);
    for (let i = 0; i < 3; i++) assert.equal(await pull.line(), `job\t${i}`);
    push.close();
    await pull.close();
});

test("native PUSH to wasm PULL, multipart", { timeout: 20000 }, async () => {
    const push = await cli("push", "--bind", "ws://127.0.0.1:*/jobs");
    const pull = new Socket("pull").connect(push.endpoint);
    push.proc.stdin.write("a\t1\nb\t2\n");
    assert.deepEqual((await pull.recv()).map(text), ["a", "1"]);
    assert.deepEqual((await pull.recv()).map(text), ["b", "2"]);
    pull.close();
    await push.close();
});

test("wasm REQ to native REP: a 1 MiB request echoed back", { timeout: 30000 }, async () => {
    const rep = await cli("rep", "--bind", "ws://127.0.0.1:*/echo", "--echo");
    const req = new Socket("req").connect(rep.endpoint);
    const big = "x".repeat(1 << 20).replace(/x/g, (_, i) => String.fromCharCode(97 + (i % 26)));
    for (const body of ["hello", big]) {
        await req.send(["q", body]);
        const [q, echoed] = await req.recv();
        assert.equal(text(q), "q");
        assert.equal(text(echoed), body);
    }
    req.close();
    await rep.close();
});

test("wasm DEALER to native ROUTER: routing by identity, both directions", { timeout: 20000 }, async () => {
    // RFC 28 / libzmq: ROUTER prepends the peer's routing id (its ROUTING_ID when set) on
    // receive and routes by the first frame on send; --echo sends every message back.
    const router = await cli("router", "--bind", "ws://127.0.0.1:*/route", "--echo");
    const dealer = new Socket("dealer", { routingId: "browser-1" }).connect(router.endpoint);
    await dealer.send(["job", "42"]);
    assert.equal(await router.line(), "browser-1\tjob\t42");
    assert.deepEqual((await dealer.recv()).map(text), ["job", "42"]);
    dealer.close();
    await router.close();
});

test("wasm ROUTER to native DEALER: the DEALER's identity names it", { timeout: 20000 }, async () => {
    const dealer = await cli("dealer", "--bind", "ws://127.0.0.1:*/back", "--identity", "worker-7");
    const router = new Socket("router").connect(dealer.endpoint);
    // The connection (and the DEALER's identity) must be there before routing to it.
    // Until then ROUTER drops messages for the unknown id: resend until one arrives.
    const first = dealer.line();
    let reply;
    for (let i = 0; !reply && i < 200; i++) {
        await router.send(["worker-7", "task"]);
        reply = await Promise.race([first, new Promise((r) => setTimeout(r, 50))]);
    }
    assert.equal(reply, "task");
    dealer.proc.stdin.write("done\n");
    const [id, body] = await router.recv();
    assert.equal(text(id), "worker-7");
    assert.equal(text(body), "done");
    router.close();
    await dealer.close();
});

test("wasm SUB resubscribes after the native publisher restarts", { timeout: 30000 }, async () => {
    let xpub = await cli("xpub", "--bind", "ws://127.0.0.1:*/feed");
    const endpoint = xpub.endpoint;
    const sub = new Socket("sub", { reconnectIvl: 50, reconnectIvlMax: 200 }).connect(endpoint);
    sub.subscribe("news");
    assert.equal(await xpub.line(), "\u0001news");
    const lost = next(sub, "disconnect");
    await xpub.close();
    await lost;
    xpub = await cli("xpub", "--bind", endpoint);
    // Only the SUB's replay can put this subscription on the new publisher.
    assert.equal(await xpub.line(), "\u0001news");
    xpub.proc.stdin.write("weather\tx\nnews\tafter\n");
    assert.deepEqual((await sub.recv()).map(text), ["news", "after"]);
    sub.close();
    await xpub.close();
});

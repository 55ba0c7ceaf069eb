// inproc:// between two wasm sockets of one process: the core's patterns, no network.

import { test } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "isomq";
import { text } from "./helpers.mjs";

test("PUSH/PULL over inproc delivers multipart messages whole and in order", { timeout: 10000 }, async () => {
    const pull = new Socket("pull").bind("inproc://pushpull");
    const push = new Socket("push").connect("inproc://pushpull");
    for (let i = 0; i < 100; i++) {
        await push.send(["job", String(i)]);
    }
    for (let i = 0; i < 100; i++) {
        assert.deepEqual((await pull.recv()).map(text), ["job", String(i)]);
    }
    push.close();
    pull.close();
});

test("ROUTER over inproc knows a DEALER by its routing id and routes replies by it", { timeout: 10000 }, async () => {
    // RFC 28: ROUTER prefixes each message with the sender's identity and routes by the
    // first frame; a connecting DEALER's ROUTING_ID is that identity.
    const router = new Socket("router").bind("inproc://rr");
    const named = new Socket("dealer", { routingId: "d1" }).connect("inproc://rr");
    const anonymous = new Socket("dealer").connect("inproc://rr");
    await named.send(["hello"]);
    const [id, body] = await router.recv();
    assert.equal(text(id), "d1");
    assert.equal(text(body), "hello");
    await anonymous.send(["hi"]);
    const [generated] = await router.recv();
    assert.equal(generated[0], 0, "a generated id starts with a zero byte");
    await router.send([generated, "to anonymous"]);
    await router.send(["d1", "to d1"]);
    assert.deepEqual((await anonymous.recv()).map(text), ["to anonymous"]);
    assert.deepEqual((await named.recv()).map(text), ["to d1"]);
    named.close();
    anonymous.close();
    router.close();
});

test("a PULL waiting in recv() is woken by a later send", { timeout: 10000 }, async () => {
    const pull = new Socket("pull").bind("inproc://wake");
    const push = new Socket("push").connect("inproc://wake");
    const pending = pull.recv();
    await push.send(new Uint8Array([1, 2, 3]));
    assert.deepEqual(await pending, [new Uint8Array([1, 2, 3])]);
    push.close();
    pull.close();
});

test("PUB/SUB over inproc filters by topic prefix", { timeout: 10000 }, async () => {
    const pub = new Socket("pub").bind("inproc://metrics");
    const sub = new Socket("sub").connect("inproc://metrics");
    sub.subscribe("cpu");
    for (const topic of ["mem", "cpu", "disk", "cpu0", "end"]) {
        await pub.send([topic, "42"]);
    }
    sub.subscribe("end");
    await pub.send(["end", "!"]);
    const got = [];
    for await (const [topic] of sub) {
        got.push(text(topic));
        if (text(topic) === "end") break;
    }
    assert.deepEqual(got, ["cpu", "cpu0", "end"]);
    pub.close();
    sub.close();
});

test("send() waits at SNDHWM and resumes when the peer reads", { timeout: 10000 }, async () => {
    const pull = new Socket("pull", { rcvhwm: 5 }).bind("inproc://hwm");
    const push = new Socket("push", { sndhwm: 5 }).connect("inproc://hwm");
    const sends = [];
    for (let i = 0; i < 30; i++) sends.push(push.send(String(i)));
    for (let i = 0; i < 30; i++) {
        assert.equal(text((await pull.recv())[0]), String(i));
    }
    await Promise.all(sends);
    push.close();
    pull.close();
});

test("close() ends for-await and rejects pending recv() with ETERM", { timeout: 10000 }, async () => {
    const pull = new Socket("pull").bind("inproc://close");
    const pending = pull.recv();
    pull.close();
    await assert.rejects(pending, { code: "ETERM" });
    const iter = pull[Symbol.asyncIterator]();
    assert.deepEqual(await iter.next(), { value: undefined, done: true });
});

test("errors carry ZeroMQ's names", () => {
    const pub = new Socket("pub");
    assert.throws(() => pub.connect("tcp://127.0.0.1:5555"), { code: "EPROTONOSUPPORT" });
    assert.throws(() => new Socket("nonsense"), { code: "EINVAL" });
    return assert.rejects(pub.recv(), { code: "ENOTSUP" }).finally(() => pub.close());
});

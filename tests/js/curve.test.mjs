// CURVE (RFC 26) and PLAIN (RFC 24) between isomq's wasm sockets in Node and native sockets
// (the `isomq cat` CLI) over ws://: the page offers the browser-safe subprotocols
// ZWS2.0.isomq-curve1 / ZWS2.0.isomq-plain1 (docs/wire.md §10.10), the native server accepts
// them beside libzmq's names, and nothing travels in clear.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { Socket, curveKeypair } from "isomq";
import { cli, text } from "./helpers.mjs";

const BIN = process.env.ISOMQ_BIN ?? new URL("../../target/debug/isomq", import.meta.url).pathname;

/** `isomq keygen` as { publicKey, secretKey }. */
function keygen() {
    const out = spawnSync(BIN, ["keygen"], { encoding: "utf8" }).stdout;
    const [, publicKey] = out.match(/^public (.{40})$/m);
    const [, secretKey] = out.match(/^secret (.{40})$/m);
    return { publicKey, secretKey };
}

test("curveKeypair gives 40-character Z85 keys, a fresh pair each call", () => {
    const a = curveKeypair();
    const b = curveKeypair();
    for (const k of [a.publicKey, a.secretKey]) assert.match(k, /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/);
    assert.notEqual(a.secretKey, b.secretKey);
});

test("wasm CURVE PUSH to native CURVE PULL, and native PUB to wasm SUB", { timeout: 30000 }, async () => {
    const server = keygen();
    const pull = await cli("pull", "--curve-server", "--curve-secret", server.secretKey,
        "--bind", "ws://127.0.0.1:*/sealed", "--count", "2");
    const client = curveKeypair();
    const push = new Socket("push", {
        curveServerkey: server.publicKey,
        curveSecretkey: client.secretKey,
    }).connect(pull.endpoint);
    await push.send(["job", "1"]);
    await push.send("done");
    assert.equal(await pull.line(), "job\t1");
    assert.equal(await pull.line(), "done");
    push.close();
    await pull.close();

    const pub = await cli("pub", "--curve-server", "--curve-secret", server.secretKey,
        "--bind", "ws://127.0.0.1:*/news");
    const sub = new Socket("sub", { curveServerkey: server.publicKey, curveSecretkey: client.secretKey })
        .connect(pub.endpoint);
    sub.subscribe("cpu");
    // The subscription travels boxed; publish until it has arrived.
    const got = sub.recv();
    let msg;
    for (let i = 0; !msg && i < 400; i++) {
        pub.proc.stdin.write("mem\t0\ncpu\t42\n");
        msg = await Promise.race([got, new Promise((r) => setTimeout(r, 50))]);
    }
    assert.deepEqual(msg.map(text), ["cpu", "42"]);
    sub.close();
    await pub.close();
});

test("a wasm CURVE client with the wrong server key delivers nothing", { timeout: 30000 }, async () => {
    const server = keygen();
    const pull = await cli("pull", "--curve-server", "--curve-secret", server.secretKey,
        "--bind", "ws://127.0.0.1:*/sealed", "--timeout-ms", "1500");
    const wrong = curveKeypair();
    const push = new Socket("push", { curveServerkey: wrong.publicKey, curveSecretkey: curveKeypair().secretKey })
        .connect(pull.endpoint);
    await push.send("must not arrive");
    // --timeout-ms: the CLI exits 1 when nothing arrives.
    assert.equal(await pull.exit(), 1);
    push.close();
});

test("wasm PLAIN client to a native PLAIN server: right and wrong password", { timeout: 30000 }, async () => {
    const pull = await cli("pull", "--plain-server", "admin:secret", "--bind", "ws://127.0.0.1:*/plain", "--count", "1");
    const wrong = new Socket("push", { plainUsername: "admin", plainPassword: "guess" }).connect(pull.endpoint);
    await wrong.send("refused");
    const right = new Socket("push", { plainUsername: "admin", plainPassword: "secret" }).connect(pull.endpoint);
    await right.send("admitted");
    assert.equal(await pull.line(), "admitted");
    wrong.close();
    right.close();
    await pull.close();
});

// The npm package's sockets in Node over wss:// to a native socket (the `isomq cat` CLI,
// serving TLS with rustls): Node's own TLS client (OpenSSL, through its WebSocket) against
// isomq's server. The certificates are made here with the openssl command; the client trusts
// the test CA and nothing else it would not trust anyway.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { once } from "node:events";
import { cli } from "./helpers.mjs";

/** A CA and a certificate for 127.0.0.1 it signs: { dir, ca, cert, key }. */
function pki() {
    const dir = mkdtempSync(join(tmpdir(), "isomq-wss-"));
    const p = (name) => join(dir, name);
    const openssl = (...args) => execFileSync("openssl", args, { stdio: "pipe" });
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", p("ca.key"), "-out", p("ca.pem"), "-subj", "/CN=isomq js test CA", "-days", "2");
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", p("key.pem"), "-out", p("req.csr"), "-subj", "/CN=127.0.0.1");
    writeFileSync(p("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n");
    openssl("x509", "-req", "-in", p("req.csr"), "-CA", p("ca.pem"), "-CAkey", p("ca.key"),
        "-CAcreateserial", "-out", p("cert.pem"), "-days", "2", "-extfile", p("ext.cnf"));
    return { dir, ca: p("ca.pem"), cert: p("cert.pem"), key: p("key.pem") };
}

/** Runs fixtures/wss-req.mjs with `ca` trusted; resolves with its exit code and output. */
async function wssReq(ca, endpoint, ...bodies) {
    const script = fileURLToPath(new URL("./fixtures/wss-req.mjs", import.meta.url));
    const env = { ...process.env };
    if (ca) env.NODE_EXTRA_CA_CERTS = ca;
    const child = spawn(process.execPath, ["--experimental-websocket", script, endpoint, ...bodies], {
        env,
        stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const [code] = await once(child, "exit");
    return { code, out: out.trim() };
}

test("wasm REQ in Node to native REP over wss://, a 1 MiB request included", { timeout: 60000 }, async () => {
    const certs = pki();
    try {
        const rep = await cli("rep", "--bind", "wss://127.0.0.1:*/echo", "--echo",
            "--tls-cert", certs.cert, "--tls-key", certs.key);
        assert.match(rep.endpoint, /^wss:\/\/127\.0\.0\.1:\d+\/echo$/);
        const { code, out } = await wssReq(certs.ca, rep.endpoint, "hello", "1048576*x", "bye");
        assert.equal(out, "ok");
        assert.equal(code, 0);
        await rep.close();
    } finally {
        rmSync(certs.dir, { recursive: true, force: true });
    }
});

test("isomq cat to isomq cat over wss://: --tls-cert/--tls-key on the bind, --tls-ca on the connect", { timeout: 30000 }, async () => {
    const certs = pki();
    try {
        const pull = await cli("pull", "--bind", "wss://127.0.0.1:*/jobs", "--count", "2",
            "--tls-cert", certs.cert, "--tls-key", certs.key);
        // The tcp bind only gives cli() the `bound` line it waits for.
        const push = await cli("push", "--bind", "tcp://127.0.0.1:*", "--connect", pull.endpoint,
            "--tls-ca", certs.ca);
        push.proc.stdin.write("over\ttls\nsecond\n");
        assert.equal(await pull.line(), "over\ttls");
        assert.equal(await pull.line(), "second");
        assert.equal(await pull.exit(), 0);
        await push.close();
    } finally {
        rmSync(certs.dir, { recursive: true, force: true });
    }
});

test("isomq cat refuses a missing PEM file, naming it, before any socket opens", { timeout: 20000 }, async () => {
    const bin = process.env.ISOMQ_BIN ?? fileURLToPath(new URL("../../target/debug/isomq", import.meta.url));
    const proc = spawn(bin, ["cat", "pull", "--bind", "wss://127.0.0.1:*/x",
        "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    proc.stderr.on("data", (d) => (err += d));
    const [code] = await once(proc, "exit");
    assert.notEqual(code, 0);
    assert.match(err, /\/nonexistent\/cert\.pem/);
    assert.doesNotMatch(err, /bound/);
});

#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack`, install the tarball into a fresh folder,
# import it by name, and make a round trip (inproc, and over ws:// to the native CLI when
# ISOMQ_BIN is set).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$ROOT"
tarball="$(npm pack --silent --pack-destination "$work" | tail -1)"
echo "packed $tarball ($(du -k "$work/$tarball" | cut -f1) KiB)"
mkdir "$work/app"
cd "$work/app"
npm init -y >/dev/null
npm install --no-audit --no-fund --silent "$work/$tarball"
cat > main.mjs <<'JS'
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { Socket, text } from "isomq";

const pull = new Socket("pull").bind("inproc://pack");
const push = new Socket("push").connect("inproc://pack");
await push.send(["packed", "ok"]);
assert.deepEqual((await pull.recv()).map(text), ["packed", "ok"]);
push.close();
pull.close();

if (process.env.ISOMQ_BIN) {
    const rep = spawn(process.env.ISOMQ_BIN, ["cat", "rep", "--bind", "ws://127.0.0.1:*/pack", "--echo"]);
    const endpoint = await new Promise((resolve) => {
        let err = "";
        rep.stderr.on("data", (d) => {
            err += d;
            const m = err.match(/bound (\S+)/);
            if (m) resolve(m[1]);
        });
    });
    const req = new Socket("req").connect(endpoint);
    await req.send("ping");
    assert.deepEqual((await req.recv()).map(text), ["ping"]);
    req.close();
    rep.kill();
}
console.log("1 passed, 0 failed");
JS
node --experimental-websocket main.mjs

// CURVE (RFC 26) in Chromium: a page makes its key pair with curveKeypair(), connects a REQ
// to a native CURVE REP (the `isomq cat` CLI) with the gateway's public key, offering the
// browser-safe subprotocol ZWS2.0.isomq-curve1 (docs/wire.md §10.10), and gets its request
// back; a page with the wrong server key gets nothing through.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { ROOT, launchBrowser, servePage, stop, watchedPage } from "./harness.mjs";

const ISOMQ = process.env.ISOMQ_BIN ?? `${ROOT}target/debug/isomq`;

const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { Socket, curveKeypair, setWebSocket } from "/js/index.js";
const state = (window.__t = { protocol: null });
setWebSocket(class extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.addEventListener("open", () => (state.protocol = this.protocol));
  }
});
window.ask = async (url, serverKey, question) => {
  const { secretKey } = curveKeypair();
  const req = new Socket("req", { curveServerkey: serverKey, curveSecretkey: secretKey });
  req.connect(url);
  await req.send(question);
  const [reply] = await req.recv();
  req.close();
  return new TextDecoder().decode(reply);
};
window.ready = true;
</script>`;

function keygen() {
  const out = spawnSync(ISOMQ, ["keygen"], { encoding: "utf8" }).stdout;
  return { publicKey: out.match(/^public (.{40})$/m)[1], secretKey: out.match(/^secret (.{40})$/m)[1] };
}

/** `isomq cat rep --echo` as a CURVE server on ws://: { proc, endpoint }. */
function curveRep(secretKey) {
  const proc = spawn(ISOMQ, ["cat", "rep", "--echo", "--curve-server", "--curve-secret", secretKey,
    "--bind", "ws://127.0.0.1:*/sealed"], { stdio: ["pipe", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/bound (\S+)/);
      if (m) resolve({ proc, endpoint: m[1] });
    });
    proc.on("exit", (code) => reject(new Error(`isomq exited (${code}): ${err}`)));
  });
}

test("CURVE between a Chromium page and a native socket", async () => {
  const keys = keygen();
  const rep = await curveRep(keys.secretKey);
  const server = await servePage(PAGE);
  const browser = await launchBrowser();
  const problems = [];
  try {
    const page = await watchedPage(browser, problems);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.ready === true);
    const reply = await page.evaluate(([ep, key]) => window.ask(ep, key, "sealed hello"), [rep.endpoint, keys.publicKey]);
    assert.equal(reply, "sealed hello");
    assert.equal(await page.evaluate(() => window.__t.protocol), "ZWS2.0.isomq-curve1");

    // The wrong server key: the handshake never completes, so no reply comes.
    const wrong = keygen().publicKey;
    const outcome = await page.evaluate(
      ([ep, key]) => Promise.race([window.ask(ep, key, "x"), new Promise((r) => setTimeout(() => r("no reply"), 1500))]),
      [rep.endpoint, wrong],
    );
    assert.equal(outcome, "no reply");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    server.close();
    await stop(rep.proc);
  }
});

// close() in Chromium: a page's PUSH sends 100,000 small messages to a native PULL (the
// `isomq cat` CLI) and closes right after the last send. With LINGER at its default
// (forever) the native side receives every message, in order, and the page's WebSocket
// ends with a normal closure (1000) once it has sent everything.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { PATIENCE, ROOT, launchBrowser, servePage, stop, watchedPage } from "./harness.mjs";

const ISOMQ = process.env.ISOMQ_BIN ?? `${ROOT}target/debug/isomq`;
const N = 100_000;

// The page: a PUSH that sends "m0".."m<n-1>", then closes; the WebSocket's close code is
// kept.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { Socket, setWebSocket } from "/js/index.js";
const state = (window.__t = { sent: false, closed: false, code: null });
setWebSocket(class extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.addEventListener("close", (e) => (state.code = e.code));
  }
});
window.run = async (url, n) => {
  const push = new Socket("push").connect(url);
  for (let i = 0; i < n; i++) await push.send("m" + i);
  const closing = push.close();
  state.sent = true;
  await closing;
  state.closed = true;
};
</script>`;

/**
 * `isomq cat pull` bound on ws://: { proc, endpoint, lines, all }, `all` resolving once
 * `count` lines came. It stays up after them, to answer the page's close frame.
 */
function pull(count) {
  const proc = spawn(ISOMQ, ["cat", "pull", "--bind", "ws://127.0.0.1:*/close"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = [];
  let reached;
  const all = new Promise((resolve) => (reached = resolve));
  createInterface({ input: proc.stdout }).on("line", (l) => {
    if (lines.push(l) === count) reached();
  });
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/bound (\S+)/);
      if (m) resolve({ proc, endpoint: m[1], lines, all });
    });
    proc.on("exit", (code) => reject(new Error(`isomq exited (${code}): ${err}`)));
  });
}

test("close() right after the last send: a native PULL receives all 100,000, in order", { timeout: 300_000 }, async () => {
  const server = await servePage(PAGE);
  const native = await pull(N);
  const browser = await launchBrowser();
  const problems = [];
  try {
    const page = await watchedPage(browser, problems);
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => typeof window.run === "function", null, { timeout: PATIENCE });
    await page.evaluate(([url, n]) => void window.run(url, n), [native.endpoint, N]);
    // The page's own pace decides how long sending takes: no limit but the test's.
    await page.waitForFunction(() => window.__t.closed, null, { timeout: 0, polling: 100 });
    await native.all;
    const wrong = native.lines.findIndex((l, i) => l !== `m${i}`);
    assert.equal(wrong, -1, `message ${wrong}: ${native.lines[wrong]}`);
    await page.waitForFunction(() => window.__t.code !== null, null, { timeout: PATIENCE });
    assert.equal(await page.evaluate(() => window.__t.code), 1000, "a normal closure");
    assert.equal(native.lines.length, N, "nothing more");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await stop(native.proc);
    server.close();
  }
});

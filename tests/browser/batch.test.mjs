// isomq's batch extension (docs/wire.md §10.9) in Chromium: two pages subscribe to a native
// XPUB (the `isomq cat` CLI) with the package's default offer, which negotiates the
// extension. One page stops reading (its main thread busy): the other still receives every
// message at once, and the stopped one, once it runs again, receives everything too, nothing
// dropped (below RCVHWM plus what may wait, docs/wire.md §7.1).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { PATIENCE, ROOT, launchBrowser, servePage, stop, until, watchedPage } from "./harness.mjs";

const ISOMQ = process.env.ISOMQ_BIN ?? `${ROOT}target/debug/isomq`;
const N = 10_000;
// How long the slow page's main thread stays busy.
const BUSY_MS = 8_000;

// The page: a WebSocket class that records the chosen subprotocol and counts messages, and
// a SUB on `topic` that counts what it receives and keeps the order.
const PAGE = `<!doctype html><meta charset="utf-8"><script type="module">
import { Socket, setWebSocket } from "/js/index.js";
const state = (window.__t = { protocol: null, wsMessages: 0, got: 0, inOrder: true, dropped: 0 });
setWebSocket(class extends WebSocket {
  constructor(url, protocols) {
    super(url, protocols);
    this.addEventListener("open", () => (state.protocol = this.protocol));
    this.addEventListener("message", () => state.wsMessages++);
  }
});
window.start = (url, topic) => {
  const sub = new Socket("sub");
  sub.connect(url);
  sub.subscribe(topic);
  (async () => {
    for await (const [frame] of sub) {
      if (new TextDecoder().decode(frame) !== "m" + state.got) state.inOrder = false;
      state.got++;
      state.dropped = sub.dropped;
    }
  })();
};
</script>`;

/** `isomq cat xpub` bound on ws://, unlimited HWM: { proc, endpoint, line() }. */
function xpub() {
  const proc = spawn(ISOMQ, ["cat", "xpub", "--bind", "ws://127.0.0.1:*/feed", "--hwm", "0"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines = [];
  const waiters = [];
  createInterface({ input: proc.stdout }).on("line", (l) => (waiters.length ? waiters.shift()(l) : lines.push(l)));
  return new Promise((resolve, reject) => {
    let err = "";
    proc.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/bound (\S+)/);
      if (m) {
        resolve({
          proc,
          endpoint: m[1],
          line: () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r))),
        });
      }
    });
    proc.on("exit", (code) => reject(new Error(`isomq exited (${code}): ${err}`)));
  });
}

test("batch extension in Chromium: a stopped page slows no other, and loses nothing", async () => {
  const server = await servePage(PAGE);
  const pub = await xpub();
  const browser = await launchBrowser();
  const problems = [];
  try {
    const url = `http://127.0.0.1:${server.address().port}/`;
    const fast = await watchedPage(browser, problems);
    const slow = await watchedPage(browser, problems);
    await fast.goto(url);
    await slow.goto(url);
    await until(fast, () => typeof window.start === "function");
    await until(slow, () => typeof window.start === "function");
    // Different topics, so that XPUB reports each subscription (both match "m...").
    await fast.evaluate((ep) => window.start(ep, ""), pub.endpoint);
    await slow.evaluate((ep) => window.start(ep, "m"), pub.endpoint);
    const subs = new Set([await pub.line(), await pub.line()]);
    assert.deepEqual(subs, new Set(["\u0001", "\u0001m"]));
    assert.equal(await fast.evaluate(() => window.__t.protocol), "ZWS2.0.isomq-batch1");
    assert.equal(await slow.evaluate(() => window.__t.protocol), "ZWS2.0.isomq-batch1");

    // The slow page stops running JavaScript, then the burst goes out.
    await slow.evaluate((ms) => {
      setTimeout(() => {
        const end = Date.now() + ms;
        while (Date.now() < end);
      }, 0);
    }, BUSY_MS);
    const busyFrom = Date.now();
    pub.proc.stdin.write(Array.from({ length: N }, (_, i) => `m${i}\n`).join(""));
    await until(fast, (n) => window.__t.got === n, N);
    const fastDone = Date.now() - busyFrom;
    const f = await fast.evaluate(() => window.__t);
    assert.ok(f.inOrder);
    assert.equal(f.dropped, 0);
    // Frames per WebSocket message depend on how far the publisher runs ahead of its I/O
    // thread; two or more on average proves they travel packed (docs/wire.md §10.9).
    assert.ok(f.wsMessages < N / 2, `${N} messages in ${f.wsMessages} WebSocket messages`);
    assert.ok(fastDone < BUSY_MS, `the fast page took ${fastDone} ms, the slow one was stopped`);

    // Running again, the slow page gets everything: what waited found room as it read.
    await slow.waitForFunction((n) => window.__t.got === n, N, { timeout: BUSY_MS + PATIENCE, polling: 50 });
    const s = await slow.evaluate(() => window.__t);
    assert.ok(s.inOrder);
    assert.equal(s.dropped, 0);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await stop(pub.proc);
    server.close();
  }
});

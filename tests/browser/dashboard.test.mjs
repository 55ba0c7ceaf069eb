// The live dashboard in a real browser (Debian's Chromium driven by playwright-core): the
// page's WebAssembly SUB socket receives what the native publisher sends through the
// gateway, subscriptions follow the topic checkboxes, a command from the page reaches the
// native side, and the page recovers when the gateway restarts.
//
//   node --test tests/browser/   (scripts/test builds the dashboard and the package first)

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const ROOT = new URL("../..", import.meta.url).pathname;
const DASHBOARD = process.env.ISOMQ_DASHBOARD_BIN ?? `${ROOT}target/debug/dashboard`;
const ARTIFACTS = `${ROOT}target/browser-artifacts`;
// Only reached when something is broken; a slow machine makes the test slower, not red.
const PATIENCE = 30_000;

/** Starts the dashboard; resolves once it printed its URL and WebSocket port. */
function startDashboard(extra = []) {
  const proc = spawn(DASHBOARD, ["--rate-ms", "200", ...extra], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines = createInterface({ input: proc.stdout });
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dashboard did not start: ${seen}`)), PATIENCE);
    let url;
    lines.on("line", (line) => {
      seen.push(line);
      url ??= line.match(/isomq dashboard: (http:\/\/\S+)/)?.[1];
      const ws = line.match(/ws:\/\/127\.0\.0\.1:(\d+)\/metrics/);
      if (url && ws) {
        clearTimeout(timer);
        resolve({ proc, url, wsPort: ws[1], lines: seen });
      }
    });
    proc.on("exit", (code) => reject(new Error(`dashboard exited (${code}): ${seen}`)));
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.on("exit", resolve);
    proc.kill("SIGKILL");
  });
}

const state = (page) => page.evaluate(() => structuredClone(window.__dashboard));
const until = (page, fn, arg) => page.waitForFunction(fn, arg, { timeout: PATIENCE, polling: 50 });

test("dashboard: live charts, topics, commands, gateway restart", async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  let dash = await startDashboard();
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems = [];
  try {
    const page = await browser.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error") problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    });
    await page.goto(dash.url);

    // Values published natively arrive in every chart.
    await until(page, () => {
      const d = window.__dashboard;
      return d?.connected && ["cpu", "mem", "load", "net"].every((t) => d.received[t] >= 3);
    });
    assert.equal(await page.locator("#chart-cpu canvas").count() > 0, true, "cpu chart drawn");

    // Unsubscribing a topic stops it while the others keep coming: the subscription change
    // travels from the page through the gateway (XPUB → XSUB) to the publisher.
    await page.locator("input[value=cpu]").uncheck();
    await until(page, () => window.__dashboard.received.mem >= 0); // settle one frame
    const before = await state(page);
    await until(page, (mem) => window.__dashboard.received.mem >= mem + 10, before.received.mem);
    const after = await state(page);
    assert.ok(
      after.received.cpu <= before.received.cpu + 1,
      `cpu kept arriving after unsubscribing: ${before.received.cpu} → ${after.received.cpu}`,
    );
    await page.locator("input[value=cpu]").check();
    await until(page, (cpu) => window.__dashboard.received.cpu > cpu + 2, after.received.cpu);

    // A command from the page (PUSH over ws://) reaches the native publisher, which
    // announces the new rate on its "rate" topic.
    await page.locator("button[data-rate='500']").click();
    await until(page, () => window.__dashboard.lastRate === 500);

    await page.screenshot({ path: `${ARTIFACTS}/dashboard.png`, fullPage: true });

    // The gateway goes away and comes back on the same port: the page reconnects and its
    // subscriptions are replayed, so values flow again.
    await stop(dash.proc);
    await until(page, () => !window.__dashboard.connected);
    const down = await state(page);
    dash = await startDashboard(["--ws-port", dash.wsPort]);
    await until(page, () => window.__dashboard.connected);
    await until(page, (mem) => window.__dashboard.received.mem >= mem + 3, down.received.mem);
    await page.screenshot({ path: `${ARTIFACTS}/dashboard-after-restart.png`, fullPage: true });
    const end = await state(page);
    assert.deepEqual(end.errors, [], "the page failed to handle a message");
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await stop(dash.proc);
  }
});

// Shared by the browser tests: starting an example binary, Debian's Chromium through
// playwright-core (never a downloaded browser), and collecting what went wrong on a page.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createReadStream, existsSync, mkdirSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const ROOT = new URL("../..", import.meta.url).pathname;
export const ARTIFACTS = `${ROOT}target/browser-artifacts`;
// Only reached when something is broken; a slow machine makes a test slower, not red.
export const PATIENCE = 30_000;

/**
 * Starts `bin` and resolves once every regex in `wanted` matched a stdout line; resolves to
 * `{ proc, lines, match, waitForLine }` where `match[name]` is the first capture of
 * `wanted[name]` and `waitForLine(re)` resolves with the first line, past or future, that
 * matches `re`.
 */
export function startExample(bin, args, wanted) {
  const proc = spawn(bin, args, { stdio: ["ignore", "pipe", "inherit"] });
  const lines = [];
  const match = {};
  const watchers = new Set();
  const waitForLine = (re) =>
    new Promise((resolve, reject) => {
      const seen = lines.find((line) => re.test(line));
      if (seen !== undefined) return resolve(seen);
      const timer = setTimeout(() => reject(new Error(`${bin} never printed ${re}: ${lines}`)), PATIENCE);
      watchers.add((line) => {
        if (!re.test(line)) return false;
        clearTimeout(timer);
        resolve(line);
        return true;
      });
    });
  return new Promise((resolve, reject) => {
    // A child left running would keep the test runner alive after the failure.
    const timer = setTimeout(() => {
      reject(new Error(`${bin} did not start: ${lines}`));
      proc.kill("SIGKILL");
    }, PATIENCE);
    createInterface({ input: proc.stdout }).on("line", (line) => {
      lines.push(line);
      for (const watcher of watchers) if (watcher(line)) watchers.delete(watcher);
      for (const [name, re] of Object.entries(wanted)) {
        match[name] ??= line.match(re)?.[1];
      }
      if (Object.keys(wanted).every((name) => match[name] !== undefined)) {
        clearTimeout(timer);
        resolve({ proc, lines, match, waitForLine });
      }
    });
    proc.on("exit", (code) => reject(new Error(`${bin} exited (${code}): ${lines}`)));
  });
}

export const DASHBOARD = process.env.ISOMQ_DASHBOARD_BIN ?? `${ROOT}target/debug/dashboard`;

/**
 * Starts the dashboard (publishing every 200 ms); resolves once it printed its URL and
 * WebSocket port, to `{ proc, url, httpAddr, wsPort, waitForLine }`.
 */
export async function startDashboard(extra = []) {
  const { proc, match, waitForLine } = await startExample(DASHBOARD, ["--rate-ms", "200", ...extra], {
    url: /isomq dashboard: (https?:\/\/\S+)/,
    wsPort: /wss?:\/\/127\.0\.0\.1:(\d+)\/metrics/,
  });
  const httpAddr = new URL(match.url).host;
  return { proc, url: match.url, httpAddr, wsPort: match.wsPort, waitForLine };
}

/** Signals a child (SIGKILL unless told) and waits for it to be gone. */
export function stop(proc, signal = "SIGKILL") {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.on("exit", resolve);
    proc.kill(signal);
  });
}

/**
 * Chromium's flags for a sandbox without a GPU or outside network: as root it needs
 * --no-sandbox, and without the background-networking flags it keeps trying to reach
 * Google's hosts, which this network refuses. Shared with benches/browser/run.mjs.
 */
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Headless Chromium (Debian's) with the flags above and `extra`. */
export function launchBrowser(extra = []) {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...CHROMIUM_FLAGS, ...extra],
  });
}

/** A new page whose script errors, console errors and failed requests land in `problems`. */
export async function watchedPage(browser, problems) {
  const page = await browser.newPage();
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  return page;
}

/**
 * The dashboard seen from a page over https: values of every topic arrive, the sockets are
 * the `wss://` ones of `wsHostPort`, and a command from the page reaches the native
 * publisher (which prints it) and comes back as the new rate. Saves a screenshot as `shot`.
 */
export async function exerciseSecureDashboard(page, dash, wsHostPort, shot) {
  await until(page, () => {
    const d = window.__dashboard;
    return d?.connected && ["cpu", "mem", "load", "net"].every((t) => d.received[t] >= 3);
  });
  const endpoints = await page.evaluate(() => window.__dashboard.endpoints);
  assert.deepEqual(endpoints, {
    metrics: `wss://${wsHostPort}/metrics`,
    control: `wss://${wsHostPort}/control`,
  });
  await page.locator("button[data-rate='500']").click();
  await dash.waitForLine(/command from the browser: publish every 500 ms/);
  await until(page, () => window.__dashboard.lastRate === 500);
  await page.screenshot({ path: `${ARTIFACTS}/${shot}`, fullPage: true });
  assert.deepEqual(await page.evaluate(() => window.__dashboard.errors), []);
}

/** Waits until `fn(arg)`, evaluated in the page, is truthy. */
export const until = (page, fn, arg) =>
  page.waitForFunction(fn, arg, { timeout: PATIENCE, polling: 50 });

/** Serves `page` at / and the package's js/ folder, on an OS-chosen loopback port. */
export function servePage(page) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (path === "/") {
      res.writeHead(200, { "Content-Type": "text/html" }).end(page);
      return;
    }
    if (path === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = normalize(join(ROOT, path));
    if (!file.startsWith(`${ROOT}js/`) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    const type = { ".js": "text/javascript", ".wasm": "application/wasm" }[extname(file)];
    res.writeHead(200, { "Content-Type": type ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

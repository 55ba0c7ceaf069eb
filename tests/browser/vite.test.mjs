// The npm package through a bundler, in a real browser: tests/vite-app imports `isomq` by name
// from the tarball `npm pack` makes (what users install), Vite bundles it, and Debian's
// Chromium (driven by playwright-core) runs the page: an inproc PUSH→PULL round trip and a
// ws:// REQ→REP round trip against the native CLI. Both the production build (`vite build`,
// served as static files) and the dev server (`vite`, which pre-bundles dependencies) are
// covered, with the vite.config.js of tests/vite-app.
//
//   node --test tests/browser/   (scripts/test installs tests/vite-app's Vite, builds the CLI
//                                 and the package's wasm first)

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { createInterface } from "node:readline";
import { PATIENCE, ROOT, launchBrowser, stop } from "./harness.mjs";

const APP = `${ROOT}tests/vite-app`;
const VITE = `${APP}/node_modules/.bin/vite`;
const WORK = `${ROOT}target/vite-app`;
const ISOMQ = process.env.ISOMQ_BIN ?? `${ROOT}target/debug/isomq`;

let browser;
let rep;
let wsEndpoint;

// Terminal colour codes: Vite colours its output when the environment asks for colour
// (FORCE_COLOR, a CI's terminal), even through a pipe, and may split a URL with them.
const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

/**
 * Spawns a process; resolves with the first match of `pattern` in its stdout or stderr (colour
 * codes removed). If it never matches, the promise rejects and the process is killed, so a
 * failed start cannot leave a child that keeps the test runner alive.
 */
function spawnUntil(cmd, args, pattern, options = {}) {
  const env = { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", ...options.env };
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...options, env });
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`${cmd} did not start: ${seen.join("\n")}`));
      stop(proc);
    }, PATIENCE);
    const onLine = (raw) => {
      const line = raw.replace(ANSI, "");
      seen.push(line);
      const m = line.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, match: m[1], seen });
      }
    };
    createInterface({ input: proc.stdout }).on("line", onLine);
    createInterface({ input: proc.stderr }).on("line", onLine);
    proc.on("error", reject);
    proc.on("exit", (code) => reject(new Error(`${cmd} exited (${code}): ${seen.join("\n")}`)));
  });
}

/** Packs the repository's package and installs the tarball into tests/vite-app. */
function installPackedPackage() {
  assert.ok(existsSync(VITE), `${VITE} missing: run \`npm ci\` in tests/vite-app (scripts/test does)`);
  mkdirSync(WORK, { recursive: true });
  const name = execFileSync("npm", ["pack", "--silent", "--pack-destination", WORK], { cwd: ROOT })
    .toString()
    .trim()
    .split("\n")
    .pop();
  // --no-save leaves package.json and package-lock.json alone; --offline: Vite is already
  // installed, the tarball is local, nothing needs the registry.
  execFileSync(
    "npm",
    ["install", "--no-save", "--offline", "--no-audit", "--no-fund", "--silent", join(WORK, name)],
    { cwd: APP, stdio: "inherit" },
  );
}

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
};

/** A static file server for a built dist/, on a port the OS picks. */
function serveStatic(dir) {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, "http://x").pathname));
    let file = join(dir, path);
    if (!file.startsWith(dir) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    if (statSync(file).isDirectory()) file = join(file, "index.html");
    res.writeHead(200, { "content-type": MIME[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

/** Opens the page, waits for both round trips, and returns its results and any problems. */
async function runPage(url) {
  const page = await browser.newPage();
  const problems = [];
  // An uncaught error (e.g. the module failed to load) means the page will never finish.
  let pageFailed;
  const failed = new Promise((_, reject) => {
    pageFailed = reject;
  });
  failed.catch(() => {}); // handled by the race below; may reject before the race starts
  page.on("pageerror", (e) => {
    problems.push(`page error: ${e.message}`);
    pageFailed(new Error("uncaught error in the page"));
  });
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  const wasm = [];
  page.on("response", (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
    if (r.url().includes(".wasm")) wasm.push(r.headers()["content-type"]);
  });
  try {
    await page.goto(`${url}?ws=${encodeURIComponent(wsEndpoint)}`);
    await Promise.race([
      page.waitForFunction(() => window.__isomq?.done, null, { timeout: PATIENCE, polling: 50 }),
      failed,
    ]).catch((e) => {
      // The page never finished: what went wrong on the way is the useful part.
      throw new Error(`${e.message}\n${problems.join("\n")}`);
    });
    const result = await page.evaluate(() => structuredClone(window.__isomq));
    return { result, problems, wasm };
  } finally {
    await page.close();
  }
}

function check({ result, problems, wasm }) {
  assert.deepEqual(result.errors, [], "the page failed");
  assert.deepEqual(result.inproc, ["bundled", "inproc"], "inproc PUSH→PULL round trip");
  assert.deepEqual(result.ws, ["bundled", "ws"], "ws:// REQ→REP round trip with the native CLI");
  assert.deepEqual(problems, []);
  // The module fetched its WebAssembly (rather than, say, an inlined copy or nothing).
  assert.deepEqual(wasm, ["application/wasm"], "exactly one .wasm fetched, as application/wasm");
}

before(async () => {
  installPackedPackage();
  const started = await spawnUntil(ISOMQ, ["cat", "rep", "--echo", "--bind", "ws://127.0.0.1:*/vite"], /bound (\S+)/);
  rep = started.proc;
  wsEndpoint = started.match;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  if (rep) await stop(rep);
});

test("vite build: the bundled page loads the wasm and makes inproc and ws:// round trips", async () => {
  const dist = `${WORK}/dist`;
  rmSync(dist, { recursive: true, force: true });
  execFileSync(VITE, ["build", "--outDir", dist, "--emptyOutDir"], { cwd: APP, stdio: "inherit" });
  const server = await serveStatic(dist);
  try {
    check(await runPage(`http://127.0.0.1:${server.address().port}/`));
  } finally {
    server.close();
  }
});

test("vite dev server: the page loads the wasm and makes inproc and ws:// round trips", async () => {
  // --force: pre-bundle dependencies afresh, so a changed package is what runs.
  const dev = await spawnUntil(
    VITE,
    ["--host", "127.0.0.1", "--port", "0", "--strictPort", "--force", "--clearScreen", "false"],
    /Local:\s+(http:\/\/\S+)/,
    { cwd: APP },
  );
  try {
    check(await runPage(dev.match));
  } finally {
    await stop(dev.proc);
  }
});

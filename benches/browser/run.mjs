// The browser receive benchmark: how many 16-byte messages a page receives per second from
// a native PUB over ws://, with standard ZWS 2.0, with isomq's batch extension
// (docs/wire.md §10.9), and on a bare WebSocket page that speaks ZWS 2.0 by hand with no
// isomq (the ceiling for standard ZWS). Results go in benches/RESULTS.md.
//
//   node benches/browser/run.mjs [--seconds 5] [--warm 1] [--rounds 3] [--modes zws,bare,batch]
//
// Chromium (Debian's, /usr/bin/chromium) is started directly, headless, one fresh profile
// per run: a browser driven through its devtools protocol (Playwright) receives 2-4x slower.
// The page (page.html) counts for `seconds` after `warm` seconds of traffic and POSTs its
// figure back to this process. The publisher (benches/src/bin/browser_pub.rs, built here in
// release) sends as fast as the page takes: XPUB_NODROP, so it waits instead of dropping.

import { execFileSync, spawn } from "node:child_process";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { extname, join, normalize } from "node:path";
import { createInterface } from "node:readline";

import { CHROMIUM_FLAGS } from "../../tests/browser/harness.mjs";

const ROOT = new URL("../..", import.meta.url).pathname;
const PUB = `${ROOT}target/release/browser_pub`;
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ALL_MODES = ["zws", "bare", "batch", "batch-drain", "batch-each"];

function option(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const SECONDS = Number(option("seconds", "5"));
const WARM = Number(option("warm", "1"));
const ROUNDS = Number(option("rounds", "3"));
const MODES = option("modes", ALL_MODES.join(",")).split(",");

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".wasm": "application/wasm" };

/** Serves the page and the package's files; resolves each POST /result to `onResult`. */
function serve(onResult) {
  const server = createServer((req, res) => {
    const path = new URL(req.url, "http://x").pathname;
    if (req.method === "POST" && path === "/result") {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        res.end("ok");
        onResult(JSON.parse(body));
      });
      return;
    }
    const file =
      path === "/bench.html" ? `${ROOT}benches/browser/page.html` : normalize(join(ROOT, path));
    if (!(file.startsWith(`${ROOT}js/`) || file.endsWith("page.html")) || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[extname(file)] ?? "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** Starts the publisher; resolves with { proc, endpoint } once it is bound. */
function publisher(seconds) {
  const proc = spawn(PUB, ["ws://127.0.0.1:*/feed", String(seconds)], { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on("line", (line) => {
      const m = line.match(/^bound (\S+)/);
      if (m) resolve({ proc, endpoint: m[1] });
    });
    proc.on("exit", (code) => reject(new Error(`browser_pub exited (${code})`)));
  });
}

function stop(proc) {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.on("exit", resolve);
    proc.kill("SIGKILL");
  });
}

/** One page load in a fresh headless Chromium; resolves with what the page reported. */
async function runOnce(server, mode) {
  const results = server.results;
  const pub = await publisher(WARM + SECONDS + 30);
  const profile = mkdtempSync(join(tmpdir(), "isomq-bench-"));
  const page =
    `http://127.0.0.1:${server.address().port}/bench.html?mode=${mode}` +
    `&ws=${encodeURIComponent(pub.endpoint)}&secs=${SECONDS}&warm=${WARM}`;
  const chromium = spawn(
    CHROMIUM,
    [
      "--headless",
      ...CHROMIUM_FLAGS,
      `--user-data-dir=${profile}`,
      page,
    ],
    // Its own process group: Chromium's helper processes go with it.
    { stdio: "ignore", detached: true },
  );
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${mode}: no result`)), (WARM + SECONDS + 60) * 1000);
      results.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  } finally {
    const gone = new Promise((resolve) => chromium.on("exit", resolve));
    try {
      process.kill(-chromium.pid, "SIGKILL");
    } catch {
      // Already gone.
    }
    if (chromium.exitCode === null && chromium.signalCode === null) await gone;
    await stop(pub.proc);
    rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main() {
  execFileSync("cargo", ["build", "--release", "-p", "isomq-benches", "--bin", "browser_pub"], {
    cwd: ROOT,
    stdio: "inherit",
  });
  if (!existsSync(`${ROOT}js/wasm/isomq_wasm_bg.wasm`)) {
    execFileSync(`${ROOT}scripts/build-wasm`, { cwd: ROOT, stdio: "inherit" });
  }
  readFileSync(CHROMIUM); // fails early, with the path, when Chromium is missing
  const results = { waiting: null };
  const server = await serve((r) => results.waiting?.(r));
  server.results = results;
  const rates = Object.fromEntries(MODES.map((m) => [m, []]));
  const dropped = Object.fromEntries(MODES.map((m) => [m, 0]));
  // Rounds interleave the modes, so that a change in the machine's load hits all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of MODES) {
      const r = await runOnce(server, mode);
      if (r.error) throw new Error(`${mode}: ${r.error}`);
      rates[mode].push(r.rate);
      dropped[mode] += r.dropped;
      console.log(`round ${round + 1} ${mode}: ${Math.round(r.rate)} msgs/s, dropped ${r.dropped}`);
    }
  }
  server.close();
  const bare = rates.bare ? median(rates.bare) : null;
  console.log(`\n16-byte messages, ${SECONDS} s per run, median of ${ROUNDS} runs (range)\n`);
  console.log("| mode | msgs/s | range | vs bare page | dropped |");
  console.log("|---|---:|---:|---:|---:|");
  for (const mode of MODES) {
    const m = median(rates[mode]);
    const lo = Math.min(...rates[mode]);
    const hi = Math.max(...rates[mode]);
    const ratio = bare ? `${(m / bare).toFixed(2)}×` : "";
    console.log(
      `| ${mode} | ${Math.round(m).toLocaleString("en")} | ` +
        `${Math.round(lo).toLocaleString("en")}–${Math.round(hi).toLocaleString("en")} | ${ratio} | ${dropped[mode]} |`,
    );
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});

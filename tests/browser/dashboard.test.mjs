// The live dashboard in a real browser (Debian's Chromium driven by playwright-core): the
// page's WebAssembly SUB socket receives what the native publisher sends through the
// gateway, subscriptions follow the topic checkboxes, a command from the page reaches the
// native side, and the page recovers when the gateway restarts.
//
//   node --test tests/browser/   (scripts/test builds the dashboard and the package first)

import { spawnSync } from "node:child_process";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  ARTIFACTS,
  ROOT,
  launchBrowser,
  startDashboard,
  stop,
  until,
  watchedPage,
} from "./harness.mjs";

const state = (page) => page.evaluate(() => structuredClone(window.__dashboard));

test("dashboard: live charts, topics, commands, gateway restart", async () => {
  // The gateway's CURVE key outlives a restart, as a deployed one's would: open pages keep
  // the public key they were given.
  const keygen = spawnSync(process.env.ISOMQ_BIN ?? `${ROOT}target/debug/isomq`, ["keygen"], { encoding: "utf8" });
  const secret = keygen.stdout.match(/^secret (.{40})$/m)[1];
  let dash = await startDashboard(["--curve-secret", secret]);
  const browser = await launchBrowser();
  const problems = [];
  try {
    const page = await watchedPage(browser, problems);
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
    const beforeRestart = problems.length;
    dash = await startDashboard(["--ws-port", dash.wsPort, "--curve-secret", secret]);
    await until(page, () => window.__dashboard.connected);
    // While the gateway is down the page's reconnection attempts are refused, and Chromium
    // logs each refusal on the console: expected then, and only then.
    const refused = /^console: WebSocket connection to 'ws:\/\/127\.0\.0\.1:\d+\/(metrics|control)' failed: .*ERR_CONNECTION_REFUSED$/;
    const during = problems.splice(beforeRestart);
    problems.push(...during.filter((p) => !refused.test(p)));
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

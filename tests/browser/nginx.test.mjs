// The dashboard deployed behind nginx as gateway-examples/deploy/nginx.conf describes,
// with that very file: Debian's nginx terminates TLS (a test CA's certificate), Chromium
// loads the page over https and its sockets connect over wss:// to nginx, which passes
// the WebSocket upgrades to the dashboard's native ws:// listener. Metrics from the native
// PUB reach the page, and a command from the page reaches the native side.
//
//   node --test tests/browser/nginx.test.mjs   (scripts/test installs nginx and builds)

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, exerciseSecureDashboard, launchBrowser, startDashboard, stop, watchedPage } from "./harness.mjs";
import { holdFreePort, startNginx, testCertificates } from "./nginx.mjs";

const SITE = `${ROOT}gateway-examples/deploy/nginx.conf`;

test("dashboard behind nginx: https page, wss:// sockets proxied to native ws://", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isomq-nginx-"));
  const tls = testCertificates(dir);
  const held = await holdFreePort();
  const origin = `https://127.0.0.1:${held.port}`;
  // Only pages from nginx's origin may open the sockets: the Origin header must pass
  // through nginx for the page to connect at all.
  const dash = await startDashboard(["--behind-proxy", "--ws-origin", origin]);
  let nginx;
  let browser;
  const problems = [];
  try {
    await held.release();
    nginx = await startNginx(dir, SITE, {
      LISTEN: `127.0.0.1:${held.port}`,
      SERVER_NAME: "127.0.0.1",
      TLS_CERT: tls.chain,
      TLS_KEY: tls.key,
      DASHBOARD_HTTP: dash.httpAddr,
      DASHBOARD_WS: `127.0.0.1:${dash.wsPort}`,
    });
    // Chromium trusts the test CA by its key (the server presents the CA in its chain).
    browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.caSpki}`]);
    const page = await watchedPage(browser, problems);
    await page.goto(`${origin}/`);

    // The sockets are nginx's; a command travels page → nginx → native PULL.
    await exerciseSecureDashboard(page, dash, `127.0.0.1:${held.port}`, "dashboard-nginx.png");
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
    // SIGTERM: nginx's master stops its workers before it exits (SIGKILL would orphan them).
    if (nginx) await stop(nginx, "SIGTERM");
    await stop(dash.proc);
    rmSync(dir, { recursive: true, force: true });
  }
});

// The dashboard with TLS of its own: Chromium loads the page over https from the dashboard's
// web server and its sockets connect over wss:// straight to the native XPUB and PULL, whose
// TLS is isomq's (rustls on the I/O threads), with a certificate from a CA the test makes.
// Metrics from the native PUB reach the page, and a command from the page reaches native.
//
//   node --test tests/browser/wss.test.mjs   (scripts/test installs Chromium and builds)

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exerciseSecureDashboard, launchBrowser, startDashboard, stop, watchedPage } from "./harness.mjs";
import { testCertificates } from "./nginx.mjs";

test("dashboard over https with native wss:// sockets", async () => {
  const dir = mkdtempSync(join(tmpdir(), "isomq-wss-"));
  const tls = testCertificates(dir);
  const dash = await startDashboard(["--tls-cert", tls.chain, "--tls-key", tls.key]);
  let browser;
  const problems = [];
  try {
    assert.match(dash.url, /^https:\/\/127\.0\.0\.1:\d+\/?$/);
    // Chromium trusts the test CA by its key (the server presents the CA in its chain).
    browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${tls.caSpki}`]);
    const page = await watchedPage(browser, problems);
    await page.goto(dash.url);

    // The sockets are the dashboard's own, with isomq's TLS.
    await exerciseSecureDashboard(page, dash, `127.0.0.1:${dash.wsPort}`, "dashboard-wss.png");
    assert.deepEqual(problems, []);
  } finally {
    await browser?.close();
    await stop(dash.proc);
    rmSync(dir, { recursive: true, force: true });
  }
});

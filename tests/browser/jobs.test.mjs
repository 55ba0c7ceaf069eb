// The job-queue example in a real browser: jobs sent by the page's REQ socket (WebAssembly,
// over ws://) reach native REP workers through a native ROUTER/DEALER broker, and every
// result comes back to the page.

import { test } from "node:test";
import assert from "node:assert/strict";
import { ARTIFACTS, ROOT, launchBrowser, startExample, stop, until, watchedPage } from "./harness.mjs";

const JOBS = process.env.ISOMQ_JOBS_BIN ?? `${ROOT}target/debug/jobs`;

test("jobs: browser REQ → native broker → native workers and back", async () => {
  const { proc, match } = await startExample(JOBS, ["--workers", "3"], {
    url: /isomq jobs: (http:\/\/\S+)/,
  });
  const browser = await launchBrowser();
  const problems = [];
  try {
    const page = await watchedPage(browser, problems);
    await page.goto(match.url);
    await until(page, () => window.__jobs?.connected);
    await page.fill("#text", "hello brokerless world");
    await page.click("#submit");
    await until(page, () => window.__jobs.results.length === 1);
    const [first] = await page.evaluate(() => window.__jobs.results);
    assert.equal(first.words, 3);
    assert.equal(first.upper, "HELLO BROKERLESS WORLD");
    assert.equal(first.reversed, "dlrow sselrekorb olleh");

    await page.click("#burst");
    await until(page, () => window.__jobs.results.length === 6);
    const results = await page.evaluate(() => window.__jobs.results);
    // Each reply answers its own request (REQ/REP envelopes through ROUTER/DEALER).
    results.slice(1).forEach((r, i) => {
      assert.equal(r.job, `hello brokerless world #${i + 1}`);
      assert.equal(r.upper, r.job.toUpperCase());
    });
    // The DEALER spread the jobs over more than one worker.
    assert.ok(new Set(results.map((r) => r.worker)).size > 1, JSON.stringify(results));
    await page.screenshot({ path: `${ARTIFACTS}/jobs.png`, fullPage: true });
    assert.deepEqual(await page.evaluate(() => window.__jobs.errors), []);
    assert.deepEqual(problems, []);
  } finally {
    await browser.close();
    await stop(proc);
  }
});

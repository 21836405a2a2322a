// "Nothing leaves the machine", proven: no request off the page's own static
// assets, none at all after load, and the page works with the network off.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, chooseFolder, shot, SAMPLE, requireSample, watchConsole } from "./harness.mjs";

let srv, browser;
before(async () => { requireSample(); srv = await startServer("/fineprint/"); browser = await launch(); });
after(async () => { await browser?.close(); srv?.stop(); });

async function generate(page, max) {
  await page.waitForSelector("[data-testid=chat]");
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  await page.evaluate(() => { document.querySelector("details.settings").open = true; });
  await page.fill("#temperature", "0"); await page.press("#temperature", "Tab");
  await page.fill("#max-tokens", String(max)); await page.press("#max-tokens", "Tab");
  await page.fill("#prompt", "Name three colours.");
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, null, { timeout: 300000 });
  return (await page.getAttribute("[data-testid=stats]", "data-ids")).split(",").length;
}

test("a full run (drop, report, 32 tokens) requests nothing after the page has loaded, all from its own origin, under a sub-path", async () => {
  const requests = [];
  browser.context.on("request", (r) => requests.push({ url: r.url(), at: Date.now() }));
  const page = await browser.context.newPage();
  const errors = watchConsole(page);
  await page.goto(srv.url, { waitUntil: "networkidle" });
  await page.waitForSelector("#try-sample");
  await page.waitForTimeout(1500); // the worker's wasm and the service worker settle
  const loaded = requests.length;
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("[data-testid=verdict]");
  const n = await generate(page, 32);
  assert.ok(n >= 1);
  const after = requests.slice(loaded);
  assert.deepEqual(after.map((r) => r.url), [], "requests after load");
  for (const r of requests) assert.ok(r.url.startsWith(srv.url), `off-site or outside the sub-path: ${r.url}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test("offline: after one visit the page loads, checks a folder and generates with the network off", async () => {
  const page = await browser.context.newPage();
  await page.goto(srv.url, { waitUntil: "networkidle" });
  await page.waitForFunction(async () => !!(await navigator.serviceWorker.ready).active, null, { timeout: 30000 });
  await page.waitForTimeout(1000);
  await page.close();
  await browser.context.setOffline(true);
  try {
    const p2 = await browser.context.newPage();
    await p2.goto(srv.url);
    await p2.waitForSelector("#try-sample", { timeout: 30000 });
    assert.match(await p2.textContent("[data-testid=privacy]"), /offline · nothing leaves this device/);
    await chooseFolder(p2, SAMPLE);
    await p2.waitForSelector("[data-testid=verdict]");
    assert.match(await p2.textContent("[data-testid=verdict]"), /OSI-approved/);
    assert.ok((await generate(p2, 8)) >= 1);
    await shot(p2, "20-offline");
    await p2.close();
  } finally {
    await browser.context.setOffline(false);
  }
});

// "Keep on this device": the sample folder stored in the Origin Private File
// System, listed with its size after a reload, opened and loaded from there
// without re-dropping (same report, same model), then removed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, chooseFolder, requireSample, SAMPLE, shot } from "./harness.mjs";

let srv, browser;
before(async () => { requireSample(); srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); srv?.stop(); });

test("a kept model survives a reload and loads from the device, offline too", async () => {
  const { page, errors } = await openPage(browser.context, srv.url);
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("[data-testid=verdict]");
  await page.click("#keep");
  await page.waitForFunction(() => /^Kept /.test(document.querySelector("[data-testid=kept-status]")?.textContent || ""), null, { timeout: 120000 });
  await page.waitForSelector("[data-testid=kept-model][data-name='SmolLM2-135M-Instruct']");

  await page.reload();
  await page.waitForSelector("[data-testid=kept-model][data-name='SmolLM2-135M-Instruct']", { timeout: 30000 });
  const line = await page.textContent("[data-testid=kept-model]");
  const gguf = statSync(join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf")).size;
  assert.match(line, /3 files/);
  assert.match(await page.textContent("[data-testid=quota]"), /used of/);
  await page.click("[data-testid=kept-model] .kept-open");
  await page.waitForSelector("[data-testid=verdict]");
  assert.match(await page.textContent("[data-testid=verdict]"), /OSI-approved/);
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  const ready = await page.textContent("[data-testid=model-ready]");
  assert.match(ready, /Q4_1/);
  const info = await page.evaluate(async () => {
    const kept = await (await navigator.storage.getDirectory()).getDirectoryHandle("kept");
    const dir = await kept.getDirectoryHandle("SmolLM2-135M-Instruct");
    return (await (await dir.getFileHandle("SmolLM2-135M-Instruct.Q4_1.gguf")).getFile()).size;
  });
  assert.equal(info, gguf, "the kept GGUF is the whole file");
  await shot(page, "30-kept");

  // Offline: the page from its service worker, the model from the device.
  await page.waitForFunction(async () => !!(await navigator.serviceWorker.ready).active, null, { timeout: 30000 });
  await browser.context.setOffline(true);
  try {
    await page.reload();
    await page.waitForSelector("[data-testid=kept-model][data-name='SmolLM2-135M-Instruct']", { timeout: 30000 });
    await page.click("[data-testid=kept-model] .kept-open");
    await page.waitForSelector("[data-testid=verdict]");
    if (!(await page.isChecked("#ack"))) await page.check("#ack");
    await page.click("#load-model");
    await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
    await page.evaluate(() => { document.querySelector("details.settings").open = true; });
    await page.fill("#max-tokens", "8");
    await page.press("#max-tokens", "Tab");
    await page.fill("#prompt", "Say hello.");
    await page.click("#send");
    await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, null, { timeout: 120000 });
    assert.ok((await page.getAttribute("[data-testid=stats]", "data-ids")).split(",").length >= 1);
  } finally {
    await browser.context.setOffline(false);
  }

  await page.click("[data-testid=kept-model] .kept-remove");
  await page.waitForFunction(() => !document.querySelector("[data-testid=kept-model]"), null, { timeout: 30000 });
  assert.deepEqual(errors, []);
  await page.close();
});

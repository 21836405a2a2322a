// The two builds of the model worker: the plain page (first visit, no service
// worker yet) runs single-threaded; once the service worker serves the page
// with COOP/COEP, the reloaded page is cross-origin isolated and runs the
// threaded build. Both produce the golden tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, shot, requireSample, sampleReply, goldenSample, SAMPLE } from "./harness.mjs";

let srv, browser;
before(async () => { requireSample(); srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); srv?.stop(); });

const golden = goldenSample();

test("the plain page runs one thread, the isolated page every core, with the same golden tokens", async () => {
  // A fresh profile (launch() makes one per file): no service worker yet.
  const { page, errors } = await openPage(browser.context, srv.url);
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  assert.equal(await page.evaluate(() => crossOriginIsolated), false, "a first visit has no service worker to isolate it");
  const plain = await sampleReply(page, golden.userMessage, 32);
  assert.equal(plain.threads, 1);
  // Chromium has shipped relaxed SIMD since 114: the loaders' probe picks the
  // relaxed builds (firefox.test.mjs logs what Firefox gets).
  assert.equal(plain.simd, "relaxed");
  // It timed relaxed SIMD's two dot products and kept one (which depends on the CPU).
  for (const sums of [plain.sums.token, plain.sums.prompt]) {
    assert.match(sums ?? "", /^i(16|32)$/, "the relaxed build chose how to sum its dot products, for a token and a prompt");
  }
  assert.deepEqual(plain.ids, golden.ids.slice(0, 32), "the plain relaxed-SIMD build's greedy tokens");

  // The service worker now controls the origin: the reload comes with COOP/COEP.
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  await page.waitForSelector("#try-sample");
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the service worker's headers isolate the page");
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  const threaded = await sampleReply(page, golden.userMessage, 32);
  assert.equal(threaded.threads, Math.min(Math.max(cores, 1), 8));
  assert.ok(threaded.threads >= 2, `this machine reports ${cores} cores: the threaded build cannot be told from the plain one`);
  assert.match(await page.textContent("[data-testid=engine]"), /threads/);
  assert.equal(threaded.simd, "relaxed");
  for (const sums of [threaded.sums.token, threaded.sums.prompt]) assert.match(sums ?? "", /^i(16|32)$/);
  assert.deepEqual(threaded.ids, golden.ids.slice(0, 32), "the threaded build's greedy tokens");
  const gguf = statSync(join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf")).size;
  assert.ok(threaded.memory > gguf && threaded.memory <= 1.3 * gguf,
    `threaded worker memory ${threaded.memory} for a ${gguf}-byte model (${(threaded.memory / gguf).toFixed(2)}x)`);
  // The threaded worker and its helpers fetch only from the page's origin.
  const workerFiles = requests.map((u) => new URL(u).pathname.split("/").pop()).filter((f) => /^worker.*wasm$/.test(f));
  assert.ok(workerFiles.includes("worker-mt-relaxed_bg.wasm"), "the threaded relaxed build was fetched");
  assert.ok(workerFiles.every((f) => f.includes("-relaxed")), `only relaxed builds were fetched: ${workerFiles}`);
  for (const url of requests) assert.ok(url.startsWith(srv.origin) || url.startsWith("blob:") || url.startsWith("data:"), `off-site: ${url}`);
  await shot(page, "50-threads");
  assert.deepEqual(errors, []);
  await page.close();
});

// An engine that has relaxed SIMD but cannot get the relaxed build (a static
// host that dropped the file, say): the loader falls back to the simd128
// build, which gives the golden tokens. No service worker here, so every
// request reaches the network and the route below.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startServer, launch, openPage, requireSample, sampleReply, goldenSample } from "./harness.mjs";

let srv, browser;
before(async () => { requireSample(); srv = await startServer(); browser = await launch({ serviceWorkers: "block" }); });
after(async () => { await browser?.close(); srv?.stop(); });

const golden = goldenSample();

test("a relaxed-SIMD build that does not load gives way to the simd128 build, with the golden tokens", async () => {
  const refused = [];
  await browser.context.route(/worker(-mt)?-relaxed_bg\.wasm$/, (route) => {
    refused.push(new URL(route.request().url()).pathname);
    return route.fulfill({ status: 404, body: "not here" });
  });
  const { page } = await openPage(browser.context, srv.url);
  const reply = await sampleReply(page, golden.userMessage, 32);
  assert.ok(refused.some((p) => p.endsWith("/worker-relaxed_bg.wasm")), `the relaxed build was asked for first: ${refused}`);
  assert.equal(reply.simd, "simd128");
  assert.deepEqual(reply.sums, { token: null, prompt: null }, "the simd128 build has no relaxed dot product to choose");
  assert.deepEqual(reply.ids, golden.ids.slice(0, 32), "the simd128 build's greedy tokens");
  assert.equal(await page.locator("[data-testid=error]").count(), 0, "no error is shown");
  await page.close();
});

// Trying the model in the page: gated by the license, loaded from the dropped
// folder in the worker, streaming greedy tokens that match the golden ones, Stop.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, shot, SHARED, requireSample, chooseFolder, setSampling, SAMPLE } from "./harness.mjs";

let srv, browser;
before(async () => { requireSample(); srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); srv?.stop(); });

const golden = JSON.parse(readFileSync(join(SHARED, "fixtures/golden/smollm2-135m-q4_1.json"), "utf8"));
const promptText = readFileSync(join(SHARED, "fixtures/golden/prompt.txt"), "utf8");
// The golden prompt is SmolLM2's own template around one user message (with its default system line).
const userMessage = promptText.split("<|im_start|>user\n")[1].split("<|im_end|>")[0];

async function loadSample(page) {
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("[data-testid=chat]");
  assert.match(await page.textContent("[data-testid=chat]"), /tick the box/);
  assert.equal(await page.$("#load-model"), null, "the chat stays closed until the license is acknowledged");
  await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
}

test("greedy generation in the worker matches the golden tokens, and the acknowledgement is remembered", async () => {
  const { page, errors } = await openPage(browser.context, srv.url);
  await loadSample(page);
  const ready = await page.textContent("[data-testid=model-ready]");
  assert.match(ready, /llama/);
  // A long chat's cache steps down to fewer bits, and the page says when.
  assert.match(ready, /per 1,000 tokens of conversation \([\d.]+ [KM]B per 1,000 once the cache passes [\d.]+ [KM]B/);
  await setSampling(page, { "#temperature": 0, "#repeat-penalty": 1, "#max-tokens": 32 });
  await page.fill("#prompt", userMessage);
  await page.click("#send");
  // Tokens stream in before generation ends.
  await page.waitForFunction(() => (document.querySelector(".msg.assistant p")?.textContent || "").length > 0, null, { timeout: 120000 });
  // The streaming reply is one node updated in place, not re-created per token.
  const replyNode = await page.$(".msg.assistant p");
  await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, null, { timeout: 300000 });
  assert.ok(await replyNode.evaluate((n) => n.isConnected), "the reply's node was replaced while streaming");
  assert.match(await replyNode.textContent(), /^A relaxing and enjoyable plan/);
  const ids = (await page.getAttribute("[data-testid=stats]", "data-ids")).split(",").map(Number);
  assert.deepEqual(ids.slice(0, 32), golden.first_generated_ids.slice(0, 32));
  const stats = await page.textContent("[data-testid=stats]");
  assert.match(stats, /prompt 110 tokens/);
  assert.match(stats, /cache f16$/, "a short chat keeps llama.cpp's default cache");
  // The worker's wasm memory never shrinks, so after the run it is the peak.
  const memory = Number(await page.getAttribute("[data-testid=stats]", "data-memory"));
  const gguf = statSync(join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf")).size;
  assert.ok(memory > gguf && memory <= 1.3 * gguf, `worker memory ${memory} for a ${gguf}-byte model (${(memory / gguf).toFixed(2)}x)`);
  assert.match(await page.textContent(".msg.assistant p"), /^A relaxing and enjoyable plan for Saturday and Sunday/);
  await shot(page, "10-chat-golden");
  assert.deepEqual(errors, []);
  // Acknowledged once per model: a reload keeps the chat open.
  await page.reload();
  await page.waitForSelector("#try-sample");
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("#load-model");
  await page.close();
});

test("Stop ends generation at once and the chat stays usable", async () => {
  const { page } = await openPage(browser.context, srv.url);
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("[data-testid=chat]");
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  await setSampling(page, { "#temperature": 0.8, "#repeat-penalty": 1.1, "#max-tokens": 400 });
  await page.fill("#prompt", "Write a long story about a lighthouse keeper.");
  await page.click("#send");
  await page.waitForFunction(() => (document.querySelector(".msg.assistant p")?.textContent || "").split(" ").length > 5, null, { timeout: 120000 });
  await page.click("#stop");
  await page.waitForSelector("[data-testid=notice]", { timeout: 10000 });
  assert.match(await page.textContent("[data-testid=notice]"), /Stopped/);
  const ids = (await page.getAttribute("[data-testid=stats]", "data-ids")).split(",");
  assert.ok(ids.length < 400, `stopped after ${ids.length} tokens`);
  const text = await page.textContent(".msg.assistant p");
  await page.waitForTimeout(1500);
  assert.equal(await page.textContent(".msg.assistant p"), text, "no token arrives after Stop");
  // The conversation continues with the cached context.
  await setSampling(page, { "#temperature": 0, "#repeat-penalty": 1, "#max-tokens": 8 });
  await page.fill("#prompt", "Thanks!");
  await page.click("#send");
  await page.waitForFunction(() => document.querySelectorAll(".msg.assistant").length === 2 && !document.querySelector("#stop:not([disabled])"), null, { timeout: 120000 });
  await shot(page, "11-chat-stopped");
  await page.close();
});

test("a long chat steps the cache down and what it adds to the worker's memory is the last rung's cache", async () => {
  // Turns of a greedy conversation to 2,000 tokens: the sample's f16
  // cache, then its 8-bit one, pass the budget on the way (set from the
  // worker's own memory once loaded), and the cache ends with 8-bit keys and
  // 4-bit values. The worker's wasm memory (which never shrinks, so it is the
  // peak) grows by about that last rung's cache (9.4 KB a token, in chunks of
  // 256 positions): an f16 cache would add 2.5 times as much, an 8-bit one
  // 1.3 times. The whole stays within 1.3x the file (tests/memory.rs holds
  // the same natively), besides the stacks of a threaded build's pool: 2 MiB
  // a thread, wasm-bindgen's default (README, "A cache that steps down").
  const { page, errors } = await openPage(browser.context, srv.url);
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("[data-testid=chat]");
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  const loaded = Number(await page.getAttribute("[data-testid=stats]", "data-memory"));
  const bytes = (n, unit) => Number(n) * { B: 1, KB: 1e3, MB: 1e6 }[unit];
  const cacheTerms = async () => {
    const ready = await page.textContent("[data-testid=model-ready]");
    const [, perThousand, unit, budget, budgetUnit] = ready.match(/\(([\d.]+) ([KM]B) per 1,000 once the cache passes ([\d.]+) (K?M?B):/);
    return { lastRung: bytes(perThousand, unit) / 1000, budget: bytes(budget, budgetUnit) };
  };
  const { lastRung, budget } = await cacheTerms();
  await setSampling(page, { "#temperature": 0, "#repeat-penalty": 1 });
  let [total, stats] = [0, ""];
  for (let turn = 1; total < 2000 && turn <= 40; turn++) {
    // The last turn is cut to end the chat near 2,000 tokens, not a chunk of the cache past them.
    await setSampling(page, { "#max-tokens": Math.max(1, Math.min(400, 1980 - total)) });
    await page.fill("#prompt", turn === 1 ? "Write the numbers from 1 to 3000 in words, one per line." : "Go on from where you stopped.");
    await page.click("#send");
    await page.waitForFunction((n) => document.querySelectorAll(".msg.assistant").length === n
      && /new tokens/.test(document.querySelector("[data-testid=stats]")?.textContent || "")
      && !document.querySelector("#stop:not([disabled])"), turn, { timeout: 300000, polling: 200 });
    stats = await page.textContent("[data-testid=stats]");
    total += [/prompt (\d+) tokens/, /(\d+) new tokens/].map((r) => Number(stats.match(r)[1])).reduce((a, b) => a + b);
  }
  console.log(`sample: ${total} tokens of conversation: ${stats}`);
  assert.ok(total >= 2000, `the chat ended after ${total} tokens: ${stats}`);
  assert.match(stats, /cache q8_0 keys, q4_0 values$/);
  const memory = Number(await page.getAttribute("[data-testid=stats]", "data-memory"));
  const gguf = statSync(join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf")).size;
  console.log(`sample worker memory through the long chat: ${memory} (${(memory / gguf).toFixed(2)}x the file)`);
  console.log(`sample worker memory once loaded: ${loaded} (${(loaded / gguf).toFixed(2)}x the file)`);
  const reserved = Math.ceil(total / 256) * 256 * lastRung;
  console.log(`the chat added ${memory - loaded} bytes; the last rung's cache reserves ${reserved}`);
  assert.ok(memory - loaded <= 1.1 * reserved, `the chat added ${memory - loaded} bytes to the worker for a last-rung cache of ${reserved}`);
  await page.waitForSelector("[data-testid=engine]", { timeout: 60000 });
  const threads = Number(await page.getAttribute("[data-testid=engine]", "data-threads"));
  const stacks = threads > 1 ? threads * 2 * 1024 * 1024 : 0;
  assert.ok(total <= 2048, `the chat ran to ${total} tokens, past the eighth chunk of the cache`);
  assert.ok(memory - stacks <= 1.3 * gguf, `through ${total} tokens the worker holds ${memory} bytes (${threads} threads) for a ${gguf}-byte model`);
  // The same model again in the same worker: its memory (which never
  // shrinks) still holds the first load's pages, free again, and the new
  // load must not count them against its cache's budget.
  await chooseFolder(page, SAMPLE);
  await page.waitForSelector("#load-model");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  const again = await cacheTerms();
  console.log(`cache budget: first load ${budget}, second ${again.budget}`);
  assert.ok(again.budget >= budget, `a second load's cache budget ${again.budget} against the first's ${budget}`);
  assert.deepEqual(errors, []);
  await page.close();
});

// Hostile and broken folders, generated here: each gets a message naming the
// file, the page stays usable, and a good folder checks fine afterwards.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, mkdirSync, writeFileSync, openSync, readSync, closeSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, chooseFolder, makeFolder, shot, SHARED, SAMPLE, requireSample } from "./harness.mjs";
import { ggufHeader, writeSparse } from "./gguf.mjs";

let srv, browser, page, errors;
before(async () => {
  requireSample();
  srv = await startServer();
  browser = await launch();
  ({ page, errors } = await openPage(browser.context, srv.url));
});
after(async () => { await browser?.close(); srv?.stop(); });

const sampleGguf = join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf");
function head(bytes) {
  const b = Buffer.alloc(bytes);
  const fd = openSync(sampleGguf, "r");
  readSync(fd, b, 0, bytes, 0);
  closeSync(fd);
  return b;
}
const apache = readFileSync(join(SAMPLE, "LICENSE"));
const tinyTokenizer = JSON.stringify({
  version: "1.0", truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null,
  model: { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab: { a: 0, b: 1, ab: 2 }, merges: [["a", "b"]] },
});

/** Checks a folder, expects `message` in the problems or error; returns the page text. */
async function expectProblem(dir, message) {
  await chooseFolder(page, dir);
  await page.waitForFunction((m) => {
    const t = (document.querySelector("[data-testid=problems]")?.textContent || "") + (document.querySelector("[data-testid=error]")?.textContent || "");
    return t.includes(m);
  }, message, { timeout: 30000 });
}

/** Loads the folder's model in the worker and expects `message` as the load error. */
async function expectModelError(message) {
  await page.waitForSelector("[data-testid=chat]");
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-error]", { timeout: 60000 });
  const text = await page.textContent("[data-testid=model-error]");
  assert.match(text, message);
  return text;
}

const cases = [
  ["binary LICENSE", () => makeFolder("bin", { LICENSE: Buffer.from([0, 159, 146, 150, 0, 1, 2, 3]) }), "is a binary file"],
  ["empty LICENSE", () => makeFolder("empty", { LICENSE: "" }), "is empty"],
  ["invalid UTF-8 LICENSE", () => makeFolder("latin1", { LICENSE: Buffer.concat([Buffer.from("MIT License\n"), Buffer.from([0xff, 0xfe, 0xfd])]) }), "not UTF-8"],
  ["UTF-16 LICENSE", () => makeFolder("utf16", { LICENSE: Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("Apache License\r\nVersion 2.0", "utf16le")]) }), "UTF-16"],
  ["malformed front matter", () => makeFolder("yaml", { "README.md": "---\nlicense: [apache\n---\n# card\n" }), "not valid YAML"],
  ["unclosed front matter", () => makeFolder("yaml2", { "README.md": "---\nlicense: mit\n# card\n" }), "never closes"],
  ["invalid config.json", () => makeFolder("json", { "config.json": "{ nope", LICENSE: apache }), "is not valid JSON"],
  ["nothing license-like", () => makeFolder("nothing", { "notes.txt": "hello" }), "no license found"],
  ["truncated GGUF header", () => makeFolder("trunc", { "model.gguf": Buffer.from("GGUF\x03\x00\x00\x00\x00") }), "is truncated"],
  ["a zip named .gguf", () => makeFolder("zip", { "model.gguf": Buffer.from("PK\x03\x04 not a model") }), "not a GGUF"],
  ["GGUF with absurd counts", () => makeFolder("absurd", { "model.gguf": Buffer.concat([Buffer.from("GGUF"), Buffer.from([3, 0, 0, 0]), Buffer.alloc(8, 0xff), Buffer.alloc(8, 0xff)]) }), "is damaged"],
  ["60 MB text LICENSE", () => makeFolder("huge", { LICENSE: "All work and no play makes a license long. ".repeat(1_400_000) }), "only the first"],
  ["deep nesting", () => { const d = makeFolder("deep", { [Array.from({ length: 40 }, (_, i) => `d${i}`).join("/") + "/LICENSE"]: "x" }); return d; }, "does not recognise"],
  ["odd file names", () => makeFolder("odd", { "LICENSE (copy) ñ 模型.txt": "\u0000\u0001", "README.md": "# ☃ card" }), "is a binary file"],
];

for (const [what, make, message] of cases) {
  test(`hostile: ${what}`, async () => { await expectProblem(make(), message); });
}

test("hostile: 10 000 files are listed and checked", async () => {
  const files = { LICENSE: apache };
  for (let i = 0; i < 10000; i++) files[`shards/part-${String(i).padStart(5, "0")}.bin`] = "";
  const dir = makeFolder("many", files);
  await chooseFolder(page, dir);
  await page.waitForFunction(() => /10001 files/.test(document.querySelector("#files-h")?.textContent || ""), null, { timeout: 120000 });
  assert.match(await page.textContent("[data-testid=verdict]"), /OSI-approved/);
});

test("hostile: a model card with script and onerror payloads runs nothing", async () => {
  const dir = makeFolder("xss", {
    "README.md": "---\nlicense: mit\n---\n<script>window.__pwned = 1</script>\n<img src=x onerror=\"window.__pwned = 2\">\nlicensed under <b onmouseover=alert(1)>MIT</b>\n",
    LICENSE: "<script>window.__pwned = 3</script> MIT License\n\nPermission is hereby granted, free of charge, to any person obtaining a copy of this software",
  });
  await chooseFolder(page, dir);
  await page.waitForSelector("[data-testid=verdict]");
  await page.click("[data-testid=declared] button.link");
  await page.waitForSelector("[data-testid=viewer]");
  assert.match(await page.textContent("[data-testid=viewer]"), /<script>window.__pwned = 1<\/script>/);
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$("img[src=x]"), null);
});

test("hostile: a truncated model is refused by the worker, naming the file", async () => {
  const dir = makeFolder("cut-model", { LICENSE: apache, "cut.gguf": head(30 << 20) });
  await chooseFolder(page, dir);
  await expectModelError(/cut\.gguf is truncated/);
});

test("hostile: an unsupported architecture is refused at pre-flight", async () => {
  const dir = makeFolder("neox", { LICENSE: apache, "neox.gguf": ggufHeader({ "general.architecture": "gptneox", "general.name": "neox" }) });
  await chooseFolder(page, dir);
  await expectModelError(/"gptneox" model, which this tool cannot run; supported: llama/);
});

test("hostile: a model too big for wasm32 memory is refused before allocating", async () => {
  const dir = makeFolder("big", { LICENSE: apache });
  const size = 5 * 1024 ** 3;
  const header = ggufHeader({ "general.architecture": "llama", "llama.block_count": 1 }, [{ name: "blk.0.ffn_up.weight", dims: [65536, 65536], type: 8, offset: 0 }]);
  writeSparse(join(dir, "big.gguf"), header, size);
  await chooseFolder(page, dir);
  await expectModelError(/big\.gguf needs about \d+ MB of memory to run, more than the 3500 MB/);
});

test("hostile: a tokenizer.json from another model is refused, then the page still runs a good model", async () => {
  const dir = makeFolder("wrong-tok", { LICENSE: apache, "tokenizer.json": tinyTokenizer });
  writeFileSync(join(dir, "model.gguf"), readFileSync(sampleGguf));
  await chooseFolder(page, dir);
  await expectModelError(/tokenizer\.json does not belong to model\.gguf: it has 3 tokens, the model 49152/);
  await shot(page, "30-hostile-tokenizer");
  // The page is still usable: the sample folder checks and its model runs.
  await chooseFolder(page, SAMPLE);
  await page.waitForFunction(() => /SmolLM2/.test(document.querySelector("#files-h")?.textContent || ""));
  assert.match(await page.textContent("[data-testid=verdict]"), /OSI-approved/);
  if (!(await page.isChecked("#ack"))) await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  await page.evaluate(() => { document.querySelector("details.settings").open = true; });
  await page.fill("#max-tokens", "4"); await page.press("#max-tokens", "Tab");
  await page.fill("#prompt", "Hi");
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, null, { timeout: 120000 });
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
});

// The conformance set in the worker: the sample requantized into Q8_0, Q4_K
// and Q6_K mixes and F16 (scripts/requantized.sh), each dropped as a folder,
// loaded and run greedily on the golden prompt. The worker's 16 ids must be
// the native engine's (`fineprint run`, whose arithmetic the native
// conformance test holds against llama.cpp, teacher-forced) and llama.cpp's
// own ids — up to a step where the two engines' choices are a near-tie for
// both (8-bit activation rounding differs between builds and engines by a few
// tenths of a logit, so free-running text may fork there, and only there).
// The worker's memory once loaded is within 15% of the pre-flight estimate,
// and within 1.3x the file after the reply.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, chooseFolder, greedyReply, ROOT, SHARED } from "./harness.mjs";

const set = JSON.parse(readFileSync(join(ROOT, "tests/golden/requantized.json"), "utf8"));
const promptFile = join(SHARED, "fixtures/golden/prompt.txt");
const userMessage = readFileSync(promptFile, "utf8").split("<|im_start|>user\n")[1].split("<|im_end|>")[0];
// As in crates/inference/tests/conformance.rs: llama.cpp gaps below this are near-ties.
const DRIFT = 0.75;
// The debug build `cargo test` leaves (its numeric crates are optimised).
const CLI = ["release", "debug"].map((p) => join(ROOT, "target", p, "fineprint")).find(existsSync);

let srv, browser;
before(async () => {
  if (!CLI) throw new Error("no fineprint binary: run cargo build -p fineprint-cli");
  srv = await startServer();
  browser = await launch();
});
after(async () => { await browser?.close(); srv?.stop(); });

for (const v of set.variants.filter((v) => v.file.startsWith("sample/requantized/"))) {
  test(`${v.type}: the worker's greedy ids are the native engine's and llama.cpp's`, async () => {
    const gguf = join(ROOT, v.file);
    if (!existsSync(gguf)) throw new Error(`${v.file} is missing: run scripts/setup.sh (it runs scripts/requantized.sh)`);
    const native = JSON.parse(execFileSync(CLI, ["run", gguf, "--prompt-file", promptFile, "--greedy", "--max-tokens", "16", "--json"],
      { stdio: ["ignore", "pipe", "ignore"] }).toString());
    assert.equal(native.prompt_tokens, 110);

    const { page, errors } = await openPage(browser.context, srv.url);
    await chooseFolder(page, join(ROOT, "sample/requantized", v.type));
    await page.waitForSelector("[data-testid=chat]");
    if (!(await page.isChecked("#ack"))) await page.check("#ack");
    await page.click("#load-model");
    await page.waitForSelector("[data-testid=model-ready]", { timeout: 180000 });
    assert.match(await page.textContent("[data-testid=model-ready]"), new RegExp(native.model.quantization));
    // The pre-flight estimate against the worker's memory once loaded.
    const estimated = Number(await page.getAttribute("[data-testid=model-ready]", "data-estimated"));
    const loaded = Number(await page.getAttribute("[data-testid=stats]", "data-memory"));
    const off = loaded / estimated - 1;
    assert.ok(Math.abs(off) <= 0.15, `loaded worker memory ${loaded} vs estimate ${estimated} (${(off * 100).toFixed(1)}%)`);
    const { ids, margins } = await greedyReply(page, userMessage, 16);
    assert.match(await page.textContent("[data-testid=stats]"), /prompt 110 tokens/);
    assert.equal(ids.length, 16);
    assert.equal(margins.length, 16);
    // The first step at which two greedy runs part must be a near-tie for both.
    const agree = (other, otherMargins, name) => {
      const k = ids.findIndex((id, i) => id !== other[i]);
      if (k < 0) return 16;
      assert.ok(margins[k] <= DRIFT && otherMargins[k] <= DRIFT,
        `${name} picks ${other[k]} at step ${k}, the worker ${ids[k]}: margins ${otherMargins[k]} and ${margins[k]} are not a near-tie`);
      return k;
    };
    const withNative = agree(native.ids, native.margins, "the native engine");
    const withLlama = agree(v.ids, v.llama_cpp_top2_gap, "llama.cpp");
    const memory = Number(await page.getAttribute("[data-testid=stats]", "data-memory"));
    const size = statSync(gguf).size;
    console.log(`${v.type}: loaded ${(off * 100).toFixed(1)}% vs the estimate; worker = native for ${withNative} ids, = llama.cpp for ${withLlama}${withLlama < 16 ? " (then a near-tie)" : ""}; `
      + `worker memory ${(memory / size).toFixed(2)}x the file`);
    assert.ok(memory <= 1.3 * size, `worker memory ${memory} for a ${size}-byte model (${(memory / size).toFixed(2)}x)`);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

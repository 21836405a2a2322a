// The core paths in Firefox (Debian's firefox-esr, driven over WebDriver BiDi
// by puppeteer-core; never a downloaded browser build): the sample's report,
// greedy generation in the worker with the golden tokens, every request from
// the page's own origin, keeping the model in the private file system, the
// threaded worker once the page is isolated, and the page working again with
// its server gone (the service worker's cache). Firefox runs as an engine
// without relaxed SIMD (its pref off), so the workers' simd128 builds, plain
// and threaded, are the ones checked here; Chromium checks the relaxed ones.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import puppeteer from "puppeteer-core";
import { startServer, makeFolder, SHARED, SAMPLE, ROOT, requireSample } from "./harness.mjs";

const FIREFOX = "/usr/bin/firefox-esr";
const golden = JSON.parse(readFileSync(join(SHARED, "fixtures/golden/smollm2-135m-q4_1.json"), "utf8"));
const promptText = readFileSync(join(SHARED, "fixtures/golden/prompt.txt"), "utf8");
const userMessage = promptText.split("<|im_start|>user\n")[1].split("<|im_end|>")[0];

let srv, browser;
before(async () => {
  requireSample();
  if (!existsSync(FIREFOX)) throw new Error("firefox-esr is missing: run scripts/setup.sh");
  srv = await startServer();
  browser = await puppeteer.launch({
    browser: "firefox", executablePath: FIREFOX, headless: true,
    extraPrefsFirefox: { "javascript.options.wasm_relaxed_simd": false },
  });
});
after(async () => { await browser?.close(); srv?.stop(); });

const text = (page, sel) => page.$eval(sel, (e) => e.textContent);

async function setValue(page, sel, value) {
  await page.$eval(sel, (e, v) => {
    e.value = v;
    e.dispatchEvent(new Event("input", { bubbles: true }));
    e.dispatchEvent(new Event("change", { bubbles: true }));
  }, String(value));
}

/** Waits for the loaded model, then its greedy 32-token reply to the golden message; the ids. */
async function greedyReply(page) {
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 180000 });
  await page.$eval("details.settings", (d) => { d.open = true; });
  await setValue(page, "#temperature", 0);
  await setValue(page, "#repeat-penalty", 1);
  await setValue(page, "#max-tokens", 32);
  await setValue(page, "#prompt", userMessage);
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, { timeout: 300000 });
  return (await page.$eval("[data-testid=stats]", (e) => e.dataset.ids)).split(",").map(Number);
}

test("Firefox: report, golden tokens in the worker, own-origin requests only, then offline", async () => {
  const page = await browser.newPage();
  const requests = [];
  page.on("request", (r) => requests.push(r.url()));
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(srv.url, { waitUntil: "load" });
  await page.waitForSelector("#try-sample", { timeout: 60000 });
  await page.click("#try-sample");
  await page.waitForSelector("[data-testid=verdict]", { timeout: 60000 });
  assert.match(await text(page, "[data-testid=verdict]"), /OSI-approved/);

  await page.waitForSelector("#ack");
  await page.click("#ack");
  await page.click("#load-model");
  const ids = await greedyReply(page);
  assert.deepEqual(ids.slice(0, 32), golden.first_generated_ids.slice(0, 32));
  assert.equal(await page.$eval("[data-testid=engine]", (e) => e.dataset.simd), "simd128", "the probe chose the simd128 build");
  for (const url of requests) assert.ok(url.startsWith(srv.url) || url.startsWith("blob:") || url.startsWith("data:"), `off-site: ${url}`);
  assert.deepEqual(errors, []);

  // Keep on this device (Firefox's Origin Private File System), listed after a reload.
  await page.click("#keep");
  await page.waitForFunction(() => /^Kept |could not/.test(document.querySelector("[data-testid=kept-status]")?.textContent || ""), { timeout: 120000 });
  assert.match(await text(page, "[data-testid=kept-status]"), /^Kept /);
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("[data-testid=kept-model]", { timeout: 30000 });
  assert.match(await text(page, "[data-testid=kept-model]"), /3 files/);

  // The reload came through the service worker with COOP/COEP: the page is
  // cross-origin isolated and starts the threaded worker (or, if its pool does
  // not start within 15 s, the plain one), with the same tokens.
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, "the service worker's headers isolate the page in Firefox");
  await page.click("#try-sample");
  await page.waitForSelector("#load-model", { timeout: 60000 });
  await page.click("#load-model");
  const threaded = await greedyReply(page);
  assert.deepEqual(threaded.slice(0, 32), golden.first_generated_ids.slice(0, 32), "the threaded build's tokens in Firefox");
  assert.equal(await page.$eval("[data-testid=engine]", (e) => e.dataset.simd), "simd128");
  const threads = Number(await page.$eval("[data-testid=engine]", (e) => e.dataset.threads));
  console.log(`Firefox on the isolated page: ${threads} thread(s)`);
  assert.deepEqual(errors, []);

  // The service worker has cached the page: with the server gone it loads and
  // checks a dropped folder's documents again (a real drop event).
  await page.waitForFunction(async () => !!(await navigator.serviceWorker.ready).active, { timeout: 30000 });
  srv.stop();
  await page.reload({ waitUntil: "load" });
  await page.waitForSelector("#try-sample", { timeout: 60000 });
  assert.match(await text(page, "[data-testid=privacy]"), /offline · nothing leaves this device|nothing leaves this device/);
  const files = ["LICENSE", "README.md"].map((name) => ({ name, body: readFileSync(join(SAMPLE, name), "utf8") }));
  await page.evaluate((files) => {
    const dt = new DataTransfer();
    for (const f of files) dt.items.add(new File([f.body], f.name));
    const zone = document.getElementById("drop-primary");
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, files);
  await page.waitForSelector("[data-testid=verdict]", { timeout: 60000 });
  assert.match(await text(page, "[data-testid=verdict]"), /OSI-approved/);
  assert.deepEqual(errors, []);
  await page.close();
});

test("Firefox: 25 report downloads in a row each arrive whole, across 13 drops of the folder", async () => {
  // A server of its own: the test above stops the shared one to check offline use.
  const own = await startServer();
  const dir = mkdtempSync(join(tmpdir(), "fineprint-ff-downloads-"));
  const ff = await puppeteer.launch({
    browser: "firefox", executablePath: FIREFOX, headless: true,
    extraPrefsFirefox: {
      "browser.download.folderList": 2, "browser.download.dir": dir, "browser.download.useDownloadDir": true,
      "browser.download.always_ask_before_handling_new_types": false, "browser.download.start_downloads_in_tmp_dir": false,
    },
  });
  try {
    const page = await ff.newPage();
    await page.goto(own.url, { waitUntil: "load" });
    await page.waitForSelector("#try-sample", { timeout: 60000 });
    const files = ["LICENSE", "README.md"].map((name) => ({ name, body: readFileSync(join(SAMPLE, name), "utf8") }));
    const downloaded = () => readdirSync(dir).filter((f) => f.endsWith(".json") && !f.endsWith(".part"));
    for (let i = 1; i <= 25; i++) {
      if (i <= 13) {
        // The case: the same folder dropped again, then its report downloaded.
        await page.evaluate((files) => {
          const dt = new DataTransfer();
          for (const f of files) dt.items.add(new File([f.body], f.name));
          const zone = document.getElementById("drop-primary");
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        }, files);
        await page.waitForSelector(DOWNLOAD_JSON, { timeout: 60000 });
      }
      await page.click(DOWNLOAD_JSON);
      await waitFor(() => downloaded().length >= i, `download ${i} arrived`);
      await new Promise((r) => setTimeout(r, 400));
    }
    for (const f of downloaded()) assert.ok(JSON.parse(readFileSync(join(dir, f), "utf8")).summary, `${f} is a whole report`);
    assert.equal(downloaded().length, 25);
  } finally {
    await ff.close();
    own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

const DOWNLOAD_JSON = process.env.DOWNLOAD_JSON || "#download-json";

async function waitFor(check, what, ms = 10000) {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("Firefox: a derivative's lineage, conflict and openness, and two revisions compared", async () => {
  // A server of its own: the first test stops the shared one to check offline use.
  const own = await startServer();
  try {
    const page = await browser.newPage();
    await page.goto(own.url, { waitUntil: "load" });
    await page.waitForSelector("#drop-primary");
    // A real drop event carrying the folder's files.
    const pick = async (slot, dir) => {
      const files = readdirSync(dir).map((name) => ({ name, body: readFileSync(join(dir, name), "utf8") }));
      await page.evaluate((files, slot) => {
        const dt = new DataTransfer();
        for (const f of files) dt.items.add(new File([f.body], f.name));
        const zone = document.getElementById(`drop-${slot}`);
        zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
        zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, files, slot);
    };
    await pick("primary", join(ROOT, "crates/license/tests/lineage/qwen2.5-3b-lora-declared-apache"));
    await page.waitForSelector("[data-testid=lineage]", { timeout: 60000 });
    assert.match(await text(page, "[data-testid=lineage-base]"), /Qwen\/Qwen2\.5-3B-Instruct.*Qwen Research License/s);
    assert.match(await text(page, "[data-testid=base-license-conflict]"), /research-only/);
    assert.match(await text(page, "[data-testid=mof-class]"), /No MOF class reached/);

    const v2 = makeFolder("model-v2", { "README.md": "---\nlicense: other\nlicense_name: qwen-research\nbase_model: Qwen/Qwen2.5-3B-Instruct\n---\n# MedQwen-3B-LoRA\n" });
    await pick("compare", v2);
    await page.waitForSelector("[data-testid=revision-diff]", { timeout: 60000 });
    const diff = await text(page, "[data-testid=revision-diff]");
    assert.match(diff, /License id: apache-2\.0 → other/);
    assert.match(diff, /Commercial use: allowed → forbidden/);
    await page.close();
  } finally {
    own.stop();
  }
});

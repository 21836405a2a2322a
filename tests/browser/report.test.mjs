// The license report in the page: drop or pick a folder, read verdict, answers, quotes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startServer, launch, openPage, chooseFolder, dropFiles, makeFolder, shot, SHARED, SAMPLE, ROOT, requireSample } from "./harness.mjs";

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); srv?.stop(); });

const verdict = (page) => page.textContent("[data-testid=verdict]");
const answer = (page, field) => page.textContent(`[data-field=${field}] td.answer`);

test("the page loads with no console errors and says nothing leaves the device", async () => {
  const { page, errors } = await openPage(browser.context, srv.url);
  assert.match(await page.textContent("[data-testid=privacy]"), /nothing leaves this device/);
  await page.waitForTimeout(500);
  assert.deepEqual(errors, []);
  await shot(page, "01-empty");
  await page.close();
});

test("the sample model: files listed with sizes, Apache-2.0 open source, quotes open the document", async () => {
  requireSample();
  const { page, errors } = await openPage(browser.context, srv.url);
  await page.click("#try-sample");
  await page.waitForSelector("[data-testid=verdict]", { timeout: 60000 });
  const files = await page.textContent("[data-testid=file-list]");
  assert.match(files, /SmolLM2-135M-Instruct\.Q4_1\.gguf/);
  assert.match(files, /98\.4 MB/);
  assert.match(files, /LICENSE/);
  assert.match(await verdict(page), /OSI-approved open source/);
  assert.match(await verdict(page), /Apache-2\.0/);
  assert.equal((await answer(page, "commercial_use")).trim(), "allowed");
  await page.click("[data-field=attribution_required] button.link");
  await page.waitForSelector("[data-testid=viewer] .hl");
  const hl = await page.textContent("[data-testid=viewer] .hl");
  // The notice duty as Apache-2.0's clause sheet quotes it, found in the folder's copy.
  assert.match(hl, /give any other recipients of the Work/);
  await shot(page, "02-sample-report");
  assert.deepEqual(errors, []);
  await page.close();
});

test("a Llama 3.1 folder: open weights with a 700M-user cap, naming duty, quoted from LICENSE", async () => {
  const { page } = await openPage(browser.context, srv.url);
  await chooseFolder(page, join(SHARED, "fixtures/licenses/llama3.1-community"));
  await page.waitForSelector("[data-testid=verdict]");
  assert.match(await verdict(page), /Open weights under custom terms/);
  assert.match(await verdict(page), /OSD 5/);
  assert.match(await answer(page, "user_threshold_mau"), /700,000,000/);
  assert.equal((await answer(page, "derivative_naming")).trim(), "yes");
  assert.match(await page.textContent("[data-field=derivative_naming] .quote"), /LICENSE:\d+.*at the beginning of any such AI model name/s);
  // My use: a product with 800M users needs a separate agreement.
  await page.selectOption("#purpose", "product");
  await page.fill("#users", "800000000");
  await page.press("#users", "Tab");
  await page.waitForFunction(() => /needs a separate agreement/.test(document.querySelector("[data-testid=answers] [data-key=scale]")?.textContent || ""));
  await page.fill("#users", "5000");
  await page.press("#users", "Tab");
  await page.waitForFunction(() => /allowed/.test(document.querySelector("[data-testid=answers] [data-key=scale] .a")?.textContent || ""));
  await shot(page, "03-llama-report");
  // The stated use is remembered across visits.
  await page.reload();
  await page.waitForSelector("#try-sample");
  await chooseFolder(page, join(SHARED, "fixtures/licenses/llama3.1-community"));
  await page.waitForSelector("#purpose");
  assert.equal(await page.inputValue("#purpose"), "product");
  await page.selectOption("#purpose", "personal");
  await page.close();
});

test("a non-commercial license says so, and a product use is not allowed", async () => {
  const { page } = await openPage(browser.context, srv.url);
  await chooseFolder(page, join(SHARED, "fixtures/licenses/sdxl-turbo-noncommercial-research"));
  await page.waitForSelector("[data-testid=verdict]");
  assert.match(await verdict(page), /Non-commercial/);
  assert.equal((await answer(page, "commercial_use")).trim(), "not allowed");
  await page.selectOption("#purpose", "product");
  await page.waitForFunction(() => /not allowed/.test(document.querySelector("[data-key=use] .a")?.textContent || ""));
  await shot(page, "04-noncommercial");
  await page.selectOption("#purpose", "personal");
  await page.close();
});

test("a folder with no license is reported as such, naming what is missing", async () => {
  const dir = makeFolder("no-license-model", { "README.md": "# Some model\n\nA model card that names no license.\n", "config.json": "{\"model_type\": \"llama\"}" });
  const { page } = await openPage(browser.context, srv.url);
  await chooseFolder(page, dir);
  await page.waitForSelector("[data-testid=verdict]");
  assert.match(await verdict(page), /No license found/);
  assert.match(await page.textContent("[data-testid=problems]"), /no license found/);
  assert.match(await page.textContent(".missing"), /No license file/);
  await shot(page, "05-no-license");
  await page.close();
});

test("a card that declares another license than its text is flagged", async () => {
  const llama = readFileSync(join(SHARED, "fixtures/licenses/llama3.1-community/LICENSE"));
  const { page } = await openPage(browser.context, srv.url);
  await dropFiles(page, { "README.md": "---\nlicense: apache-2.0\n---\n# A fine-tune\n", LICENSE: llama });
  await page.waitForSelector("[data-testid=mismatch]");
  assert.match(await page.textContent("[data-testid=declared]"), /apache-2\.0/);
  assert.match(await page.textContent("[data-testid=declared]"), /Llama 3\.1/);
  await shot(page, "06-mismatch");
  await page.close();
});

test("two folders side by side", async () => {
  const { page } = await openPage(browser.context, srv.url);
  await chooseFolder(page, join(SHARED, "fixtures/licenses/llama3.3-community"));
  await page.waitForSelector("[data-testid=verdict]");
  await chooseFolder(page, join(SHARED, "fixtures/licenses/olmo-apache-open-data"), "compare");
  await page.waitForSelector("[data-testid=compare-table]");
  const table = await page.textContent("[data-testid=compare-table]");
  assert.match(table, /Llama 3\.3/);
  assert.match(table, /Apache/);
  assert.ok((await page.$$("[data-testid=compare-table] tr.differ")).length >= 3);
  await shot(page, "07-compare");
  await page.close();
});

test("a derivative folder: its base, the conflict, the naming duty and how open it is, each quoted", async () => {
  const { page, errors } = await openPage(browser.context, srv.url);
  await chooseFolder(page, join(ROOT, "crates/license/tests/lineage/llama3.2-grpo-declared-apache"));
  await page.waitForSelector("[data-testid=lineage]");
  const base = await page.textContent("[data-testid=lineage-base]");
  assert.match(base, /meta-llama\/Llama-3\.2-3B-Instruct/);
  assert.match(base, /Llama 3\.2 Community License/);
  assert.match(base, /README\.md:7/);
  // Which of Llama 3.2's terms carry over to the fine-tune.
  const carries = await page.textContent("[data-testid=carries]");
  assert.match(carries, /Is there a cap on users\? yes: 700,000,000 monthly active users/);
  assert.match(carries, /Must derivatives carry its name\? yes/);
  assert.match(await page.textContent("[data-testid=lineage-self]"), /WorldPolicy GRPO 3B \(Merged\): a fine-tune of/);
  assert.match(await page.textContent("[data-testid=base-license-conflict]"), /cannot be relicensed as apache-2\.0/);
  assert.match(await page.textContent("[data-testid=conflict-alert]"), /Llama 3\.2 Community License binds models made from it/);
  assert.equal(await page.getAttribute("[data-testid=verdict]", "class"), "verdict caution");
  assert.match(await page.textContent("[data-testid=base-license-conflict]"), /README\.md:4/);
  assert.match(await page.textContent("[data-testid=naming-duty]"), /begin with "Llama"/);
  // Answers under the stricter terms: the base's user cap needs stating.
  await page.selectOption("#purpose", "product");
  await page.waitForFunction(() => /Llama 3\.2 Community License/.test(document.querySelector("[data-testid=answers] [data-key=scale]")?.textContent || ""));
  assert.match(await page.textContent("[data-testid=mof-class]"), /No MOF class reached/);
  assert.match(await page.textContent("[data-testid=mof-missing]"), /Model parameters \(final\)/);
  assert.match(await page.textContent("[data-testid=osaid-unmet]"), /Data information/);
  await shot(page, "07b-lineage");
  assert.deepEqual(errors, []);
  await page.close();
});

test("two revisions of a model: the compare view lists what changed", async () => {
  const { page } = await openPage(browser.context, srv.url);
  const policy = (items) => `# Acceptable Use Policy\n\nYou agree not to use the model:\n${items}\n`;
  const old = makeFolder("model-v1", { "README.md": "---\nlicense: apache-2.0\n---\n# Model v1\n", "USE_POLICY.md": policy("- to generate spam") });
  const now = makeFolder("model-v2", { "README.md": "---\nlicense: cc-by-nc-4.0\n---\n# Model v2\n", "USE_POLICY.md": policy("- to generate spam\n- for surveillance of people") });
  await chooseFolder(page, old);
  await chooseFolder(page, now, "compare");
  await page.waitForSelector("[data-testid=revision-diff]");
  const diff = await page.textContent("[data-testid=revision-diff]");
  assert.match(diff, /Commercial use: allowed → forbidden/);
  assert.match(diff, /License id: apache-2\.0 → cc-by-nc-4\.0/);
  assert.match(diff, /Prohibited use added: for surveillance of people/);
  await chooseFolder(page, old, "compare");
  await page.waitForSelector("[data-testid=revision-same]");
  await page.close();
});

test("keyboard and narrow screen: the sample can be checked without a mouse on a phone-sized viewport", async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(srv.url);
  await page.waitForSelector("#try-sample");
  let focused = "";
  for (let i = 0; i < 6 && focused !== "try-sample"; i++) {
    await page.keyboard.press("Tab");
    focused = await page.evaluate(() => document.activeElement?.id || "");
  }
  assert.equal(focused, "try-sample", "Tab reaches the sample button");
  await page.keyboard.press("Enter");
  await page.waitForSelector("[data-testid=verdict]", { timeout: 60000 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 1, `no horizontal scrolling on a narrow screen (${overflow}px)`);
  await shot(page, "08-narrow");
  await page.close();
});

// Each download is a real link whose object URL lives as long as its report.
// The clicks come at a person's pace: Chromium's own limiter on automatic
// downloads (DownloadRequestLimiter) asks before an eleventh download that
// follows ten within a moment of each other, and headless has no one to ask.
test("25 report downloads in a row each arrive whole, across 13 drops of the same folder", async () => {
  const { page, errors } = await openPage(browser.context, srv.url);
  const files = Object.fromEntries(["LICENSE", "README.md"].map((n) => [n, readFileSync(join(SAMPLE, n))]));
  for (let i = 1; i <= 25; i++) {
    if (i <= 13) {
      await dropFiles(page, files);
      await page.waitForSelector("#download-json");
    }
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 10000 }), page.click("#download-json")]);
    assert.equal(download.suggestedFilename(), "license-report.json");
    const report = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.equal(report.summary.license_id.toLowerCase(), "apache-2.0", `download ${i}`);
    await page.waitForTimeout(400);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test("the verdict's colour is the engine's tone", async () => {
  const { page } = await openPage(browser.context, srv.url);
  await page.click("#try-sample");
  await page.waitForSelector("[data-testid=verdict]");
  assert.match(await page.getAttribute("[data-testid=verdict]", "class"), /\bverdict good\b/);
  const nc = makeFolder("nc-model", { "README.md": "---\nlicense: cc-by-nc-4.0\n---\n# A model for non-commercial use\n" });
  await chooseFolder(page, nc);
  assert.match(await page.getAttribute("[data-testid=verdict]", "class"), /\bverdict bad\b/);
  await page.close();
});

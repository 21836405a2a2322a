// Shared set-up for the browser tests: the built site served on loopback by
// scripts/serve.py, Debian's Chromium driven by playwright-core (never a
// downloaded browser), and fixtures written by the tests themselves.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve, basename } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SHARED = resolve(ROOT, "../shared");
export const SAMPLE = join(ROOT, "sample/SmolLM2-135M-Instruct");
export const ARTIFACTS = join(ROOT, "tests/browser/artifacts");
mkdirSync(ARTIFACTS, { recursive: true });

export async function startServer(prefix = "/") {
  // A random port may be taken (by another test's server, or one still
  // closing): another is tried.
  for (let attempt = 1; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const proc = spawn("python3", [join(ROOT, "scripts/serve.py"), String(port), "--prefix", prefix], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    proc.stderr.on("data", (d) => { stderr += d; });
    try {
      await new Promise((res, rej) => {
        proc.stdout.on("data", (d) => { if (String(d).includes("http://")) res(); });
        proc.on("exit", (c) => rej(new Error(`server exited ${c}: ${stderr.trim().split("\n").pop()}`)));
        setTimeout(() => rej(new Error("server did not start")), 10000);
      });
    } catch (e) {
      proc.kill();
      if (attempt < 5 && /Address already in use/.test(stderr)) continue;
      throw e;
    }
    proc.stderr.on("data", (d) => process.stderr.write(d));
    return { url: `http://127.0.0.1:${port}${prefix}`, origin: `http://127.0.0.1:${port}`, stop: () => proc.kill() };
  }
}

export async function launch(options = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), "fineprint-chrome-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    ...options,
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
    viewport: { width: 1200, height: 900 },
    // Under the POSIX locale Chromium mangles non-ASCII file names from the chooser.
    env: { ...process.env, LANG: process.env.LANG || "C.UTF-8" },
  });
  return { context, close: async () => { await context.close(); rmSync(userDataDir, { recursive: true, force: true }); } };
}

/** Console errors, minus what the platform prints on its own. */
export function watchConsole(page) {
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  return errors;
}

// The folders tests write (some near 100 MB) go when the test process ends,
// passed or failed, so repeated runs do not fill the temporary directory.
const madeRoots = [];
process.on("exit", () => {
  for (const root of madeRoots) rmSync(root, { recursive: true, force: true });
});

/** A folder written for a test: { "name": contents (string or Buffer) }. */
export function makeFolder(name, files) {
  const root = mkdtempSync(join(tmpdir(), "fineprint-case-"));
  madeRoots.push(root);
  const dir = join(root, name);
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

/** Picks a folder through the page's directory input (the "Choose a folder" button). */
export async function chooseFolder(page, dir, slot = "primary") {
  await page.setInputFiles(`[data-testid=drop-${slot}-dir]`, dir);
  if (slot === "primary") {
    // Wait for this folder's report, not the one it replaces.
    const name = basename(dir);
    await page.waitForFunction((n) => (document.querySelector("#files-h")?.textContent || "").startsWith(n + " —")
      || !!document.querySelector("[data-testid=error]"), name, { timeout: 120000 });
  }
}

/** Drops files on the drop zone with a real drop event carrying a DataTransfer. */
export async function dropFiles(page, files, slot = "primary") {
  const payload = Object.entries(files).map(([name, body]) => ({ name, b64: Buffer.from(body).toString("base64") }));
  await page.evaluate(({ payload, slot }) => {
    const dt = new DataTransfer();
    for (const f of payload) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bytes], f.name));
    }
    const zone = document.getElementById(`drop-${slot}`);
    zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
    zone.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, { payload, slot });
}

export async function shot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

export function requireSample() {
  if (!existsSync(join(SAMPLE, "SmolLM2-135M-Instruct.Q4_1.gguf"))) {
    throw new Error("the sample model is missing: run scripts/sample.sh (the README's test command does)");
  }
}

export async function openPage(context, url) {
  const page = await context.newPage();
  const errors = watchConsole(page);
  await page.goto(url);
  await page.waitForSelector("#try-sample");
  return { page, errors };
}

/** The sample's golden reply: llama.cpp's first greedy ids, and the user message its prompt wraps. */
export function goldenSample() {
  const golden = JSON.parse(readFileSync(join(SHARED, "fixtures/golden/smollm2-135m-q4_1.json"), "utf8"));
  const prompt = readFileSync(join(SHARED, "fixtures/golden/prompt.txt"), "utf8");
  return { ids: golden.first_generated_ids, userMessage: prompt.split("<|im_start|>user\n")[1].split("<|im_end|>")[0] };
}

/** Checks the sample folder, loads its model and returns the greedy reply of `maxTokens` to `message`, with the engine's thread count, SIMD flavour and (relaxed SIMD) the dot product it timed faster. */
export async function sampleReply(page, message, maxTokens) {
  await chooseFolder(page, SAMPLE);
  await page.check("#ack");
  await page.click("#load-model");
  await page.waitForSelector("[data-testid=model-ready]", { timeout: 120000 });
  const reply = await greedyReply(page, message, maxTokens);
  await page.waitForSelector("[data-testid=engine]", { timeout: 60000 });
  return {
    ...reply,
    threads: Number(await page.getAttribute("[data-testid=engine]", "data-threads")),
    simd: await page.getAttribute("[data-testid=engine]", "data-simd"),
    sums: {
      token: await page.getAttribute("[data-testid=engine]", "data-token-sums"),
      prompt: await page.getAttribute("[data-testid=engine]", "data-prompt-sums"),
    },
  };
}

/** Sends `message` for a greedy reply of `maxTokens` to the loaded model; its ids, margins and the worker's memory. */
/** Sets the chat's sampling settings: { "#temperature": 0, "#max-tokens": 32, … }. */
export async function setSampling(page, settings) {
  await page.evaluate(() => { document.querySelector("details.settings").open = true; });
  for (const [id, value] of Object.entries(settings)) {
    await page.fill(id, String(value));
    await page.press(id, "Tab");
  }
}

export async function greedyReply(page, message, maxTokens) {
  await setSampling(page, { "#temperature": 0, "#repeat-penalty": 1, "#max-tokens": maxTokens });
  await page.fill("#prompt", message);
  await page.click("#send");
  await page.waitForFunction(() => document.querySelector("[data-testid=stats]")?.dataset.ids, null, { timeout: 300000 });
  const list = async (attr) => (await page.getAttribute("[data-testid=stats]", attr)).split(",").map(Number);
  return { ids: await list("data-ids"), margins: await list("data-margins"), memory: Number(await page.getAttribute("[data-testid=stats]", "data-memory")) };
}

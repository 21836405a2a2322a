// Runs a wasm32-wasip1 program (a kernel benchmark such as the kernels'
// `throughput` example) inside headless Chromium, so its numbers are those of
// the V8 the page's worker gets, relaxed SIMD included; Node's older V8 may
// lower the same instructions differently.
//   node scripts/wasi-chromium.mjs target/wasm32-wasip1/release/examples/throughput.wasm
// Only what a benchmark needs of WASI is there: arguments, environment (none),
// stdout/stderr, clocks, random bytes, exit.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const { chromium } = createRequire(resolve(root, "tests/browser/package.json"))("playwright-core");
const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error("usage: node scripts/wasi-chromium.mjs PROGRAM.wasm [ARGS…]");
  process.exit(2);
}
const wasm = readFileSync(file).toString("base64");

const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage();
await page.exposeFunction("emit", (fd, text) => (fd === 2 ? process.stderr : process.stdout).write(text));
const code = await page.evaluate(async ({ wasm, argv }) => {
  const bytes = Uint8Array.from(atob(wasm), (c) => c.charCodeAt(0));
  let memory;
  const view = () => new DataView(memory.buffer);
  const u8 = () => new Uint8Array(memory.buffer);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const argBytes = argv.map((a) => enc.encode(a + "\0"));
  class Exit { constructor(code) { this.code = code; } }
  const wasi = {
    args_sizes_get(n, size) {
      view().setUint32(n, argBytes.length, true);
      view().setUint32(size, argBytes.reduce((s, a) => s + a.length, 0), true);
      return 0;
    },
    args_get(ptrs, buf) {
      for (const [i, a] of argBytes.entries()) {
        view().setUint32(ptrs + 4 * i, buf, true);
        u8().set(a, buf);
        buf += a.length;
      }
      return 0;
    },
    environ_sizes_get(n, size) { view().setUint32(n, 0, true); view().setUint32(size, 0, true); return 0; },
    environ_get() { return 0; },
    fd_write(fd, iovs, count, written) {
      let text = "", total = 0;
      for (let i = 0; i < count; i++) {
        const ptr = view().getUint32(iovs + 8 * i, true), len = view().getUint32(iovs + 8 * i + 4, true);
        text += dec.decode(u8().slice(ptr, ptr + len));
        total += len;
      }
      globalThis.emit(fd, text);
      view().setUint32(written, total, true);
      return 0;
    },
    clock_time_get(_id, _precision, out) {
      const ns = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
      view().setBigUint64(out, ns, true);
      return 0;
    },
    random_get(buf, len) { crypto.getRandomValues(u8().subarray(buf, buf + len)); return 0; },
    proc_exit(code) { throw new Exit(code); },
    sched_yield() { return 0; },
  };
  // Anything else a program imports answers ENOSYS.
  const imports = { wasi_snapshot_preview1: new Proxy(wasi, { get: (t, k) => t[k] ?? (() => 52) }) };
  const { instance } = await WebAssembly.instantiate(bytes, imports);
  memory = instance.exports.memory;
  try {
    instance.exports._start();
    return 0;
  } catch (e) {
    if (e instanceof Exit) return e.code;
    globalThis.emit(2, `${e}\n`);
    return 1;
  }
}, { wasm, argv: [file, ...args] });
await browser.close();
process.exitCode = code;

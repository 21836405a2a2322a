// Runs a wasm32-wasip1 program (a kernel benchmark such as the kernels'
// `throughput` example) inside headless Chromium, so its numbers are those of
// the V8 the page's worker gets, relaxed SIMD included; Node's older V8 may
// lower the same instructions differently.
//   node scripts/wasi-chromium.mjs target/wasm32-wasip1/release/examples/throughput.wasm
// Only what a benchmark needs of WASI is there: arguments, environment (this one's),
// stdout/stderr, clocks, random bytes, exit, and reading the files named as
// arguments (by absolute path, through one preopened "/"), e.g.
//   node scripts/wasi-chromium.mjs …/examples/logits.wasm $PWD/model.gguf $PWD/ids.txt
// PROFILE=20 samples the run with V8's profiler and prints the 20 functions
// with the most self time (build with CARGO_PROFILE_RELEASE_STRIP=none for names).
// JS_FLAGS passes V8 flags to Chromium (JS_FLAGS=--no-liftoff). Chromium's V8 has no
// disassembler; the README's speed notes say how to read the code it makes.
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { createServer } from "node:http";
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
const files = args.filter((a) => a.startsWith("/") && existsSync(a) && statSync(a).isFile()).map((a) => realpathSync(a));

const jsFlags = process.env.JS_FLAGS ? [`--js-flags=${process.env.JS_FLAGS}`] : [];
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", ...jsFlags] });
const page = await browser.newPage();
// The program and its files are served to the page from here (a server, not
// a Playwright route: a model file is too big for one DevTools message).
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
  if (path === "/") return res.end("<!doctype html>");
  const served = path === "/program.wasm" ? file : path.slice("/file".length);
  if (served !== file && !files.includes(served)) return res.writeHead(404).end();
  res.end(readFileSync(served));
});
await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.exposeFunction("emit", (fd, text) => (fd === 2 ? process.stderr : process.stdout).write(text));
const cdp = process.env.PROFILE ? await page.context().newCDPSession(page) : null;
if (cdp) {
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  await cdp.send("Profiler.start");
}
const code = await page.evaluate(async ({ argv, env, files }) => {
  const fetched = async (url) => new Uint8Array(await (await fetch(url)).arrayBuffer());
  const bytes = await fetched("/program.wasm");
  const contents = new Map();
  for (const f of files) contents.set(f, await fetched(`/file${encodeURI(f)}`));
  // Open files: fd → { data, at }; fd 3 is the preopened root.
  const open = new Map();
  let nextFd = 4;
  let memory;
  const view = () => new DataView(memory.buffer);
  const u8 = () => new Uint8Array(memory.buffer);
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const argBytes = argv.map((a) => enc.encode(a + "\0"));
  const envBytes = env.map((a) => enc.encode(a + "\0"));
  class Exit { constructor(code) { this.code = code; } }
  // WASI's string lists (arguments, environment): a count and a size, then
  // the pointers and the NUL-terminated bytes.
  const sizes = (list, n, size) => {
    view().setUint32(n, list.length, true);
    view().setUint32(size, list.reduce((s, a) => s + a.length, 0), true);
    return 0;
  };
  const strings = (list, ptrs, buf) => {
    for (const [i, a] of list.entries()) {
      view().setUint32(ptrs + 4 * i, buf, true);
      u8().set(a, buf);
      buf += a.length;
    }
    return 0;
  };
  const wasi = {
    args_sizes_get(n, size) { return sizes(argBytes, n, size); },
    args_get(ptrs, buf) { return strings(argBytes, ptrs, buf); },
    environ_sizes_get(n, size) { return sizes(envBytes, n, size); },
    environ_get(ptrs, buf) { return strings(envBytes, ptrs, buf); },
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
    fd_prestat_get(fd, out) {
      if (fd !== 3) return 8; // EBADF: no more preopens
      view().setUint8(out, 0);
      view().setUint32(out + 4, 1, true);
      return 0;
    },
    fd_prestat_dir_name(fd, buf, len) {
      if (fd !== 3 || len < 1) return 8;
      u8()[buf] = 0x2f; // "/"
      return 0;
    },
    path_open(dirfd, _flags, ptr, len, oflags, _rights, _inheriting, _fdflags, out) {
      const path = "/" + dec.decode(u8().slice(ptr, ptr + len)).replace(/^\/+/, "");
      if (dirfd !== 3 || oflags !== 0) return 76; // ENOTCAPABLE: read-only
      const data = contents.get(path);
      if (!data) return 44; // ENOENT
      open.set(nextFd, { data, at: 0 });
      view().setUint32(out, nextFd++, true);
      return 0;
    },
    fd_read(fd, iovs, count, read) {
      const f = open.get(fd);
      if (!f) return 8;
      let total = 0;
      for (let i = 0; i < count; i++) {
        const ptr = view().getUint32(iovs + 8 * i, true), len = view().getUint32(iovs + 8 * i + 4, true);
        const chunk = f.data.subarray(f.at, f.at + len);
        u8().set(chunk, ptr);
        f.at += chunk.length;
        total += chunk.length;
        if (chunk.length < len) break;
      }
      view().setUint32(read, total, true);
      return 0;
    },
    fd_seek(fd, offset, whence, out) {
      const f = open.get(fd);
      if (!f) return 8;
      const base = [0, f.at, f.data.length][whence];
      f.at = Number(BigInt(base) + offset);
      view().setBigUint64(out, BigInt(f.at), true);
      return 0;
    },
    fd_filestat_get(fd, out) {
      const f = open.get(fd);
      if (!f) return 8;
      for (let i = 0; i < 64; i += 8) view().setBigUint64(out + i, 0n, true);
      view().setUint8(out + 16, 4); // regular file
      view().setBigUint64(out + 32, BigInt(f.data.length), true);
      return 0;
    },
    fd_fdstat_get(fd, out) {
      if (fd !== 3 && !open.has(fd)) return 8;
      view().setUint8(out, fd === 3 ? 3 : 4); // directory or regular file
      view().setUint16(out + 2, 0, true);
      view().setBigUint64(out + 8, 0xffffffffn, true); // every right: the host checks
      view().setBigUint64(out + 16, 0xffffffffn, true);
      return 0;
    },
    fd_close(fd) { return open.delete(fd) ? 0 : 8; },
  };
  // Anything else a program imports answers ENOSYS.
  const imports = { wasi_snapshot_preview1: new Proxy(wasi, { get: (t, k) => t[k] ?? (() => (globalThis.emit(2, `wasi: ${String(k)} is not provided\n`), 52)) }) };
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
}, { argv: [file, ...args], env: Object.entries(process.env).map(([k, v]) => `${k}=${v}`), files });
if (cdp) {
  const { profile } = await cdp.send("Profiler.stop");
  const self = new Map();
  const total = profile.samples.length;
  const hits = new Map();
  for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  for (const node of profile.nodes) {
    const name = node.callFrame.functionName || `(${node.callFrame.url || "anonymous"})`;
    self.set(name, (self.get(name) ?? 0) + (hits.get(node.id) ?? 0));
  }
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROFILE));
  for (const [name, n] of top) console.error(`${((100 * n) / total).toFixed(1).padStart(5)} %  ${name}`);
}
await browser.close();
server.close();
process.exitCode = code;

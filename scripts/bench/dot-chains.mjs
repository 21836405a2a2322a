// How long relaxed SIMD's dot product with accumulate
// (i32x4.relaxed_dot_i8x16_i7x16_add_s) waits on its accumulator in Chromium's
// V8: a loop of N independent chains, each product adding into its own
// chain's sum, for N = 1 … 12. Nanoseconds a product fall as chains are added
// until the products' throughput, not one chain's latency, sets the pace.
//   node scripts/bench/dot-chains.mjs
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(resolve(root, "tests/browser/package.json"))("playwright-core");
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
const page = await browser.newPage();
const lines = await page.evaluate(() => {
  const leb = (n) => {
    const out = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  // f(a, b: v128, count: i32) -> v128: `count` times, each of N sums
  // accumulates four products of a and b; g(count) -> i32 calls it.
  function build(chains) {
    const first = 3;
    const f = [1, ...leb(chains), 0x7b, 0x03, 0x40];
    for (let u = 0; u < 4; u++)
      for (let k = 0; k < chains; k++) f.push(0x20, 0, 0x20, 1, 0x20, first + k, 0xfd, ...leb(0x113), 0x21, first + k);
    f.push(0x20, 2, 0x41, 1, 0x6b, 0x22, 2, 0x0d, 0, 0x0b, 0x20, first);
    for (let k = 1; k < chains; k++) f.push(0x20, first + k, 0xfd, ...leb(81));
    f.push(0x0b);
    const bytes16 = (s) => Array.from({ length: 16 }, (_, i) => (i * s + 3) & 0x7f);
    const g = [0, 0xfd, 0x0c, ...bytes16(37), 0xfd, 0x0c, ...bytes16(11), 0x20, 0, 0x10, 0, 0xfd, ...leb(27), 0, 0x0b];
    const types = [2, 0x60, 3, 0x7b, 0x7b, 0x7f, 1, 0x7b, 0x60, 1, 0x7f, 1, 0x7f];
    const code = [2, ...leb(f.length), ...f, ...leb(g.length), ...g];
    const bytes = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, ...leb(types.length), ...types, 3, 3, 2, 0, 1,
      7, 5, 1, 1, 0x67, 0, 1, 10, ...leb(code.length), ...code];
    return new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(bytes))).exports.g;
  }
  const out = [];
  for (const chains of [1, 2, 4, 6, 8, 10, 12]) {
    const g = build(chains);
    const count = (2_000_000 / chains) | 0;
    g(count); // warm up: V8 tiers the loop up to its optimizing compiler
    let best = Infinity;
    for (let r = 0; r < 5; r++) {
      const t = performance.now();
      g(count);
      best = Math.min(best, performance.now() - t);
    }
    out.push(`${chains} chains: ${((best * 1e6) / (count * 4 * chains)).toFixed(3)} ns a product`);
  }
  return out;
});
console.log(lines.join("\n"));
await browser.close();

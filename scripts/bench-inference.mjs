// Inference benchmark: Fine Print's worker (the plain build, 1 thread, and the
// threaded build on a cross-origin-isolated page, each with relaxed SIMD as
// the page loads it in Chromium and with simd128 only) and wllama (llama.cpp in wasm, 1 thread,
// and 2 threads on a cross-origin-isolated page) in the same Chromium run, and
// native llama.cpp (the xllamacpp wheel, 1 and 2 threads) on the same file, the
// same prompt text, greedy, 128 new tokens. Prints each result and the per-round
// ratios; each browser system twice, on a fresh page and warm (see OURS).
// Usage: node scripts/bench-inference.mjs [ROUNDS]
// MODEL=path.gguf benchmarks another GGUF (sample/gemma-3-270m/gemma-3-270m-q4_k_m.gguf, or
// the sample requantized by `cargo run --release -p fineprint-kernels --example requantize`);
// the prompt text is the same for every model, each tokenizes it its own way.
// ONLY=fineprint-worker,fineprint-worker-mt runs just the named systems (while tuning);
// fineprint-cli-1t and -2t (the command line, `fineprint run`) run only when named there.
// llama.cpp-host-1t/2t (llama-bench built for this host by
// scripts/bench-llamacpp-host.sh) join when that build exists.
import { execSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, symlinkSync, rmSync, mkdtempSync, copyFileSync, cpSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const rounds = +(process.argv[2] || 3);
const tools = join(root, ".tools/bench");
if (!existsSync(join(tools, "node_modules/@wllama/wllama/esm/index.js"))) {
  mkdirSync(tools, { recursive: true });
  execSync("npm install --no-audit --no-fund --silent @wllama/wllama@3.13.0", { cwd: tools, stdio: "inherit" });
}
const { chromium } = createRequire(join(root, "tests/browser/package.json"))("playwright-core");
const model = resolve(process.env.MODEL || join(root, "sample/SmolLM2-135M-Instruct/SmolLM2-135M-Instruct.Q4_1.gguf"));
const builds = ["worker", "worker-relaxed", "worker-mt", "worker-mt-relaxed"];
if (builds.some((b) => !existsSync(join(root, `dist/${b}_bg.wasm`))) || !existsSync(model)) throw new Error("run scripts/serve.sh (or trunk build + scripts/sample.sh) first");

// One folder served twice: plain, and with COOP/COEP for wasm threads.
const site = join(tools, "site");
rmSync(site, { recursive: true, force: true });
mkdirSync(site, { recursive: true });
for (const f of ["simd-probe.js", "worker-loader.js", "worker-mt-loader.js", ...builds.flatMap((b) => [`${b}.js`, `${b}_bg.wasm`])]) {
  copyFileSync(join(root, "dist", f), join(site, f));
}
// The simd128 builds as an engine without relaxed SIMD gets them: the page's
// loaders with the probe's answer replaced.
for (const f of ["worker-loader.js", "worker-mt-loader.js"]) {
  writeFileSync(join(site, f.replace("worker", "simd128-worker")), readFileSync(join(root, "dist", f), "utf8").replaceAll("self.relaxedSimd", "false"));
}
cpSync(join(root, "dist/snippets"), join(site, "snippets"), { recursive: true });
for (const f of ["wllama.html", "candle.html"]) copyFileSync(join(root, "scripts/bench", f), join(site, f));
symlinkSync(join(tools, "node_modules/@wllama/wllama"), join(site, "wllama"));
symlinkSync(model, join(site, "model.gguf"));
// The golden prompt: SmolLM2's chat template around one user message (110 tokens).
writeFileSync(join(site, "prompt.txt"), "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nI am planning a weekend trip to a small coastal town with my family. We like walking along the beach, visiting local markets, and trying fresh seafood, but my youngest child gets bored easily and my father cannot walk long distances. Could you suggest a relaxed plan for Saturday and Sunday, with a few indoor options in case it rains, and explain briefly why each activity would suit everyone in the group?<|im_end|>\n<|im_start|>assistant\n");
// Native llama.cpp from PyPI, installed beside the other bench tools (never in the product).
const pylib = join(tools, "python");
if (!existsSync(join(pylib, "xllamacpp"))) {
  execSync(`python3 -m pip install --quiet --target ${pylib} xllamacpp`, { stdio: "inherit" });
}
function native(threads) {
  try {
    const out = execSync(`python3 ${join(root, "scripts/bench/llamacpp.py")} ${model} ${join(site, "prompt.txt")} 128 ${threads}`,
      { env: { ...process.env, PYTHONPATH: pylib }, encoding: "utf8", timeout: 600000 });
    return JSON.parse(out.trim().split("\n").pop());
  } catch (e) { return { error: String(e).slice(0, 200) }; }
}
// The command line on the same engine (`fineprint run`, x86-64's AVX2
// kernels), brought up to date by cargo when a run first asks for it: the
// same prompt file, greedy, end of turn ignored, 128 new tokens.
const cliBin = join(root, "target/release/fineprint");
let cliBuilt = false;
function cli(threads) {
  try {
    if (!cliBuilt) execSync("cargo build --release -p fineprint-cli", { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
    cliBuilt = true;
    const out = execSync(`${cliBin} run ${model} --prompt-file ${join(site, "prompt.txt")} --max-tokens 128 --greedy --ignore-eos --json --threads ${threads}`,
      { encoding: "utf8", timeout: 900000, stdio: ["ignore", "pipe", "ignore"] });
    const r = JSON.parse(out.trim().split("\n").pop());
    return { prompt_tok_s: r.prompt_tok_s, decode_tok_s: r.decode_tok_s, prompt_tokens: r.prompt_tokens, new_tokens: r.ids.length };
  } catch (e) { return { error: String(e).slice(0, 200) }; }
}
// llama.cpp built for this host (AVX-512, VNNI: scripts/bench-llamacpp-host.sh),
// the strong native anchor, where it has been built: llama-bench's prompt
// processing over as many tokens as the worker's prompt, and 128 generated.
const hostBench = join(root, ".tools/llama-host/llama-bench");
function host(threads, promptTokens) {
  try {
    const out = execSync(`${hostBench} -m ${model} -p ${promptTokens} -n 128 -t ${threads} -r 2 -o json`,
      { encoding: "utf8", timeout: 900000, stdio: ["ignore", "pipe", "ignore"] });
    const rows = JSON.parse(out);
    const pp = rows.find((x) => x.n_prompt > 0 && x.n_gen === 0), tg = rows.find((x) => x.n_gen > 0 && x.n_prompt === 0);
    return { prompt_tok_s: pp.avg_ts, decode_tok_s: tg.avg_ts, prompt_tokens: promptTokens, new_tokens: 128 };
  } catch (e) { return { error: String(e).slice(0, 200) }; }
}
const serve = (port, isolate) => spawn("python3", [join(root, "scripts/serve.py"), String(port), "--root", site, ...(isolate ? ["--isolate"] : [])], { stdio: "ignore" });
const servers = [serve(18701, false), serve(18702, true)];
await new Promise((r) => setTimeout(r, 1000));

async function run(url) {
  const udd = mkdtempSync(join(tmpdir(), "fineprint-bench-"));
  const ctx = await chromium.launchPersistentContext(udd, { executablePath: "/usr/bin/chromium", headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", ...(process.env.JS_FLAGS ? [`--js-flags=${process.env.JS_FLAGS}`] : [])] });
  try {
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: 900000, polling: 250 });
    return await page.evaluate(() => window.__result);
  } finally { await ctx.close(); rmSync(udd, { recursive: true, force: true }); }
}

const systems = {
  "fineprint-worker": "http://127.0.0.1:18701/candle.html?n=128",
  "fineprint-worker-simd128": "http://127.0.0.1:18701/candle.html?n=128&simd128=1",
  "fineprint-worker-mt": "http://127.0.0.1:18702/candle.html?n=128&mt=1",
  "fineprint-worker-mt-simd128": "http://127.0.0.1:18702/candle.html?n=128&mt=1&simd128=1",
  "wllama-1t": "http://127.0.0.1:18701/wllama.html?threads=1&n=128",
  "wllama-2t-coi": "http://127.0.0.1:18702/wllama.html?threads=2&n=128",
};
const only = process.env.ONLY?.split(",");
const ratios = [];
// Each build of the worker against the others, same thread counts first; the
// threaded build also against the plain one.
const COLD = {
  "fineprint-worker": ["wllama-1t", "llama.cpp-native-1t", "llama.cpp-host-1t", "wllama-2t-coi", "llama.cpp-native-2t"],
  "fineprint-worker-mt": ["wllama-2t-coi", "llama.cpp-native-2t", "llama.cpp-host-2t", "fineprint-worker"],
  "fineprint-worker-simd128": ["llama.cpp-native-1t", "fineprint-worker"],
  "fineprint-worker-mt-simd128": ["llama.cpp-native-2t", "fineprint-worker-mt"],
  "fineprint-cli-1t": ["llama.cpp-native-1t", "llama.cpp-host-1t"],
  "fineprint-cli-2t": ["llama.cpp-native-2t", "llama.cpp-host-2t"],
};
// Each browser system also replies a second time on the same page, once V8
// has compiled its hot functions with its optimizing tier ("-warm"): the
// first reply measures a fresh page, the second what a conversation goes on
// at. Native llama.cpp has no such warm-up, so it is compared with both; nor
// has the command line, which is measured once.
const warm = (s) => (s.startsWith("llama.cpp-") || s.startsWith("fineprint-cli-") ? s : `${s}-warm`);
const OURS = { ...COLD, ...Object.fromEntries(Object.entries(COLD).map(([k, v]) => [warm(k), v.map(warm)])) };
try {
  for (let r = 1; r <= rounds; r++) {
    const res = {};
    for (const [name, url] of Object.entries(systems).filter(([n]) => !only || only.includes(n))) {
      const { warm, ...cold } = await run(url);
      res[name] = cold;
      console.log(JSON.stringify({ round: r, system: name, ...cold }));
      if (cold.first_token_s !== undefined) {
        const bw = cold.bandwidth || {};
        const share = (x) => (x === undefined ? "?" : `${(100 * x).toFixed(0)} %`);
        console.log(`round ${r}: ${name}: first token ${cold.first_token_s.toFixed(2)} s after the model reached the worker; ` +
          (bw.error ? `bandwidth: ${bw.error}` : `reads ${(bw.bytes_per_token / 1e6).toFixed(0)} MB a token at ${bw.gb_s.toFixed(1)} GB/s ` +
          `(at most ${bw.bound_tok_s.toFixed(1)} tok/s); decode at ${share(cold.of_bound)} of that, warm ${share(warm?.of_bound)}`));
      }
      if (warm) {
        res[`${name}-warm`] = warm;
        console.log(JSON.stringify({ round: r, system: `${name}-warm`, ...warm }));
      }
    }
    for (const t of [1, 2].filter((t) => !only || only.includes(`llama.cpp-native-${t}t`))) {
      res[`llama.cpp-native-${t}t`] = native(t);
      console.log(JSON.stringify({ round: r, system: `llama.cpp-native-${t}t`, ...res[`llama.cpp-native-${t}t`] }));
    }
    // The command line only when named: it is not the page.
    for (const t of [1, 2].filter((t) => only?.includes(`fineprint-cli-${t}t`))) {
      res[`fineprint-cli-${t}t`] = cli(t);
      console.log(JSON.stringify({ round: r, system: `fineprint-cli-${t}t`, ...res[`fineprint-cli-${t}t`] }));
    }
    const promptTokens = Object.values(res).find((x) => x.prompt_tokens)?.prompt_tokens ?? 128;
    for (const t of [1, 2].filter((t) => existsSync(hostBench) && (!only || only.includes(`llama.cpp-host-${t}t`)))) {
      res[`llama.cpp-host-${t}t`] = host(t, promptTokens);
      console.log(JSON.stringify({ round: r, system: `llama.cpp-host-${t}t`, ...res[`llama.cpp-host-${t}t`] }));
    }
    for (const [name, others] of Object.entries(OURS)) {
      const ours = res[name];
      for (const other of others) {
        if (!ours || !res[other] || ours.error || res[other].error) continue;
        const row = { round: r, ours: name, vs: other, prompt: ours.prompt_tok_s / res[other].prompt_tok_s, decode: ours.decode_tok_s / res[other].decode_tok_s };
        ratios.push(row);
        console.log(`round ${r}: ${name} / ${other}: prompt x${row.prompt.toFixed(2)}, decode x${row.decode.toFixed(2)}`);
      }
    }
  }
} finally { for (const s of servers) s.kill(); }
const med = (a) => { const s = [...a].sort((x, y) => x - y), h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; };
for (const [name, others] of Object.entries(OURS)) {
  for (const other of others) {
    const rs = ratios.filter((x) => x.ours === name && x.vs === other);
    if (rs.length) console.log(`median over ${rs.length} rounds, ${name} / ${other}: prompt x${med(rs.map((x) => x.prompt)).toFixed(2)}, decode x${med(rs.map((x) => x.decode)).toFixed(2)}`);
  }
}

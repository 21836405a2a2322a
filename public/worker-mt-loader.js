// The threaded worker's entry, a module worker: the build with relaxed SIMD
// where the engine has it, else (or if that build does not load) the simd128
// one. wasm-bindgen's `--target web` glue needs an explicit init; the worker's
// main() then starts its pool of helper workers (which load the same glue) and
// posts Ready (or an error event) to the page.
import "./simd-probe.js";

async function start(build) {
  const { default: init } = await import(`./${build}.js`);
  await init({ module_or_path: new URL(`./${build}_bg.wasm`, import.meta.url) });
}

const first = self.relaxedSimd ? "worker-mt-relaxed" : "worker-mt";
try {
  await start(first).catch((e) => {
    if (first === "worker-mt") throw e;
    console.warn(`${first} did not load (${e}); loading the simd128 build`);
    return start("worker-mt");
  });
} catch (e) {
  self.postMessage(JSON.stringify({ type: "error", message: `the threaded model worker did not start: ${e}`, fatal: true }));
  // Let the page fall back to the plain build.
  throw e;
}

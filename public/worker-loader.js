// The plain (single-threaded) worker's entry, a classic worker: the build with
// relaxed SIMD where the engine has it, else the simd128 one. If the relaxed
// module cannot be had (a host that dropped the file, an engine that validates
// the probe but not the module), the simd128 one runs instead; if neither
// loads, the page is told why. The module is compiled before its glue is
// imported: wasm-bindgen's no-modules glue declares `wasm_bindgen` with `let`,
// so a worker can import only one build's glue.
importScripts("./simd-probe.js");

async function compile(build) {
  const response = await fetch(`./${build}_bg.wasm`);
  if (!response.ok) throw new Error(`${build}_bg.wasm: HTTP ${response.status}`);
  // Compiled while it downloads, unless the host serves it without the
  // application/wasm type (as wasm-bindgen's own loader falls back).
  try {
    return [build, await WebAssembly.compileStreaming(response.clone())];
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    return [build, await WebAssembly.compile(await response.arrayBuffer())];
  }
}

const first = self.relaxedSimd ? "worker-relaxed" : "worker";
compile(first)
  .catch((e) => {
    if (first === "worker") throw e;
    console.warn(`${first} did not load (${e}); loading the simd128 build`);
    return compile("worker");
  })
  .then(([build, module]) => {
    importScripts(`./${build}.js`);
    return wasm_bindgen({ module_or_path: module });
  })
  .catch((e) => {
    self.postMessage(JSON.stringify({ type: "error", message: `the model worker did not load: ${e}`, fatal: true }));
  });

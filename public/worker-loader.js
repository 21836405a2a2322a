// The plain (single-threaded) worker's entry, a classic worker: the build with
// relaxed SIMD where the engine has it, else the simd128 one. Both are
// wasm-bindgen's no-modules glue, which defines `wasm_bindgen`.
importScripts("./simd-probe.js");
const build = self.relaxedSimd ? "worker-relaxed" : "worker";
importScripts(`./${build}.js`);
wasm_bindgen(`./${build}_bg.wasm`);

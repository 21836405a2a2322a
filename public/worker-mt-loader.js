// The threaded worker's entry, a module worker. wasm-bindgen's `--target web`
// glue needs an explicit init; the worker's main() then starts its pool of
// helper workers and posts Ready (or an error event) to the page.
import init from "./worker-mt.js";

init({ module_or_path: new URL("./worker-mt_bg.wasm", import.meta.url) }).catch((e) => {
  self.postMessage(JSON.stringify({ type: "error", message: `the threaded model worker did not start: ${e}`, fatal: true }));
  // Let the page fall back to the plain build.
  throw e;
});

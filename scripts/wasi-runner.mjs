// Runs a wasm32-wasip1 test binary under Node's WASI (V8, the engine Chromium
// runs the worker in): `cargo test --target wasm32-wasip1` uses it as runner.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [file, ...args] = process.argv.slice(2);
const wasi = new WASI({ version: "preview1", args: [file, ...args], env: process.env, returnOnExit: true });
const { instance } = await WebAssembly.instantiate(readFileSync(file), wasi.getImportObject());
process.exitCode = wasi.start(instance);

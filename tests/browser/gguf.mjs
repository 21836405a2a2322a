// Writes small GGUF files for tests: a header with string metadata and tensor infos.
import { writeFileSync, openSync, ftruncateSync, closeSync } from "node:fs";

function str(s) { const b = Buffer.from(s, "utf8"); const n = Buffer.alloc(8); n.writeBigUInt64LE(BigInt(b.length)); return Buffer.concat([n, b]); }
function u32(v) { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; }
function u64(v) { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); return b; }

/** kv: {key: string}; tensors: [{name, dims: [..], type, offset}] (type 8 = Q8_0). */
export function ggufHeader(kv, tensors = []) {
  const parts = [Buffer.from("GGUF"), u32(3), u64(tensors.length), u64(Object.keys(kv).length)];
  for (const [k, v] of Object.entries(kv)) {
    parts.push(str(k));
    if (typeof v === "number") { parts.push(u32(4), u32(v)); } else { parts.push(u32(8), str(v)); }
  }
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.dims.length), ...t.dims.map(u64), u32(t.type), u64(t.offset));
  }
  const head = Buffer.concat(parts);
  const pad = (32 - (head.length % 32)) % 32;
  return Buffer.concat([head, Buffer.alloc(pad)]);
}

/** A header followed by a sparse hole up to `size` bytes (no disk used). */
export function writeSparse(path, header, size) {
  writeFileSync(path, header);
  const fd = openSync(path, "r+");
  ftruncateSync(fd, size);
  closeSync(fd);
}

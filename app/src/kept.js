// The Origin Private File System side of "Keep on this device", for kept.rs:
// write a dropped folder under kept/<name>/, list what is kept with the
// storage estimate, open a kept folder's files, remove one. Plain values
// cross to Rust through serde-wasm-bindgen; File objects stay File objects.
async function keptRoot(create) {
  if (!navigator.storage || !navigator.storage.getDirectory) throw new Error("this browser has no Origin Private File System");
  const root = await navigator.storage.getDirectory();
  return root.getDirectoryHandle("kept", { create });
}
async function walk(dir, prefix, out) {
  for await (const [name, h] of dir.entries()) {
    if (h.kind === "file") out.push({ path: prefix + name, file: await h.getFile() });
    else await walk(h, prefix + name + "/", out);
  }
  return out;
}
// A marker written last: a half-written folder (a full disk, a closed tab) never shows as kept.
const COMPLETE = ".fineprint-complete";
export async function keep(folder, entries) {
  // Firefox asks the person before granting persistence: ask, but do not wait on the answer to write.
  const persisting = navigator.storage.persist ? navigator.storage.persist().catch(() => false) : Promise.resolve(false);
  const kept = await keptRoot(true);
  try { await kept.removeEntry(folder, { recursive: true }); } catch (_) {}
  const dir = await kept.getDirectoryHandle(folder, { create: true });
  try {
    for (const e of entries) {
      const parts = e.path.split("/");
      let d = dir;
      for (const p of parts.slice(0, -1)) d = await d.getDirectoryHandle(p, { create: true });
      const fh = await d.getFileHandle(parts[parts.length - 1], { create: true });
      if (!fh.createWritable) throw new Error("this browser cannot write files to its private storage");
      const w = await fh.createWritable();
      await w.write(e.file);
      await w.close();
    }
    await dir.getFileHandle(COMPLETE, { create: true });
  } catch (err) {
    try { await kept.removeEntry(folder, { recursive: true }); } catch (_) {}
    throw err;
  }
  return Promise.race([persisting, new Promise((r) => setTimeout(() => r(false), 1000))]);
}
async function complete(dir) {
  try { await dir.getFileHandle(COMPLETE); return true; } catch (_) { return false; }
}
export async function list() {
  const est = navigator.storage && navigator.storage.estimate ? await navigator.storage.estimate() : {};
  const persisted = navigator.storage && navigator.storage.persisted ? await navigator.storage.persisted() : false;
  const models = [];
  let kept;
  try { kept = await keptRoot(false); } catch (_) { kept = null; }
  if (kept) {
    for await (const [name, h] of kept.entries()) {
      if (h.kind !== "directory" || !(await complete(h))) continue;
      const files = (await walk(h, "", [])).filter((f) => f.path !== COMPLETE);
      models.push({ name, size: files.reduce((a, f) => a + f.file.size, 0), files: files.length });
    }
  }
  models.sort((a, b) => a.name.localeCompare(b.name));
  return { models, usage: est.usage || 0, quota: est.quota || 0, persisted };
}
export async function open(folder) {
  const kept = await keptRoot(false);
  return (await walk(await kept.getDirectoryHandle(folder), "", [])).filter((f) => f.path !== COMPLETE);
}
export async function remove(folder) {
  const kept = await keptRoot(false);
  await kept.removeEntry(folder, { recursive: true });
}

// Fine Print's service worker: serves the built page from its cache so it
// works offline after one visit. It never touches requests to other origins
// (the page makes none) and never caches dropped files (they are not requests).
const VERSION = "__VERSION__";
const CACHE = `fineprint-${VERSION}`;
// The worker is built with and without relaxed SIMD; this engine only ever
// loads one of each pair (the loaders run the same probe), so only those are
// kept for offline use.
importScripts("./simd-probe.js");
const unused = self.relaxedSimd ? /^worker(-mt)?(_bg\.wasm|\.js)$/ : /^worker(-mt)?-relaxed(_bg\.wasm|\.js)$/;
const PRECACHE = __PRECACHE__.filter((f) => !unused.test(f));

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("fineprint-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Most static hosts cannot set headers; the page's own responses get the two
// that make it cross-origin isolated, which is what lets the model worker share
// memory between threads. The page requests nothing from other origins, so
// requiring CORP of them costs nothing.
function isolated(response) {
  if (!response || response.type === "opaque" || response.type === "opaqueredirect") return response;
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  // The sample model is large and optional: straight to the network.
  if (url.pathname.includes("/sample/")) return;
  event.respondWith(
    caches.match(event.request, { ignoreSearch: true }).then((hit) => hit || fetch(event.request)).then(isolated),
  );
});

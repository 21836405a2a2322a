#!/usr/bin/env python3
"""Serves the built site (dist/) on loopback, and the sample model folder
under /sample/ from ./sample. Static files only: this is what any static host
does. Usage: serve.py [PORT] [--root DIST] [--sample DIR] [--prefix /sub/]"""
import argparse, http.server, os, pathlib, posixpath, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("port", nargs="?", type=int, default=8080)
here = pathlib.Path(__file__).resolve().parent.parent
ap.add_argument("--root", default=str(here / "dist"))
ap.add_argument("--sample", default=str(here / "sample"))
ap.add_argument("--prefix", default="/", help="serve the site under this sub-path")
ap.add_argument("--isolate", action="store_true", help="send COOP/COEP (cross-origin isolation, for wasm threads)")
args = ap.parse_args()
root, sample, prefix = pathlib.Path(args.root), pathlib.Path(args.sample), "/" + args.prefix.strip("/") + "/"
prefix = "/" if prefix == "//" else prefix

class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".wasm": "application/wasm",
                      ".js": "text/javascript", ".webmanifest": "application/manifest+json", ".gguf": "application/octet-stream"}

    def translate_path(self, path):
        path = urllib.parse.unquote(urllib.parse.urlsplit(path).path)
        if not path.startswith(prefix):
            return str(root / "__missing__")
        rel = posixpath.normpath(path[len(prefix):]).lstrip("/")
        if rel.startswith(".."):
            return str(root / "__missing__")
        if rel == "sample" or rel.startswith("sample/"):
            return str(sample / rel[len("sample/"):]) if rel != "sample" else str(sample)
        return str(root / rel) if rel not in ("", ".") else str(root)

    def end_headers(self):
        self.send_header("Cache-Control", "no-cache")
        if args.isolate:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *a):
        if os.environ.get("FINEPRINT_SERVE_LOG"):
            super().log_message(*a)

http.server.ThreadingHTTPServer.allow_reuse_address = True
with http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler) as httpd:
    print(f"Fine Print: http://127.0.0.1:{args.port}{prefix}", flush=True)
    httpd.serve_forever()

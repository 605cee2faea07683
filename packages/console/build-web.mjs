// Bundles the browser app (web/) into dist/www: index.html, app.js, app.css. File names carry
// no hash because the hub serves them with ETags and `max-age=0` (always revalidated).
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { build } from "esbuild";

const out = new URL("./dist/www/", import.meta.url);
// Chunk names carry a hash: start empty so old chunks do not pile up.
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: "web/main.tsx" },
  // The console never opens realtime: with splitting, the MQTT client @chorus/core loads on
  // first realtime use stays in a chunk of its own that the page never requests.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  outdir: out.pathname,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  minify: true,
  sourcemap: true,
  legalComments: "none",
  logLevel: "warning",
});
copyFileSync(new URL("./web/index.html", import.meta.url), new URL("index.html", out));

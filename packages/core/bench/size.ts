import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BROWSER_BUDGET_GZ_BYTES, type BundleSize, bundleForBrowser } from "./browser-size.js";

/*
 * `pnpm bench` (size): what a page downloads for @chorus/core's browser entry, bundled by esbuild
 * (platform browser, minified, split) and gzipped at level 9. Sizes are exact, so one build is
 * the measurement (no rounds). Two pages: one that imports everything, one that uses the client
 * as a page typically does (emit, a stream, intents) — tree-shaking decides the difference.
 */

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const line = (label: string, size: BundleSize) =>
  `${label.padEnd(44)} ${kb(size.min).padStart(9)} min  ${kb(size.gz).padStart(8)} gz`;

const everything = await bundleForBrowser('export * from "@chorus/core";', root);
const typical = await bundleForBrowser(
  `import { Chorus } from "@chorus/core";
   const chorus = new Chorus({ url: location.origin, apiKey: "token" });
   chorus.emit({ type: "custom" });
   export const stream = chorus.stream.channel("research");
   export const intents = chorus.intents.list();`,
  root,
);
const protocol = await bundleForBrowser('export * from "@chorus/protocol";', root);

console.log("browser bundle sizes (esbuild, platform browser, minified; gzip -9)");
console.log(line("@chorus/core, every export (without realtime)", everything.entry));
console.log(line("@chorus/core, a typical page (without realtime)", typical.entry));
for (const chunk of everything.lazy) {
  console.log(line(`  loaded on first use: ${chunk.packages.join(" + ")}`, chunk.size));
}
console.log(line("@chorus/protocol alone, every export", protocol.entry));
const budget = everything.entry.gz <= BROWSER_BUDGET_GZ_BYTES ? "within" : "OVER";
console.log(
  `budget ${kb(BROWSER_BUDGET_GZ_BYTES)} gz without realtime: ${budget} (${everything.entry.gz} of ${BROWSER_BUDGET_GZ_BYTES} bytes, ${everything.upFrontFiles} files up front)`,
);
console.log("what the entry is made of (minified bytes by package):");
for (const part of everything.entryByPackage.filter((p) => p.bytes > 0)) {
  console.log(`  ${part.name.padEnd(24)} ${kb(part.bytes).padStart(9)}`);
}
if (everything.nodeImports.length > 0) {
  console.log(`Node built-ins reached: ${everything.nodeImports.join(", ")}`);
  process.exitCode = 1;
}

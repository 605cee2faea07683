import { gzipSync } from "node:zlib";
import { build, type Metafile, type Plugin } from "esbuild";

/** The budget of the browser entry without realtime, gzipped (issue 10). */
export const BROWSER_BUDGET_GZ_BYTES = 15 * 1024;

export interface BundleSize {
  /** Minified bytes. */
  min: number;
  /** Minified, then gzipped (level 9) bytes. */
  gz: number;
}

export interface BrowserBundle {
  /** The chunk a page loads for `@chorus/core`: everything but realtime's MQTT client. */
  entry: BundleSize;
  /** The chunk loaded on first realtime use (mqtt.js's browser build). */
  realtime: BundleSize;
  /** Modules with a `node:` specifier or a bare Node built-in that the bundle asked for. */
  nodeImports: string[];
  /** Input bytes by package, largest first, for "what got big". */
  inputs: Array<{ name: string; bytes: number }>;
  /** The modules that put code into the entry chunk. */
  entryModules: string[];
  /** Minified bytes each package puts into the entry chunk, largest first. */
  entryByPackage: Array<{ name: string; bytes: number }>;
}

const NODE_BUILTINS =
  /^(node:.*|assert|async_hooks|buffer|child_process|crypto|dns|events|fs|http|http2|https|module|net|os|path|perf_hooks|process|stream|tls|url|util|worker_threads|zlib)(\/.*)?$/;

/** Record (and fail) every Node built-in the bundle reaches for, instead of polyfilling it. */
function refuseNodeBuiltins(found: string[]): Plugin {
  return {
    name: "refuse-node-builtins",
    setup(b) {
      b.onResolve({ filter: NODE_BUILTINS }, (args) => {
        found.push(`${args.path} (from ${args.importer})`);
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Bundle `code` the way a page's bundler would (esbuild, platform browser: the `browser`
 * `exports` condition), minified and split so the lazily imported MQTT client is its own chunk.
 */
export async function bundleForBrowser(
  code = 'export * from "@chorus/core";',
  resolveDir = process.cwd(),
): Promise<BrowserBundle> {
  const nodeImports: string[] = [];
  const result = await build({
    stdin: { contents: code, resolveDir, loader: "ts" },
    bundle: true,
    minify: true,
    format: "esm",
    splitting: true,
    platform: "browser",
    target: "es2022",
    outdir: "out",
    write: false,
    metafile: true,
    logLevel: "silent",
    plugins: [refuseNodeBuiltins(nodeImports)],
  });
  let entry: BundleSize | undefined;
  let entryModules: string[] = [];
  let entryByPackage: Array<{ name: string; bytes: number }> = [];
  let realtime: BundleSize = { min: 0, gz: 0 };
  for (const file of result.outputFiles) {
    const size = { min: file.contents.length, gz: gzipSync(file.contents, { level: 9 }).length };
    const meta = result.metafile.outputs[relative(file.path, result.metafile)];
    if (meta?.entryPoint === "<stdin>") {
      entry = size;
      entryModules = Object.entries(meta.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([path]) => path);
      entryByPackage = byPackage(
        Object.entries(meta.inputs).map(([path, input]) => [path, input.bytesInOutput]),
      );
    } else realtime = { min: realtime.min + size.min, gz: realtime.gz + size.gz };
  }
  if (entry === undefined) throw new Error("esbuild produced no entry chunk");
  return {
    entry,
    realtime,
    nodeImports,
    inputs: byPackage(
      Object.entries(result.metafile.inputs).map(([path, input]) => [path, input.bytes]),
    ),
    entryModules,
    entryByPackage,
  };
}

function relative(path: string, metafile: Metafile): string {
  return Object.keys(metafile.outputs).find((out) => path.endsWith(out)) ?? path;
}

function byPackage(sizes: Array<[string, number]>): Array<{ name: string; bytes: number }> {
  const totals = new Map<string, number>();
  for (const [path, bytes] of sizes) {
    const match = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = match?.[1] ?? (path.includes("protocol/") ? "@chorus/protocol" : "@chorus/core");
    totals.set(name, (totals.get(name) ?? 0) + bytes);
  }
  return [...totals].map(([name, bytes]) => ({ name, bytes })).sort((a, b) => b.bytes - a.bytes);
}

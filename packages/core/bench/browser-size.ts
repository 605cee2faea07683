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
  /** What a page loads for `@chorus/core` up front: the entry chunk and what it imports statically. */
  entry: BundleSize;
  /** How many files make `entry` (each gzipped on its own, as a page downloads them). */
  upFrontFiles: number;
  /** Every chunk loaded on first use (realtime, the SSE client, the schemas), together. */
  realtime: BundleSize;
  /** The chunks loaded on first use, each named by the package that makes most of it. */
  lazy: Array<{ name: string; size: BundleSize; packages: string[] }>;
  /** Modules with a `node:` specifier or a bare Node built-in that the bundle asked for. */
  nodeImports: string[];
  /** Input bytes by package, largest first, for "what got big". */
  inputs: Array<{ name: string; bytes: number }>;
  /** The modules that put code into the entry chunk. */
  entryModules: string[];
  /** The modules that put code into any chunk. */
  modules: string[];
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
  const outputs = result.metafile.outputs;
  const sizes = new Map<string, BundleSize>();
  for (const file of result.outputFiles) {
    const size = { min: file.contents.length, gz: gzipSync(file.contents, { level: 9 }).length };
    sizes.set(relative(file.path, result.metafile), size);
  }
  const entryName = Object.keys(outputs).find((o) => outputs[o]?.entryPoint === "<stdin>");
  // The entry and the chunks it imports statically load up front; the rest load on first use.
  const upFront = new Set<string>();
  const visit = (name: string) => {
    if (upFront.has(name) || outputs[name] === undefined) return;
    upFront.add(name);
    for (const i of outputs[name].imports) if (i.kind === "import-statement") visit(i.path);
  };
  if (entryName !== undefined) visit(entryName);
  let entry: BundleSize | undefined;
  const entryInputs: Array<[string, number]> = [];
  const lazy: BrowserBundle["lazy"] = [];
  const modules = new Set<string>();
  let realtime: BundleSize = { min: 0, gz: 0 };
  for (const [name, meta] of Object.entries(outputs)) {
    const size = sizes.get(name);
    if (size === undefined || name.endsWith(".map")) continue;
    const inputs = Object.entries(meta.inputs).map(([path, i]) => [path, i.bytesInOutput]) as Array<
      [string, number]
    >;
    for (const [path, bytes] of inputs) if (bytes > 0) modules.add(path);
    if (upFront.has(name)) {
      entry = entry ? { min: entry.min + size.min, gz: entry.gz + size.gz } : size;
      entryInputs.push(...inputs);
    } else {
      realtime = { min: realtime.min + size.min, gz: realtime.gz + size.gz };
      const packages = byPackage(inputs).filter((p) => p.bytes > 0);
      lazy.push({ name: packages[0]?.name ?? name, size, packages: packages.map((p) => p.name) });
    }
  }
  const entryModules = entryInputs.filter(([, bytes]) => bytes > 0).map(([path]) => path);
  const entryByPackage = byPackage(entryInputs);
  if (entry === undefined) throw new Error("esbuild produced no entry chunk");
  return {
    entry,
    upFrontFiles: upFront.size,
    realtime,
    lazy: lazy.sort((a, b) => b.size.min - a.size.min),
    nodeImports,
    inputs: byPackage(
      Object.entries(result.metafile.inputs).map(([path, input]) => [path, input.bytes]),
    ),
    entryModules,
    modules: [...modules],
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

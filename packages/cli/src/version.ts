import pkg from "../package.json" with { type: "json" };

/** This package's version, as `chorus --version` prints it (inlined at build time). */
export const version: string = pkg.version;

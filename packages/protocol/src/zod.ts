import { en } from "zod/locales";
import { config } from "zod/mini";

/*
 * zod's configuration for @chorus/protocol, imported (for its effect) by every module with
 * schemas. `zod/mini` rather than `zod`: the same validators and issues, but functions instead
 * of methods, so a bundler keeps only what the schemas use (`import { z } from "zod"` pulled
 * every locale into the browser entry of @chorus/core). Each module imports `zod/mini` itself
 * (`import * as z`): a namespace passed on from here would reach a bundler as a value, and it
 * would keep all of zod. zod/mini ships no messages, so English, the hub's language, is set
 * here, unless the process already chose a locale (zod's own classic build does the same).
 * `package.json` lists this module under `sideEffects` so bundlers keep it.
 */
if (config().localeError === undefined) config(en());

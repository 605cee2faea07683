import { en } from "zod/locales";
import * as z from "zod/mini";

/*
 * The one zod import of @chorus/protocol. `zod/mini` rather than `zod`: the same validators and
 * issues, but functions instead of methods, so a bundler keeps only what the schemas use (the
 * browser entry of @chorus/core carries these schemas; `import { z } from "zod"` pulled every
 * locale into it). zod/mini ships no messages, so English, the hub's language, is set here,
 * unless the process already chose a locale (zod's own classic build does the same).
 */
if (z.config().localeError === undefined) z.config(en());

export { z };

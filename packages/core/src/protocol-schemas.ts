/*
 * The protocol's (zod) schemas core validates with, in one module: Node loads it with core
 * (`platform.ts`), so `emit()` validates synchronously; the browser entry loads it on first use
 * (`platform.browser.ts`), so a page that never validates never downloads zod. The awaited APIs
 * (`chorus.events`, `chorus.intents`) validate every call with them, so they load together
 * (`api-front.ts`).
 */
export {
  eventInputSchema,
  eventQuerySchema,
  idSchema,
  isId,
  intentCreateSchema,
  intentEventInputSchema,
  intentListQuerySchema,
  intentLogQuerySchema,
  intentStatusChangeSchema,
  jsonObjectSchema,
  jsonShapeProblem,
  nameSchema,
  streamQuerySchema,
  timestampSchema,
  typeSchema,
} from "@chorus/protocol";
export { EventsApi } from "./events-api.js";
export { IntentsApi } from "./intents-api.js";

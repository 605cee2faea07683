/** A plain object read field by field; nothing the SDK hands us is trusted to match its types. */
export type Obj = Record<string, unknown>;

export const isObj = (value: unknown): value is Obj =>
  typeof value === "object" && value !== null && !Array.isArray(value);

export const str = (value: unknown): string | undefined =>
  typeof value === "string" ? value : undefined;

export const arr = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

/** A token count: a finite, non-negative number. */
export const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) && value >= 0 ? value : undefined;

import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { MIN_KEY_LENGTH } from "./auth.js";

/** What a dev key looks like: `dev_` and 24 base64url characters (144 random bits). */
const DEV_KEY = /^dev_[A-Za-z0-9_-]+$/;

/** A fresh dev key. */
export function generateDevKey(): string {
  return `dev_${randomBytes(18).toString("base64url")}`;
}

/** Where the dev key of a SQLite database file is kept: beside it, `<db>.dev-key`. */
export function devKeyPath(db: string): string {
  return `${db}.dev-key`;
}

/**
 * The dev key kept beside the database at `db`, created (mode 0600) on first use: a restarted
 * hub answers the same key, so a running `chorus tail` or a console tab keeps working. A file
 * that does not hold a dev key is replaced. The caller holds the database's one-hub lock, so
 * no other hub writes the file meanwhile.
 */
export function storedDevKey(db: string): string {
  const path = devKeyPath(db);
  let kept: string | undefined;
  try {
    kept = readFileSync(path, "utf8").trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  if (kept !== undefined && DEV_KEY.test(kept) && kept.length >= MIN_KEY_LENGTH) {
    // Written by an older hub or copied with a looser mode: it is a credential.
    chmodSync(path, 0o600);
    return kept;
  }
  const key = generateDevKey();
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  chmodSync(path, 0o600); // `mode` only applies when the file is created
  return key;
}

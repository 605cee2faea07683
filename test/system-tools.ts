/**
 * Tests that need a program from Debian's packages (Chromium, Postgres, Mosquitto's clients).
 * `.ci/run` installs them and sets `CI=1`: there a missing program is a failure, with the fix in
 * the message, never a skip. On a developer machine with only Node and npm the README's test
 * command must still pass, so those tests are skipped there, each with a warning saying what
 * was skipped and how to install what it needs.
 *
 * Returns whether the tests run: when the program is there, or under CI (where they then fail).
 */
export function systemTool(what: string, available: boolean, install: string): boolean {
  if (available || process.env.CI) return true;
  console.warn(`SKIPPED ${what}: not installed here (${install}); under CI=1 this fails`);
  return false;
}

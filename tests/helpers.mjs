// Test helpers shared by the suites.
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** The built library, as notebooks see it. */
export function lib() {
  return require(path.join(ROOT, 'dist', 'index.js'));
}

/** tf.js, the same instance the library uses. */
export function tf() {
  return require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'));
}

/**
 * A prerequisite outside npm (Jupyter, Chromium): skip with a message on a laptop without it, but
 * fail under CI=true, where .ci/run installs it and its absence means the install step is broken.
 */
export function needs(t, what, available, hint) {
  if (available) return true;
  const msg = `${what} is not available: ${hint}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI=true: a missing prerequisite is a failure)`);
  t.skip(msg);
  return false;
}

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));

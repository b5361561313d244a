import { accessSync, constants } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/**
 * Real Chromium for the browser tests, from the system: playwright-core downloads no browser, so the
 * tests drive Debian's `chromium-headless-shell` (or a full Chromium), which the README's system
 * packages command installs.
 */

/** The README's command for the system packages the tests need, quoted when none is found. */
export const INSTALL_COMMAND = 'sudo apt-get update && sudo apt-get install -y tmux chromium-headless-shell';

/**
 * Where a Chromium may be, best first. The headless shell is small and made for this; its
 * /usr/bin entry is a `sh` wrapper that does not `exec`, so the binary behind it comes first (signals
 * and exit codes then reach Chromium itself). A full Chromium also runs headless.
 */
const CANDIDATES = [
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/chromium',
  '/usr/bin/chromium',
];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to launch: GASCHAT_CHROMIUM when set (and then only it: a wrong path is a mistake to
 * report, not to paper over), else the first of CANDIDATES present.
 */
export function findChromium(): string {
  const chosen = process.env.GASCHAT_CHROMIUM;
  if (chosen) {
    if (!executable(chosen)) throw new Error(`GASCHAT_CHROMIUM=${chosen} is not an executable file`);
    return chosen;
  }
  const found = CANDIDATES.find(executable);
  if (!found) {
    throw new Error(
      `no Chromium for the browser tests (looked for ${CANDIDATES.join(', ')}): install the ` +
        `chromium-headless-shell package with \`${INSTALL_COMMAND}\`, or set GASCHAT_CHROMIUM`,
    );
  }
  return found;
}

/**
 * Launches the system Chromium headless. Its sandbox stays on, except as root: Chromium refuses to
 * start sandboxed as root ("Chromium sandboxing failed"), which is how CI containers run, and there
 * playwright-core's `chromiumSandbox: false` passes `--no-sandbox`. No other flag is needed.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: findChromium(),
    headless: true,
    chromiumSandbox: process.getuid?.() !== 0,
  });
}

/**
 * A new page in a context of its own (no cookies or storage shared with other pages), with the given
 * viewport, so that a test sees the layout a window of that size shows.
 */
export async function openPage(browser: Browser, viewport = { width: 1100, height: 760 }): Promise<Page> {
  const context = await browser.newContext({ viewport });
  return context.newPage();
}

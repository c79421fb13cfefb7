// Headless Chromium for the dashboard's browser tests, driven by playwright-core: Debian's
// chromium (scripts/setup-debian.sh --tests installs it), never a downloaded browser. Missing, the
// tests skip with the reason; under CI=true they fail instead.
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** For tests that need the browser: `{}` when it is there, `{skip}` otherwise (an error under CI). */
export function requireChromium(): { skip?: string } {
  if (fs.existsSync(CHROMIUM)) return {};
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is required under CI (CI=true) but is missing; install Debian's chromium (scripts/setup-debian.sh --tests does)`);
  return { skip: `${CHROMIUM} not found (apt-get install chromium); skipping the browser tests` };
}

/** The flags keep Chromium from its background connections, which a closed network refuses; --no-sandbox lets it run as root. */
export const launchChromium = (): Promise<Browser> => chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

/** The page's viewport for tests and docs/dashboard.md's picture. */
export const VIEWPORT = { width: 1400, height: 1000 };

/**
 * A PNG of the page's top (the tables and the first charts), at CSS pixels (not the device's) so
 * docs/dashboard.md's copy stays small: what the test saves and what `node dist/test/dashboard-screenshot.js`
 * writes to docs/.
 */
export async function screenshot(page: Page, file: string): Promise<Buffer> {
  const png = await page.screenshot({ clip: { x: 0, y: 0, width: VIEWPORT.width, height: 1700 }, fullPage: true, scale: 'css' });
  fs.writeFileSync(file, png);
  return png;
}

// Makes docs/dashboard.png, docs/dashboard.md's picture: the short experiment of the browser test, its
// dashboard, and the same screenshot() the test saves. Run: npx tsc -p tsconfig.json && node dist/test/dashboard-screenshot.js
import path from 'node:path';
import { launchChromium, screenshot, VIEWPORT } from './browser.js';
import { dashboardOn, shortExperiment } from './dashboard-fixture.js';
import { repoRoot } from './helpers.js';

const dir = shortExperiment();
const { url, running } = await dashboardOn(dir);
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: VIEWPORT });
  await page.goto(url);
  await page.waitForSelector('[data-chart] svg');
  const png = await screenshot(page, path.join(repoRoot, 'docs', 'dashboard.png'));
  console.log(`docs/dashboard.png: ${png.length} bytes`);
} finally {
  await browser.close();
  running.child.kill('SIGTERM');
  await running.exit;
}

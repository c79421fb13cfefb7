// The documented onnxruntime-web page in a real browser: the ```html block under "## ONNX" in docs/weights.md, served
// unchanged beside a `googlenet export`ed model, onnxruntime-web's dist/ as ort/ and real CIFAR-10
// test images as the PNGs it names, runs in headless Chromium (WebAssembly, one thread: the page is
// not cross-origin isolated) and logs our logits, with no console error or warning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { IMAGE_BYTES, readCifar } from '../src/data/cifar.js';
import { NORMALIZATIONS } from '../src/data/transforms.js';
import { writeWeightsFile } from '../src/io/weights.js';
import { manualSeed } from '../src/util/generator.js';
import { launchChromium, requireChromium } from './browser.js';
import { docSection, readDoc, repoRoot, sharedOpts, sharedPath } from './helpers.js';
import { maxRelErr, ourLogits, randomNet, TOL } from './onnx-fixture.js';
import { pngFromChw } from './png.js';
import { cli } from './processes.js';
import { toFloatBatch } from './random.js';

const chromium = requireChromium();
const opts = { ...sharedOpts, ...(chromium.skip ? { skip: chromium.skip } : {}), timeout: 120_000 };
const ORT_DIST = path.join(repoRoot, 'node_modules', 'onnxruntime-web', 'dist');
const ONNX_DOC = 'docs/weights.md';

/** The ```html block in docs/weights.md's "## ONNX" section. */
function documentedPage(): string {
  const section = docSection(readDoc(ONNX_DOC), '## ONNX', ONNX_DOC);
  const blocks = [...section.matchAll(/```html\n([\s\S]*?)```/g)];
  assert.equal(blocks.length, 1, `${ONNX_DOC}'s "## ONNX" section should hold one \`\`\`html block`);
  return blocks[0][1];
}

const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png', '.onnx': 'application/octet-stream' };

/** A static server of `root` on 127.0.0.1 (`/` is index.html); it notes each request's path, status and type. */
async function serve(root: string): Promise<{ url: string; served: { path: string; status: number; type?: string }[]; close: () => Promise<void> }> {
  const served: { path: string; status: number; type?: string }[] = [];
  const server = http.createServer((req, res) => {
    const p = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = path.join(root, p === '/' ? 'index.html' : p);
    const type = TYPES[path.extname(file)];
    if (!file.startsWith(root + path.sep) || !type || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      served.push({ path: p, status: 404 });
      res.writeHead(404).end();
      return;
    }
    served.push({ path: p, status: 200, type });
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, served, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("docs/weights.md's onnxruntime-web page in Chromium: an exported googlenet-short4 gives our logits on real CIFAR-10 test images, no console errors", opts, async () => {
  assert.ok(fs.existsSync(path.join(ORT_DIST, 'ort.min.js')), `${ORT_DIST}/ort.min.js is missing: npm install --ignore-scripts installs the devDependency onnxruntime-web`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gn-onnx-web-'));
  const net = randomNet('googlenet-short4', 10, manualSeed(21));
  const browser = await launchChromium();
  const server = await serve(dir);
  try {
    const weights = path.join(dir, 'w.safetensors');
    writeWeightsFile(weights, net.stateDict(), 'safetensors');
    const r = cli(['export', '--model', 'googlenet-short4', '--weights', weights, '--dataset', 'cifar10', '--format', 'onnx', '--out', path.join(dir, 'model.onnx')]);
    assert.equal(r.code, 0, r.stderr);
    fs.rmSync(weights);
    fs.symlinkSync(ORT_DIST, path.join(dir, 'ort'));
    const html = documentedPage();
    fs.writeFileSync(path.join(dir, 'index.html'), html);

    // each PNG the page names is the first CIFAR-10 test image of the class so named
    const names = [...html.matchAll(/<img src="([a-z]+)\.png">/g)].map((m) => m[1]);
    assert.ok(names.length >= 2, `the documented page names ${names.length} images; a batch needs 2 or more`);
    const data = readCifar(sharedPath('data'), 'cifar10', 'test', { limit: 200 });
    const indices = names.map((name) => {
      const i = data.labels.findIndex((l) => data.classNames[l] === name);
      assert.ok(i >= 0, `no CIFAR-10 class '${name}' (classes: ${data.classNames.join(', ')}) among the first 200 test images`);
      fs.writeFileSync(path.join(dir, `${name}.png`), pngFromChw(data.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES), 32, 32));
      return i;
    });

    const page = await browser.newPage();
    const problems: string[] = [];
    // the browser asks for /favicon.ico on its own; that 404 is no fault of the page
    const favicon = (m: { location: () => { url: string } }) => m.location().url.endsWith('/favicon.ico');
    page.on('console', (m) => { if ((m.type() === 'error' || m.type() === 'warning') && !favicon(m)) problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    const logged = page.waitForEvent('console', { predicate: (m) => m.text().startsWith('classes'), timeout: 60_000 });
    const failed = page.waitForEvent('pageerror', { timeout: 60_000 }).then((e) => { throw new Error(`the page threw: ${e.message}`); });
    const [, message] = await Promise.all([page.goto(server.url), Promise.race([logged, failed])]);
    const [, classes, , rows] = await Promise.all(message.args().map((a) => a.jsonValue())) as [string, number[], string, number[][]];

    const ours = ourLogits(net, toFloatBatch(data, indices, NORMALIZATIONS.half), indices.length);
    assert.deepEqual(rows.map((row) => row.length), names.map(() => 10));
    const e = maxRelErr(rows.flat(), ours);
    assert.ok(e <= TOL, `browser vs ours, batch of ${names.length}: max relative error ${e.toExponential(3)} > ${TOL}`);
    assert.deepEqual(classes, rows.map((row) => row.indexOf(Math.max(...row))));
    console.log(`onnxruntime-web in Chromium, batch of ${names.length}: max relative error ${e.toExponential(3)}`);

    // single-threaded WebAssembly (the page is not cross-origin isolated), fetched from beside ort.min.js as application/wasm
    assert.equal(await page.evaluate(() => crossOriginIsolated), false);
    const wasm = server.served.filter((s) => s.path.endsWith('.wasm'));
    assert.equal(wasm.length, 1, JSON.stringify(wasm));
    assert.match(wasm[0].path, /^\/ort\/ort-wasm-simd-threaded\.[a-z.]*wasm$/);
    assert.deepEqual([wasm[0].status, wasm[0].type], [200, 'application/wasm']);
    // every file the page asks for is there (the browser's own /favicon.ico aside)
    assert.deepEqual(server.served.filter((s) => s.status !== 200 && s.path !== '/favicon.ico'), []);
    assert.deepEqual(problems, []);
    console.log(`served: ${server.served.map((s) => s.path).join(' ')}`);
  } finally {
    await browser.close();
    await server.close();
    net.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The README is the front page and docs/ holds the reference: the README stays short and links every docs page,
// and every relative link in README.md and docs/*.md reaches a file that exists and, for `#anchor`, a heading
// there (GitHub's slugs), so a moved section cannot leave a dead link behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { readDoc, repoRoot } from './helpers.js';

const DOCS = ['README.md', ...fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];

/** The document's lines outside fenced code blocks (code is not Markdown: its brackets are no links, its `#` no headings). */
function prose(doc: string): string[] {
  let fenced = false;
  return doc.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) { fenced = !fenced; return false; }
    return !fenced;
  });
}

/** GitHub's anchor for a heading's text: lowercase, inline markup and punctuation dropped, each space a hyphen. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link or image: its text
    .replace(/<[^>]+>/g, '')
    .replace(/[`*]/g, '');
  return text.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** The anchors a document's headings make, numbered -1, -2… when repeated, as GitHub does. */
function anchors(doc: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(doc)) {
    const m = /^#{1,6} (.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link and image target of a document's prose (inline code spans left out). */
function links(doc: string): string[] {
  const text = prose(doc).map((l) => l.replace(/`[^`]*`/g, '')).join('\n');
  return [...text.matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

test('GitHub slugs as GitHub makes them', () => {
  assert.equal(slug('`googlenet step`: compare with PyTorch on any batch'), 'googlenet-step-compare-with-pytorch-on-any-batch');
  assert.equal(slug("Why the bottlenecks matter: the seed's arithmetic"), 'why-the-bottlenecks-matter-the-seeds-arithmetic');
  assert.equal(slug('Measured parity (this machine, 2-core AMD EPYC, oneDNN 2.6.3)'), 'measured-parity-this-machine-2-core-amd-epyc-onednn-263');
  assert.equal(slug('googlenet — train and study GoogLeNet in TypeScript, on oneDNN'), 'googlenet--train-and-study-googlenet-in-typescript-on-onednn');
  assert.deepEqual([...anchors('# A\n## A\n```\n# not a heading\n```\n## A b_c\n')], ['a', 'a-1', 'a-b_c']);
});

test('every relative link in README.md and docs/*.md reaches a file that exists, and its #anchor a heading there', () => {
  let checked = 0;
  for (const file of DOCS) {
    const doc = readDoc(file);
    for (const target of links(doc)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not this repository's
      const [where, anchor] = target.split('#') as [string, string | undefined];
      const resolved = where ? path.posix.normalize(path.posix.join(path.posix.dirname(file), decodeURIComponent(where))) : file;
      assert.ok(!resolved.startsWith('..'), `${file}: ${target} leaves the repository`);
      assert.ok(fs.existsSync(path.join(repoRoot, resolved)), `${file}: ${target} names ${resolved}, which does not exist`);
      if (anchor !== undefined) {
        assert.ok(resolved.endsWith('.md'), `${file}: ${target} has an anchor in a file that is not Markdown`);
        const there = anchors(readDoc(resolved));
        assert.ok(there.has(anchor), `${file}: ${target}: ${resolved} has no heading whose anchor is #${anchor} (it has ${[...there].map((a) => `#${a}`).join(' ')})`);
      }
      checked++;
    }
  }
  assert.ok(checked >= 20, `${checked} links checked`);
});

test('the README is the front page: under 200 lines, and it links every page of docs/', () => {
  const readme = readDoc('README.md');
  const lines = readme.split('\n').length - (readme.endsWith('\n') ? 1 : 0);
  assert.ok(lines < 200, `README.md has ${lines} lines`);
  const linked = new Set(links(readme).map((t) => t.split('#')[0]));
  for (const page of DOCS.filter((f) => f !== 'README.md')) assert.ok(linked.has(page), `README.md does not link ${page}`);
});

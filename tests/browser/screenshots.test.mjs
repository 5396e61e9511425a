// The README's theme screenshots are made by scripts/screenshots.mjs from the live demo, so they
// stay true: the script runs and writes three PNGs whose backgrounds are the three themes', and
// the images the README shows are committed PNGs of the same kind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { launchBrowser, pngSize } from './harness.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const THEMES = ['dark', 'light', 'custom'];

/** The colour of the pixel at (x, y) of each PNG, decoded by Chromium. */
async function pixels(t, files, x, y) {
  const browser = await launchBrowser(t);
  const page = await browser.newPage();
  return page.evaluate(async ([b64s, px, py]) => Promise.all(b64s.map(async (b) => {
    const img = new Image();
    img.src = `data:image/png;base64,${b}`;
    await img.decode();
    const c = document.createElement('canvas');
    c.width = img.width;
    c.height = img.height;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return [...ctx.getImageData(px, py, 1, 1).data].slice(0, 3).join(',');
  })), [files.map((f) => readFileSync(f).toString('base64')), x, y]);
}

test('the README shows a committed PNG screenshot of each theme', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const theme of THEMES) {
    const rel = `docs/img/theme-${theme}.png`;
    assert.ok(readme.includes(`](${rel})`), `README.md shows ${rel}`);
    const size = pngSize(readFileSync(join(ROOT, rel)));
    assert.equal(size.width, 1280, `${rel} is the script's 1280 px wide page`);
  }
});

test('scripts/screenshots.mjs makes the three theme screenshots from the demo, each in its theme', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'streamviz-shots-'));
  t.after(() => rmSync(out, { recursive: true, force: true }));
  await promisify(execFile)('node', [join(ROOT, 'scripts/screenshots.mjs'), '--out', out], { cwd: ROOT, timeout: 600000 });
  const files = THEMES.map((th) => join(out, `theme-${th}.png`));
  for (const f of files) assert.equal(pngSize(readFileSync(f)).width, 1280, `${f}: a PNG of the 1280 px page`);
  // The page background, just under the header at the left edge: three different colours.
  const bg = await pixels(t, files, 2, 58);
  assert.equal(new Set(bg).size, 3, `three backgrounds: ${bg}`);
  assert.equal(bg[2], '16,23,42', 'the custom theme\u2019s background (#10172a)');
});

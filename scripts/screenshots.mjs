// The README's theme screenshots, made from the live Pathway demo (`python -m stream_viz demo`,
// what `make demo` runs): docs/img/theme-dark.png, theme-light.png and theme-custom.png.
//   node scripts/screenshots.mjs [--out DIR] [--manual]
// Dark and light are one demo run viewed with ?theme=dark and ?theme=light; custom is a second
// run started with a custom theme (accent, background, font, radius), as `sv.configure(theme=...)`
// sets it. Each shot waits until the demo's widgets hold data, so they show a working dashboard.
// Needs bin/streamviz (make build), .venv (make venv) and Chromium (make setup-test).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const ROOT = new URL('..', import.meta.url).pathname;
const require = createRequire(join(ROOT, 'tests/browser/package.json'));
const { chromium } = require('playwright-core');

const { values } = parseArgs({ options: { out: { type: 'string' }, manual: { type: 'boolean' } } });
const OUT = values.out ?? join(ROOT, 'docs/img');
const PYTHON = process.env.PYTHON ?? join(ROOT, '.venv/bin/python');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CUSTOM = { mode: 'dark', accent: '#f97316', background: '#10172a', surface: '#1b2540', font: "Georgia, 'DejaVu Serif', serif", radius: 14 };
const VIEWPORT = { width: 1280, height: 900 };

/**
 * Starts the demo and resolves with its dashboard URL and a stop function (Ctrl-C, then SIGKILL).
 * @param {string[]} extra
 */
async function startDemo(extra) {
  const args = ['-m', 'stream_viz', 'demo', '--port', '0', '--seconds', '600', ...(values.manual ? ['--manual'] : []), ...extra];
  const env = { ...process.env, STREAMVIZ_BIN: process.env.STREAMVIZ_BIN ?? join(ROOT, 'bin/streamviz'), PYTHONPATH: join(ROOT, 'python/src') };
  const proc = spawn(PYTHON, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve(code ?? signal)));
  let log = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the demo printed no dashboard URL in 180 s:\n${log}`)), 180000);
    createInterface({ input: proc.stderr }).on('line', (line) => {
      log += `${line}\n`;
      const m = /StreamViz dashboard: (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    exited.then((code) => reject(new Error(`the demo exited (${code}) before serving:\n${log}`)));
  });
  return {
    url,
    stop: async () => {
      proc.kill('SIGINT');
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * A screenshot of the dashboard once every widget holds data.
 * @param {import('playwright-core').Browser} browser
 * @param {string} url
 * @param {string} file
 */
async function shoot(browser, url, file) {
  const page = await browser.newPage({ viewport: VIEWPORT });
  try {
    await page.goto(url);
    await page.waitForFunction(() => {
      const chart = document.querySelector('sv-chart');
      const rows = document.querySelectorAll('sv-table tbody tr').length;
      const stat = document.querySelector('sv-stat')?.textContent ?? '';
      return document.body.dataset.ready === '1' && chart?.plot && Number(chart.dataset.points) >= 6 && rows >= 6 && /\d/.test(stat);
    }, null, { timeout: 120000, polling: 250 });
    // The header's "updated …" and the cursor are the only moving parts; no pointer on the page.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    await page.screenshot({ path: file, fullPage: true });
    console.log(`wrote ${file}`);
  } finally {
    await page.close();
  }
}

mkdirSync(OUT, { recursive: true });
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
try {
  const plain = await startDemo([]);
  try {
    await shoot(browser, `${plain.url}?theme=dark`, join(OUT, 'theme-dark.png'));
    await shoot(browser, `${plain.url}?theme=light`, join(OUT, 'theme-light.png'));
  } finally {
    await plain.stop();
  }
  const custom = await startDemo(['--theme', JSON.stringify(CUSTOM)]);
  try {
    await shoot(browser, custom.url, join(OUT, 'theme-custom.png'));
  } finally {
    await custom.stop();
  }
} finally {
  await browser.close();
}

// Keeps a StreamViz dashboard open in Debian's Chromium (never a downloaded browser) and reports
// what the page shows, for test_faults.py: one JSON line each time the connection state or the
// chart's last value changes, stamped with the wall clock (ms since the epoch), so the test can
// time the page's reconnection against the server's ready line.
//
//   node fault_page.mjs <dashboard url> <chart widget id>
//
// Runs until its standard input closes.
import { chromium } from '../../tests/browser/node_modules/playwright-core/index.mjs';

const [url, chartId] = process.argv.slice(2);
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));
await page.goto(url);
// The page itself watches its DOM, so no change is missed between two polls from here.
await page.exposeFunction('svReport', (s) => process.stdout.write(JSON.stringify({ ...s, t: Date.now() }) + '\n'));
await page.evaluate((id) => {
  let last = '';
  const read = () => {
    const chart = document.querySelector(`[data-widget-id="${id}"] [data-last-y]`);
    const s = {
      conn: document.querySelector('#sv-conn')?.dataset.state ?? null,
      lastY: chart ? Number(chart.getAttribute('data-last-y')) : null,
    };
    const key = JSON.stringify(s);
    if (key !== last) {
      last = key;
      window.svReport(s);
    }
  };
  new MutationObserver(read).observe(document.body, { subtree: true, attributes: true, childList: true, characterData: true });
  read();
}, chartId);

process.stdin.resume();
process.stdin.on('end', async () => {
  process.stdout.write(JSON.stringify({ end: true, errors }) + '\n');
  await browser.close();
  process.exit(0);
});

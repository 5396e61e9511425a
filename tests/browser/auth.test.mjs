// A token-protected server in real Chromium: the login form, signed embed links, and which
// origins may frame them.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { test } from 'node:test';
import { BIN, launchBrowser, newPage, publish, startServer, waitFor } from './harness.mjs';

const TOKEN = 'browser-test-token-7d1e';

const WIDGETS = [
  ['sv.revenue.config', { type: 'stat', title: 'Revenue', format: ',.0f', order: 1 }],
  ['sv.revenue.data', { value: 1234567 }],
  ['sv.secret.config', { type: 'stat', title: 'Secret', format: ',.0f', order: 2 }],
  ['sv.secret.data', { value: 7770001 }],
];

const pageText = (page) => page.evaluate(() => document.body.innerText);

/** `streamviz embed-url`, as a user would run it. */
function embedLink(base, widget, expires = '1h') {
  return execFileSync(BIN, ['embed-url', widget, '--expires', expires, '--base-url', base], {
    env: { ...process.env, STREAMVIZ_TOKEN: TOKEN },
  }).toString().trim();
}

test('with a token the dashboard shows only a login form until the token is entered', async (t) => {
  const server = await startServer({ extraArgs: ['--token', TOKEN] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);

  const resp = await page.goto(`http://${server.http}/`);
  assert.equal(resp.status(), 401);
  assert.equal(await page.locator('input[name="token"]').count(), 1, 'the login form');
  assert.equal(await page.locator('[data-widget-id]').count(), 0);
  let text = await pageText(page);
  assert.doesNotMatch(text, /1,234,567|7,770,001|Revenue|Secret/, 'no data before login');

  await page.fill('input[name="token"]', 'wrong');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  assert.match(await page.textContent('#sv-login-error'), /not right/);
  assert.equal(await page.locator('[data-widget-id]').count(), 0);

  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/');
  await waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'), 10000, 'the dashboard after login');
  await waitFor(async () => /1,234,567/.test(await pageText(page)), 10000, 'the revenue value');
  text = await pageText(page);
  assert.match(text, /7,770,001/);
  assert.equal(await page.getAttribute('#sv-conn', 'data-state'), 'live', 'the socket opened with the session cookie');
  assert.deepEqual(errors, []);
});

test('a ?token= link from another site logs in and lands on the dashboard without the token', async (t) => {
  const server = await startServer({ extraArgs: ['--token', TOKEN] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  // localhost and 127.0.0.1 are different sites: the click is a cross-site navigation.
  const host = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><title>chat</title><a id="l" href="http://${server.http}/?token=${TOKEN}">dashboard</a>`);
  });
  await new Promise((r) => host.listen(0, 'localhost', r));
  t.after(() => host.close());
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.goto(`http://localhost:${host.address().port}/`);
  await page.click('#l');
  await waitFor(async () => /1,234,567/.test(await pageText(page)), 10000, 'the dashboard after following the link');
  assert.equal(page.url(), `http://${server.http}/`, 'the token is gone from the address');
  assert.deepEqual(errors, []);
});

test('a signed embed link renders its widget alone, live, and opens nothing else', async (t) => {
  const server = await startServer({ extraArgs: ['--token', TOKEN] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const base = `http://${server.http}`;
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);

  const link = embedLink(base, 'revenue');
  const resp = await page.goto(link);
  assert.equal(resp.status(), 200);
  await waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'), 10000, 'the embed page');
  await waitFor(async () => /1,234,567/.test(await pageText(page)), 10000, 'the revenue value');
  await publish(server.nats, [['sv.revenue.data', { value: 2000000 }], ['sv.secret.data', { value: 8880001 }]]);
  await waitFor(async () => /2,000,000/.test(await pageText(page)), 10000, 'a live update over the signed socket');
  const shown = await page.evaluate(() => [...document.querySelectorAll('[data-widget-id]')].map((e) => e.dataset.widgetId));
  assert.deepEqual(shown, ['revenue']);
  assert.doesNotMatch(await pageText(page), /Secret|7,770,001|8,880,001/);

  // The same page, with the link's exp and sig, can reach nothing else.
  const { search } = new URL(link);
  const others = await page.evaluate(async (q) => {
    const out = {};
    for (const p of ['/', '/api/widgets', '/api/widgets/revenue' + q, '/embed/secret' + q, '/' + q]) {
      const r = await fetch(p);
      out[p] = { status: r.status, leaked: /7770001|8880001|Secret/.test(await r.text()) };
    }
    return out;
  }, search);
  for (const [p, r] of Object.entries(others)) assert.deepEqual(r, { status: 401, leaked: false }, p);

  const tampered = await page.goto(link.replace(/sig=(.)/, (_, c) => `sig=${c === '0' ? '1' : '0'}`));
  assert.equal(tampered.status(), 401);
  assert.equal(await page.locator('[data-widget-id]').count(), 0);
  assert.deepEqual(errors, []);
});

test('--embed-origins lets the listed origin frame an embed link; other origins are refused', async (t) => {
  // One host page server, reached under two origins: 127.0.0.1 (listed) and localhost (not).
  let frameSrc = '';
  const host = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><title>host</title><iframe id="f" src="${frameSrc}" width="400" height="300"></iframe>`);
  });
  await new Promise((r) => host.listen(0, '127.0.0.1', r));
  t.after(() => host.close());
  const hostPort = host.address().port;
  const server = await startServer({ extraArgs: ['--token', TOKEN, '--embed-origins', `http://127.0.0.1:${hostPort}`] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  frameSrc = embedLink(`http://${server.http}`, 'revenue');
  const browser = await launchBrowser(t);

  const allowed = await newPage(browser, []);
  await allowed.goto(`http://127.0.0.1:${hostPort}/`);
  const frame = await (await allowed.waitForSelector('#f')).contentFrame();
  await waitFor(async () => /1,234,567/.test(await frame.evaluate(() => document.body.innerText)), 10000, 'the framed widget');

  const refused = await newPage(browser, []);
  const blocked = [];
  refused.on('console', (m) => { if (/frame-ancestors/.test(m.text())) blocked.push(m.text()); });
  await refused.goto(`http://localhost:${hostPort}/`);
  await waitFor(() => blocked.length > 0, 10000, 'Chromium refusing the frame (frame-ancestors)');
  const text = await (await (await refused.waitForSelector('#f')).contentFrame()).evaluate(() => document.body?.innerText ?? '').catch(() => '');
  assert.doesNotMatch(text, /1,234,567/);
});

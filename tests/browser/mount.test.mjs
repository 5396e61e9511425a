// The dashboard under a path: the README's Go program (examples/mount) mounting the handler at
// /dash/ with http.StripPrefix, and `streamviz serve --base-path` for a proxy that forwards its
// prefix. Both must load their scripts, open their socket and show live updates, which absolute
// URLs (/static/..., /ws) broke.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { BIN, launchBrowser, newPage, publish, startServer, tempDir, waitFor } from './harness.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;

const WIDGETS = [
  ['sv.$dashboard.config', { title: 'Mounted board' }],
  ['sv.sales.config', { type: 'stat', title: 'Sales', order: 1 }],
  ['sv.sales.data', { value: 41 }],
  ['sv.trend.config', { type: 'chart', title: 'Trend', order: 2 }],
  ['sv.trend.data', { points: [[1764230400000, 1], [1764230401000, 2]] }],
];

/** Builds and starts examples/mount; resolves with its ready line. */
async function startMountExample(t) {
  const dir = tempDir(t);
  const bin = join(dir, 'mount');
  const built = spawnSync(process.env.GO || 'go', ['build', '-o', bin, './examples/mount'], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(built.status, 0, `go build ./examples/mount: ${built.stderr}`);
  const proc = spawn(bin, ['-addr', '127.0.0.1:0', '-nats-addr', '127.0.0.1:0', '-data-dir', join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  t.after(() => { proc.kill('SIGTERM'); return exited; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ready line in 30s; stderr:\n${stderr}`)), 30000);
    createInterface({ input: proc.stdout }).once('line', (line) => { clearTimeout(timer); resolve(JSON.parse(line)); });
    exited.then((code) => reject(new Error(`mount exited ${code}; stderr:\n${stderr}`)));
  });
}

/** Loads url, checks that nothing was fetched outside prefix, and that the page goes live and follows updates. */
async function checkLiveUnder(t, url, prefix, nats) {
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  const outside = [];
  const failed = [];
  page.on('request', (r) => { if (!new URL(r.url()).pathname.startsWith(prefix) && !r.url().startsWith('data:')) outside.push(r.url()); });
  page.on('requestfailed', (r) => failed.push(r.url()));
  page.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  await publish(nats, WIDGETS);
  await page.goto(url);
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'
    && document.querySelector('[data-widget-id="sales"] .sv-stat-value')?.textContent === '41'), 15000, 'the mounted page live with its widgets');
  assert.equal(await page.textContent('#sv-title'), 'Mounted board');
  await publish(nats, [['sv.sales.data', { value: 42 }], ['sv.trend.data', { x: 1764230402000, y: 3 }]]);
  await waitFor(() => page.evaluate(() => document.querySelector('[data-widget-id="sales"] .sv-stat-value')?.textContent === '42'
    && document.querySelector('[data-widget-id="trend"] [data-points]')?.getAttribute('data-points') === '3'), 15000, 'a live update');
  // The embed page is one level down: its relative URLs must still reach the assets and the socket.
  const embed = await newPage(browser, errors);
  embed.on('request', (r) => { if (!new URL(r.url()).pathname.startsWith(prefix)) outside.push(r.url()); });
  embed.on('response', (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`); });
  await embed.goto(new URL('embed/trend', url).href);
  await waitFor(() => embed.evaluate(() => document.querySelector('[data-widget-id="trend"] [data-points]')?.getAttribute('data-points') === '3'
    && document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'the mounted embed page');
  assert.deepEqual(outside, [], `requests outside ${prefix}`);
  assert.deepEqual(failed, []);
  assert.deepEqual(errors, []);
}

test('the README Go program serves a live dashboard and embed page under /dash/', async (t) => {
  const ready = await startMountExample(t);
  await checkLiveUnder(t, `http://${ready.http}/dash/`, '/dash/', ready.nats);
});

test('serve --base-path serves a live dashboard under that path and nothing at the root', async (t) => {
  const server = await startServer({ extraArgs: ['--base-path', '/team/streamviz/'] });
  t.after(() => server.stop());
  assert.equal((await fetch(`http://${server.http}/`)).status, 404);
  await checkLiveUnder(t, `http://${server.http}/team/streamviz/`, '/team/streamviz/', server.nats);
});

test('under --base-path with a token, the login, its cookie and a signed embed link all stay below the base', async (t) => {
  const TOKEN = 'base-path-token-51c9';
  const server = await startServer({ extraArgs: ['--base-path', '/sv/', '--token', TOKEN] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const browser = await launchBrowser(t);
  const errors = [];
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(e.message));
  const failed = [];
  page.on('response', (r) => { if (r.status() >= 400 && r.url() !== `http://${server.http}/sv/`) failed.push(`${r.status()} ${r.url()}`); });
  const resp = await page.goto(`http://${server.http}/sv/`);
  assert.equal(resp.status(), 401);
  // The login form's stylesheet loads from below the base too.
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor !== 'rgba(0, 0, 0, 0)'), true, 'the login page is styled');
  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/sv/', 'login returns to the dashboard under the base');
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'
    && document.querySelector('[data-widget-id="sales"] .sv-stat-value')?.textContent === '41'), 15000, 'the dashboard after login');
  const cookies = await context.cookies();
  assert.deepEqual(cookies.map((c) => [c.name, c.path]), [['streamviz_session', '/sv/']]);

  // A signed link made with the base in --base-url opens its widget in a browser without the cookie.
  const link = execFileSync(BIN, ['embed-url', 'trend', '--base-url', `http://${server.http}/sv/`], {
    env: { ...process.env, STREAMVIZ_TOKEN: TOKEN },
  }).toString().trim();
  assert.ok(link.startsWith(`http://${server.http}/sv/embed/trend?`), link);
  const fresh = await (await browser.newContext()).newPage();
  fresh.on('pageerror', (e) => errors.push(e.message));
  await fresh.goto(link);
  await waitFor(() => fresh.evaluate(() => document.querySelector('[data-widget-id="trend"] [data-points]')?.getAttribute('data-points') === '2'
    && document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'the signed embed under the base');
  assert.deepEqual(failed, []);
  assert.deepEqual(errors, []);
});

/** A reverse proxy on a free port that serves `upstream` under `prefix`, stripping it, WebSockets included. */
async function strippingProxy(t, upstream, prefix) {
  const [host, port] = [upstream.slice(0, upstream.lastIndexOf(':')), Number(upstream.slice(upstream.lastIndexOf(':') + 1))];
  const strip = (url) => (url.startsWith(prefix) ? url.slice(prefix.length - 1) : null);
  const proxy = createServer((req, res) => {
    const path = strip(req.url);
    if (path === null) {
      res.writeHead(404).end();
      return;
    }
    const up = request({ host, port, path, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  proxy.on('upgrade', (req, socket, head) => {
    const path = strip(req.url);
    if (path === null) {
      socket.destroy();
      return;
    }
    const up = connect(port, host, () => {
      const lines = [`${req.method} ${path} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      up.write(head);
      socket.pipe(up).pipe(socket);
    });
    up.on('error', () => socket.destroy());
    socket.on('error', () => up.destroy());
  });
  const sockets = new Set();
  proxy.on('connection', (c) => { sockets.add(c); c.on('close', () => sockets.delete(c)); });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => { for (const c of sockets) c.destroy(); return new Promise((r) => proxy.close(r)); });
  return `127.0.0.1:${proxy.address().port}`;
}

test('behind a reverse proxy that strips /streamviz/, the dashboard and its embeds are live', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  const proxied = await strippingProxy(t, server.http, '/streamviz/');
  await checkLiveUnder(t, `http://${proxied}/streamviz/`, '/streamviz/', server.nats);
});

test('behind a stripping proxy the login form and a ?token= link return below the proxy prefix', async (t) => {
  const TOKEN = 'proxy-token-2b7e';
  const server = await startServer({ extraArgs: ['--token', TOKEN] });
  t.after(() => server.stop());
  await publish(server.nats, WIDGETS);
  const proxied = await strippingProxy(t, server.http, '/streamviz/');
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  const outside = [];
  page.on('request', (r) => { if (!new URL(r.url()).pathname.startsWith('/streamviz/')) outside.push(r.url()); });
  const resp = await page.goto(`http://${proxied}/streamviz/embed/trend`);
  assert.equal(resp.status(), 401);
  await page.fill('input[name="token"]', TOKEN);
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  assert.equal(new URL(page.url()).pathname, '/streamviz/embed/trend', 'back on the page asked for, under the prefix');
  await waitFor(() => page.evaluate(() => document.querySelector('[data-widget-id="trend"] [data-points]')?.getAttribute('data-points') === '2'
    && document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'the embed after login');
  // A ?token= link trades the token for the cookie and stays under the prefix too.
  const linked = await (await browser.newContext()).newPage();
  linked.on('pageerror', (e) => errors.push(e.message));
  linked.on('request', (r) => { if (!new URL(r.url()).pathname.startsWith('/streamviz/')) outside.push(r.url()); });
  await linked.goto(`http://${proxied}/streamviz/embed/trend?token=${TOKEN}&theme=light`);
  const landed = new URL(linked.url());
  assert.equal(landed.pathname + landed.search, '/streamviz/embed/trend?theme=light');
  await waitFor(() => linked.evaluate(() => document.querySelector('#sv-conn')?.getAttribute('data-state') === 'live'), 15000, 'the linked embed live');
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, newPage, openPage, publish, startServer, waitFor } from './harness.mjs';

const cards = (page) => page.evaluate(() => [...document.querySelectorAll('[data-widget-id]')].map((e) => e.dataset.widgetId));

test('a live card disappears when its widget is removed, and comes back empty when declared again', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.old_name.config', { type: 'chart', title: 'Old name', order: 1 }],
    ['sv.old_name.data', { points: [[1, 1], [2, 2], [3, 3]] }],
    ['sv.kept.config', { type: 'stat', title: 'Kept', order: 2 }],
    ['sv.kept.data', { value: 5 }],
  ]);
  await waitFor(async () => (await cards(page)).length === 2, 10000, 'both cards');

  await publish(server.nats, [['sv.old_name.config', { remove: true }]]);
  await waitFor(async () => (await cards(page)).join() === 'kept', 10000, 'the removed card to go');
  assert.equal(await page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state), 'live', 'no reconnect was needed');

  await publish(server.nats, [['sv.old_name.data', { points: [[10, 7]] }]]);
  await waitFor(async () => (await cards(page)).includes('old_name'), 10000, 'the card declared again');
  const points = await page.evaluate(() => document.querySelector('[data-widget-id="old_name"] [data-points]')?.getAttribute('data-points'));
  assert.equal(points, '1', 'the widget declared again holds none of the old points');

  // A fresh page never shows a removed widget.
  await publish(server.nats, [['sv.old_name.config', { remove: true }]]);
  await page.reload();
  await waitFor(async () => (await cards(page)).join() === 'kept', 10000, 'a fresh page without the removed card');
  assert.deepEqual(errors, []);
});

// Where the keyboard focus goes when the card holding it is removed: never silently to <body>,
// which would send a keyboard reader back to the top of the page.
const focusCases = [
  { name: 'on its menu button: the next card takes it', focused: 'b', open: false, want: 'c' },
  { name: 'in its open menu: the next card takes it, and no menu stays open', focused: 'b', open: true, want: 'c' },
  { name: 'on the last card: the card before it takes it', focused: 'c', open: false, want: 'b' },
];
for (const tc of focusCases) {
  test(`the focus of a removed card moves to a neighbour when it was ${tc.name}`, async (t) => {
    const { server, page, errors } = await openPage(t, [
      ['sv.a.config', { type: 'stat', title: 'A', order: 1 }],
      ['sv.b.config', { type: 'stat', title: 'B', order: 2 }],
      ['sv.c.config', { type: 'stat', title: 'C', order: 3 }],
    ]);
    await waitFor(async () => (await cards(page)).join() === 'a,b,c', 10000, 'three cards');
    await page.focus(`[data-widget-id="${tc.focused}"] .sv-menu-btn`);
    if (tc.open) {
      await page.keyboard.press('Enter');
      await waitFor(() => page.evaluate(() => document.activeElement?.getAttribute('role') === 'menuitem'), 10000, 'the menu open with its first item focused');
    }
    await publish(server.nats, [[`sv.${tc.focused}.config`, { remove: true }]]);
    await waitFor(async () => !(await cards(page)).includes(tc.focused), 10000, 'the removed card to go');
    const focus = await page.evaluate(() => ({
      tag: document.activeElement?.tagName,
      card: document.activeElement?.closest('[data-widget-id]')?.getAttribute('data-widget-id') ?? null,
      menuButton: document.activeElement?.classList.contains('sv-menu-btn') ?? false,
      openMenus: document.querySelectorAll('.sv-menu:not([hidden])').length,
    }));
    assert.deepEqual(focus, { tag: 'BUTTON', card: tc.want, menuButton: true, openMenus: 0 });
    assert.deepEqual(errors, []);
  });
}

test('a card removed in full screen leaves full screen and hands the focus to its neighbour', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.a.config', { type: 'stat', title: 'A', order: 1 }],
    ['sv.b.config', { type: 'stat', title: 'B', order: 2 }],
  ]);
  await waitFor(async () => (await cards(page)).join() === 'a,b', 10000, 'both cards');
  await page.focus('[data-widget-id="a"] .sv-menu-btn');
  await page.keyboard.press('Enter');
  await waitFor(() => page.evaluate(() => document.activeElement?.getAttribute('role') === 'menuitem'), 10000, 'the menu open');
  await page.click('[data-widget-id="a"] [data-action="full"]');
  await waitFor(() => page.evaluate(() => document.fullscreenElement?.getAttribute('data-widget-id') === 'a'), 10000, 'card a in full screen');
  await publish(server.nats, [['sv.a.config', { remove: true }]]);
  await waitFor(() => page.evaluate(() => !document.querySelector('[data-widget-id="a"]') && document.fullscreenElement === null), 10000, 'the card gone and full screen left');
  const focus = await page.evaluate(() => document.activeElement?.closest('[data-widget-id]')?.getAttribute('data-widget-id') ?? document.activeElement?.tagName);
  assert.equal(focus, 'b');
  assert.deepEqual(errors, []);
});

test('the focus of the last card removed moves to the page notice, not to <body>', async (t) => {
  const { server, page, errors } = await openPage(t, [['sv.only.config', { type: 'stat', title: 'Only' }]]);
  await waitFor(async () => (await cards(page)).join() === 'only', 10000, 'the card');
  await page.focus('[data-widget-id="only"] .sv-menu-btn');
  await publish(server.nats, [['sv.only.config', { remove: true }]]);
  await waitFor(async () => (await cards(page)).length === 0, 10000, 'the card to go');
  assert.equal(await page.evaluate(() => document.activeElement?.className), 'sv-notice');
  assert.deepEqual(errors, []);
});

test('an embed page of a widget removed while shown says it was removed, and shows it again when declared anew', async (t) => {
  const { server, page, errors } = await openPage(t, [
    ['sv.gone.config', { type: 'stat', title: 'Gone soon' }],
    ['sv.gone.data', { value: 3 }],
  ], { path: '/embed/gone' });
  await waitFor(async () => (await cards(page)).join() === 'gone', 10000, 'the embedded card');
  await publish(server.nats, [['sv.gone.config', { remove: true }]]);
  const notice = () => page.evaluate(() => document.querySelector('.sv-notice')?.textContent ?? '');
  await waitFor(async () => (await notice()).includes('was removed'), 10000, 'the page to say the widget was removed');
  assert.match(await notice(), /“gone” was removed/);
  await publish(server.nats, [['sv.gone.data', { value: 9 }]]);
  await waitFor(async () => (await cards(page)).join() === 'gone', 10000, 'the widget declared anew');
  assert.equal(await notice(), '', 'the removal notice goes once the widget is back');
  assert.deepEqual(errors, []);
});

test('a chart removed and declared anew while the page was away shows only the new widget when it resumes, not its zoomed old view', async (t) => {
  const T0 = 1764230400000;
  const pts = (from, n) => Array.from({ length: n }, (_, i) => [T0 + (from + i) * 1000, from + i]);
  const SEL = '[data-widget-id="live"] sv-chart';
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, [['sv.live.config', { type: 'chart', title: 'Old', max_points: 1000 }], ['sv.live.data', { points: pts(0, 200) }]]);
  const browser = await launchBrowser(t);
  const errors = [];
  const page = await newPage(browser, errors);
  await page.setViewportSize({ width: 1000, height: 600 });
  // A gate on the page's socket (a real connection to the server while open): closing it and
  // holding the page's retries makes the page resume from its position before the removal, so
  // the removal and the re-creation reach it together in the catch-up.
  let hold = false;
  /** @type {import('playwright-core').WebSocketRoute[]} */
  const sockets = [];
  await page.routeWebSocket(/\/ws/, (ws) => {
    if (hold) return ws.close();
    ws.connectToServer();
    sockets.push(ws);
  });
  await page.goto(`http://${server.http}/embed/live`);
  const pointsHeld = () => page.evaluate((s) => Number(document.querySelector(s)?.dataset.points), SEL);
  await waitFor(async () => (await pointsHeld()) === 200, 15000, 'the chart');
  const box = await page.locator(`${SEL} .u-over`).boundingBox();
  await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
  await page.mouse.up();
  await waitFor(() => page.evaluate((s) => document.querySelector(s).dataset.held === '1', SEL), 10000, 'the zoomed chart holding its view');

  hold = true;
  for (const ws of sockets) await ws.close();
  await waitFor(() => page.evaluate(() => document.querySelector('#sv-conn')?.dataset.state !== 'live'), 10000, 'the page to lose its socket');
  await publish(server.nats, [['sv.live.config', { remove: true }], ['sv.live.config', { type: 'chart', title: 'New' }], ['sv.live.data', { points: pts(1000, 3) }]]);
  hold = false;
  await waitFor(async () => (await pointsHeld()) === 3, 30000, 'the new widget after the resume');
  await waitFor(() => page.evaluate(([s, x0]) => {
    const el = document.querySelector(s);
    const u = el.plot;
    return el.dataset.held !== '1' && u.data[0].length === 3 && u.data[0][0] === x0;
  }, [SEL, (T0 + 1000000) / 1000]), 10000, 'the new widget drawn live with its own three points only');
  assert.equal(await page.evaluate(() => document.querySelector('[data-widget-id="live"] .sv-held:not([hidden])')), null, 'no "paused, N new points" note of the old view');
  assert.deepEqual(errors, []);
});

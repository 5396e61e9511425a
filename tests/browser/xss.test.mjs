// Script injection through every text a publisher controls, rendered by real Chromium: widget
// titles, units, column names and labels, table keys and cells, chart series names, the dashboard
// title, and the /embed/{widget} path and ?widget= query. Each vector calls top.__xssHit(n) (or
// alert(n), or sets window.__xss) if it ever runs; the page also reports every Content Security
// Policy violation, which is what markup built from the text would cause even when the policy
// stops it. Nothing may run, nothing may be reported, and every text must show literally.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { launchBrowser, publish, startServer, waitFor } from './harness.mjs';

// In the spirit of the OWASP XSS filter evasion cheat sheet. $H is the payload; each vector gets
// its own number so a hit names it.
const TEMPLATES = [
  '<script>$H</script>',
  '<SCRIPT>$H</SCRIPT>',
  '<ScRiPt>$H</sCrIpT>',
  '<script src="data:text/javascript,$H"></script>',
  '<script>/*</script><script>*/$H</script>',
  '"><script>$H</script>',
  "'><script>$H</script>",
  '</title><script>$H</script>',
  '</textarea><script>$H</script>',
  '</style><script>$H</script>',
  '<scr<script>ipt>$H</scr</script>ipt>',
  '<<script>script>$H<</script>/script>',
  '<scr\u0000ipt>$H</scr\u0000ipt>',
  '<img src=x onerror=$H>',
  '<IMG SRC=x OnErRoR=$H>',
  '<img src="x" onerror="$H">',
  "<img src='x' onerror='$H'>",
  '<img/src=x/onerror=$H>',
  '<img src=x onerror\u0000=$H>',
  '<img src=x:alert(alt) onerror=eval(src) alt=$N>',
  '<img src=`x`onerror=$H>',
  '<IMG """><SCRIPT>$H</SCRIPT>">',
  '<img src=x onerror="&#116;&#111;&#112;.__xssHit($N)">',
  '<img src=x onerror="&#x74;&#x6F;&#x70;.__xssHit($N)">',
  '<img src=x onerror="\\u0074op.__xssHit($N)">',
  '<svg onload=$H>',
  '<svg/onload=$H>',
  '<svg><script>$H</script></svg>',
  '<svg><animate onbegin=$H attributeName=x dur=1s>',
  '<svg><a xlink:href="javascript:$H"><text x=20 y=20>x</text></a></svg>',
  '<svg><set attributeName=onload to=$H />',
  '<body onload=$H>',
  '<body onpageshow=$H>',
  '<iframe srcdoc="<script>top.__xssHit($N)</script>">',
  '<iframe src="javascript:top.__xssHit($N)">',
  '<iframe src="data:text/html,<script>top.__xssHit($N)</script>">',
  '<object data="javascript:top.__xssHit($N)">',
  '<embed src="javascript:top.__xssHit($N)">',
  '<a href="javascript:$H">x</a>',
  '<a href="JaVaScRiPt:$H">x</a>',
  '<a href="jav&#x09;ascript:$H">x</a>',
  '<a href="&#106;avascript:$H">x</a>',
  '<a href=" &#14; javascript:$H">x</a>',
  'javascript:$H',
  'javascript:/*--></title></style></textarea></script></xmp><svg/onload=\'+/"/+/onmouseover=1/+/[*/[]/+$H//\'>',
  '<input autofocus onfocus=$H>',
  '<select autofocus onfocus=$H>',
  '<textarea autofocus onfocus=$H>',
  '<details open ontoggle=$H>',
  '<video><source onerror=$H></video>',
  '<audio src=x onerror=$H>',
  '<marquee onstart=$H>x</marquee>',
  '<form><button formaction=javascript:$H>x</button></form>',
  '<math><mtext><table><mglyph><style><img src=x onerror=$H>',
  '<noscript><p title="</noscript><img src=x onerror=$H>">',
  '<!--<img src="--><img src=x onerror=$H//">',
  '<![CDATA[<script>$H</script>]]>',
  '<template><img src=x onerror=$H></template>',
  '<style>@import "javascript:$H";</style>',
  '<div style="background:url(javascript:$H)">x</div>',
  '<div style="width:expression($H)">x</div>',
  '<meta http-equiv="refresh" content="0;url=javascript:$H">',
  '<base href="javascript:$H//">',
  '<link rel=stylesheet href="javascript:$H">',
  '<xss id=x tabindex=1 onfocus=$H autofocus></xss>',
  '" onmouseover="$H" x="',
  "' onerror='$H' x='",
  '`;$H;`',
  '${$H}',
  '{{constructor.constructor("$H")()}}',
  '<script>alert($N)</script>',
  '<img src=x onerror=alert($N)>',
  '<svg onload=confirm($N)>',
  '<img src=x onerror=window.__xss=$N>',
  '\\x3cscript\\x3e$H\\x3c/script\\x3e',
  '%3Cscript%3E$H%3C/script%3E',
  '&lt;script&gt;$H&lt;/script&gt;',
  '\u003cimg src=x onerror=$H\u003e',
  '＜script＞$H＜/script＞',
  '<img src=x onerror=$H>\u202e\u200b',
];

const VECTORS = TEMPLATES.map((tpl, n) => tpl.replaceAll('$H', `top.__xssHit(${n})`).replaceAll('$N', String(n)));

/** Widget ids (and the ?widget= query) may only be letters, digits, - and _: these are not. */
const BAD_IDS = [
  ...VECTORS.slice(0, 30),
  'javascript:alert(1)',
  '"><svg onload=top.__xssHit(1000)>',
  '..%2f..%2fhealthz',
  'a b',
  'x'.repeat(65),
];

/**
 * Opens a page that records, in Node, every vector that runs, every dialog and every CSP
 * violation in any frame.
 */
async function watchedPage(browser) {
  const seen = { hits: [], dialogs: [], violations: [], errors: [] };
  const page = await browser.newPage();
  await page.exposeFunction('__xssHit', (n) => { seen.hits.push(n); });
  await page.exposeFunction('__cspViolation', (v) => { seen.violations.push(v); });
  await page.addInitScript(() => {
    let xss;
    Object.defineProperty(window, '__xss', {
      get: () => xss,
      set: (v) => { xss = v; window.__xssHit(`__xss=${v}`); },
    });
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}: ${e.sample}`);
    });
  });
  page.on('dialog', async (d) => { seen.dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => seen.errors.push(e.message));
  return { page, seen };
}

/** document.title as the browser reports it: whitespace (and NUL) runs collapse to one space. */
const asDocumentTitle = (s) => s.replace(/[\t\n\f\r \u0000]+/g, ' ').trim();

/**
 * Injected markup would run late: an <img onerror> after its failed load, autofocus after layout,
 * and the policy reports an inline handler only when it is about to run. Proving that nothing
 * happens needs a window for it to happen in; this is that window, not a synchronization.
 */
const settle = (page) => page.waitForTimeout(500);

function assertNothingRan(seen, where) {
  assert.deepEqual(seen.hits, [], `${where}: injected script ran`);
  assert.deepEqual(seen.dialogs, [], `${where}: injected script opened a dialog`);
  assert.deepEqual(seen.violations, [], `${where}: text became markup (CSP violations)`);
  assert.deepEqual(seen.errors, [], `${where}: page errors`);
}

test('the vectors are many, distinct and within the protocol limits', () => {
  assert.ok(VECTORS.length >= 60, `${VECTORS.length} vectors`);
  assert.equal(new Set(VECTORS).size, VECTORS.length);
  for (const v of VECTORS) assert.ok(new TextEncoder().encode(v).length <= 200, `over the 200-byte title limit: ${v}`);
});

test('the hooks see script that runs and markup that the policy blocks', async (t) => {
  // A check of the detectors themselves, so the tests below can fail: text inserted as markup is
  // reported as a violation, and a call to the hook is recorded.
  const server = await startServer({});
  t.after(() => server.stop());
  const browser = await launchBrowser(t);
  const { page, seen } = await watchedPage(browser);
  await page.goto(`http://${server.http}/`);
  await page.evaluate((v) => document.body.insertAdjacentHTML('beforeend', v), VECTORS[13]);
  await page.evaluate(() => window.__xssHit('control'));
  await waitFor(() => seen.violations.length > 0 && seen.hits.length > 0, 5000, 'the control violation and hit');
  assert.match(seen.violations[0], /script-src/);
  assert.deepEqual(seen.hits, ['control']);
});

test('every page sends a script policy without unsafe-inline, and nosniff', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  for (const path of ['/', '/embed/x', '/static/app.js', '/static/style.css', '/static/widgets/base.js']) {
    const res = await fetch(`http://${server.http}${path}`);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    const csp = res.headers.get('content-security-policy');
    assert.ok(csp, `${path} has no Content-Security-Policy`);
    const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
    const scripts = directives.get('script-src') ?? directives.get('default-src');
    assert.ok(scripts, `${path}: no script-src or default-src in ${csp}`);
    for (const bad of ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:']) {
      assert.ok(!scripts.includes(bad), `${path}: script sources ${scripts.join(' ')} include ${bad}`);
    }
    assert.deepEqual(directives.get('object-src'), ["'none'"], path);
  }
  for (const id of BAD_IDS) {
    const res = await fetch(`http://${server.http}/embed/${encodeURIComponent(id)}`);
    assert.equal(res.status, 404, id);
    assert.match(res.headers.get('content-type'), /^application\/json/, id);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', id);
  }
});

test('titles, units, columns, keys, cells and series carrying script show as text and never run', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  const cols = VECTORS.map((_, i) => `c${i}`);
  const messages = [];
  VECTORS.forEach((v, i) => {
    messages.push([`sv.s${i}.config`, { type: 'stat', title: v, unit: v, order: i }]);
    messages.push([`sv.s${i}.data`, { value: i }]);
  });
  messages.push(
    ['sv.g.config', { type: 'gauge', title: VECTORS[0], unit: VECTORS[13], order: 1000 }],
    ['sv.g.data', { value: 50 }],
    ['sv.ch.config', { type: 'chart', title: VECTORS[1], unit: VECTORS[14], order: 1001 }],
    ...VECTORS.slice(0, 10).map((v, i) => ['sv.ch.data', { points: [[1764230400000 + i, i]], series: v }]),
    // Vectors as column names, with and without labels.
    ['sv.cols.config', { type: 'table', title: VECTORS[2], columns: VECTORS, order: 1002 }],
    ['sv.cols.data', { key: 'only', row: Object.fromEntries(VECTORS.map((v) => [v, v])) }],
    ['sv.labels.config', { type: 'table', title: VECTORS[3], columns: cols, column_labels: Object.fromEntries(cols.map((c, i) => [c, VECTORS[i]])), order: 1003 }],
    ['sv.labels.data', { key: 'only', row: Object.fromEntries(cols.map((c, i) => [c, VECTORS[i]])) }],
    // Vectors as keys and cells, one row each.
    ['sv.rows.config', { type: 'table', title: VECTORS[4], columns: ['v'], max_rows: 1000, order: 1004 }],
    ['sv.rows.data', { ops: VECTORS.map((v) => ({ key: v, row: { v } })) }],
  );
  await publish(server.nats, messages);

  const browser = await launchBrowser(t);
  const { page, seen } = await watchedPage(browser);
  await page.goto(`http://${server.http}/`);
  await waitFor(() => page.evaluate((n) => document.querySelectorAll('[data-widget-id="rows"] tr[data-key]').length === n
    && document.querySelectorAll('.sv-card').length === n + 5, VECTORS.length), 15000, 'every card and row');

  const shown = await page.evaluate(() => {
    const card = (id) => document.querySelector(`[data-widget-id="${CSS.escape(id)}"]`);
    const texts = (root, sel) => [...root.querySelectorAll(sel)].map((e) => e.textContent);
    const stats = [...document.querySelectorAll('[data-widget-type="stat"]')]
      .map((c) => ({ id: c.dataset.widgetId, title: c.querySelector('.sv-card-title').textContent, unit: c.querySelector('.sv-stat-unit').textContent }));
    return {
      stats,
      gauge: { title: card('g').querySelector('.sv-card-title').textContent, unit: card('g').querySelector('.sv-gauge-unit').textContent },
      chart: { title: card('ch').querySelector('.sv-card-title').textContent, series: texts(card('ch'), '.sv-legend-label') },
      colHeads: texts(card('cols'), 'th'),
      colCells: texts(card('cols'), 'td'),
      labelHeads: texts(card('labels'), 'th'),
      labelCells: texts(card('labels'), 'td'),
      keys: [...card('rows').querySelectorAll('tr[data-key]')].map((tr) => tr.dataset.key),
      keyCells: texts(card('rows'), 'td'),
      // Nothing the vectors name exists as an element.
      elements: document.querySelectorAll('main img, main svg script, main iframe, main object, main embed, main a, main input, main select, main textarea, main details, main video, main audio, main marquee, main form, main math, main noscript, main template, main style, main meta, main base, main link, main xss, main body').length,
    };
  });
  await settle(page);
  assertNothingRan(seen, 'dashboard');
  assert.equal(shown.elements, 0, 'the text created elements');

  const byId = new Map(shown.stats.map((s) => [s.id, s]));
  VECTORS.forEach((v, i) => {
    assert.equal(byId.get(`s${i}`)?.title, v, `title of s${i}`);
    assert.equal(byId.get(`s${i}`)?.unit, v, `unit of s${i}`);
  });
  assert.deepEqual(shown.gauge, { title: VECTORS[0], unit: VECTORS[13] });
  assert.equal(shown.chart.title, VECTORS[1]);
  assert.deepEqual(new Set(shown.chart.series), new Set(VECTORS.slice(0, 10)));
  // Headers may carry a sort arrow after the name.
  VECTORS.forEach((v, i) => {
    assert.ok(shown.colHeads[i].startsWith(v), `column header ${i}: ${shown.colHeads[i]}`);
    assert.ok(shown.labelHeads[i].startsWith(v), `column label ${i}: ${shown.labelHeads[i]}`);
  });
  assert.deepEqual(shown.colCells, VECTORS);
  assert.deepEqual(shown.labelCells, VECTORS);
  assert.deepEqual(new Set(shown.keys), new Set(VECTORS));
  assert.deepEqual(new Set(shown.keyCells), new Set(VECTORS));

  // The dashboard title, one vector after another.
  for (const v of VECTORS) {
    await publish(server.nats, [['sv.$dashboard.config', { title: v }]]);
    await waitFor(() => page.evaluate(([want, title]) => document.querySelector('#sv-title').textContent === want
      && document.title === title, [v, asDocumentTitle(v)]), 5000, `the title ${v}`);
  }
  await settle(page);
  assertNothingRan(seen, 'dashboard title');

  // The embed page of a widget titled with a vector sets the document title from it.
  const embed = await watchedPage(browser);
  await embed.page.goto(`http://${server.http}/embed/s0`);
  await waitFor(() => embed.page.evaluate((want) => document.title === want
    && document.querySelector('.sv-card-title')?.textContent === want, VECTORS[0]), 5000, 'the embedded widget');
  await settle(embed.page);
  assertNothingRan(embed.seen, 'embed s0');
});

test('the embed path and the widget query carrying script never run it', async (t) => {
  const server = await startServer({});
  t.after(() => server.stop());
  await publish(server.nats, [['sv.ok.config', { type: 'stat', title: 'OK' }], ['sv.ok.data', { value: 1 }]]);
  const browser = await launchBrowser(t);
  const { page, seen } = await watchedPage(browser);
  const base = `http://${server.http}`;
  for (const id of BAD_IDS) {
    for (const url of [
      `${base}/embed/${encodeURIComponent(id)}`,
      `${base}/embed/ok?widget=${encodeURIComponent(id)}`,
      `${base}/?widget=${encodeURIComponent(id)}`,
    ]) {
      const res = await page.goto(url);
      if (url.startsWith(`${base}/embed/${encodeURIComponent(id)}`)) {
        assert.equal(res.status(), 404, url);
        // The refusal is JSON shown as text: the id inside is not markup.
        const text = await page.evaluate(() => document.body.textContent);
        assert.ok(text.includes('bad widget id'), `${url}: ${text}`);
      } else {
        assert.equal(res.status(), 200, url);
        await waitFor(() => page.evaluate(() => document.body.dataset.ready === '1'), 5000, `${url} ready`);
      }
    }
  }
  await settle(page);
  assertNothingRan(seen, 'embed paths and queries');
});

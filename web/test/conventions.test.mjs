// Guards for rules no unit test of behaviour would catch: the pages run under a strict CSP
// (no inline scripts or styles, no eval), all data goes into the DOM as text, and every module
// is type-checked (tsc --strict over web/tsconfig.json, run by `make lint` within `make test`).
// Browser-only modules (widgets, app.js) cannot run under node, so they are at least
// syntax-checked here.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Our own files under web/ with the extension, vendored code and tests excluded. */
function files(ext) {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'vendor' && e.name !== 'test') walk(p);
      } else if (e.name.endsWith(ext)) out.push(p);
    }
  };
  walk(WEB);
  return out;
}

const modules = files('.js');
const pages = files('.html');

test('there are modules and pages to check', () => {
  assert.ok(modules.some((f) => f.endsWith('app.js')));
  assert.ok(modules.some((f) => f.endsWith(path.join('widgets', 'sv-chart.js'))));
  assert.deepEqual(pages.map((p) => path.basename(p)).sort(), ['embed.html', 'index.html', 'login.html']);
});

test('every module starts with // @ts-check', () => {
  for (const f of modules) {
    assert.match(fs.readFileSync(f, 'utf8'), /^\/\/ @ts-check\n/, path.relative(WEB, f));
  }
});

test('every module is in the type check (web/tsconfig.json, run by scripts/lint.sh in make test)', () => {
  const { include } = JSON.parse(fs.readFileSync(path.join(WEB, 'tsconfig.json'), 'utf8'));
  const globs = include.map((g) => new RegExp(`^${g.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`));
  for (const f of modules) {
    const rel = path.relative(WEB, f).split(path.sep).join('/');
    assert.ok(globs.some((g) => g.test(rel)), `${rel} is not in web/tsconfig.json's include`);
  }
});

test('every module is valid ES module syntax', () => {
  for (const f of modules) {
    const r = spawnSync(process.execPath, ['--input-type=module', '--check'], { input: fs.readFileSync(f) });
    assert.equal(r.status, 0, `${path.relative(WEB, f)}: ${r.stderr}`);
  }
});

test('no module parses HTML from strings, evaluates code or writes style attributes', () => {
  const banned = /\.innerHTML\b|\.outerHTML\b|insertAdjacentHTML|document\.write|\beval\(|new Function\b|setAttribute\(\s*['"]style['"]|\.srcdoc\b/;
  for (const f of modules) {
    const code = fs.readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
    assert.doesNotMatch(code, banned, path.relative(WEB, f));
  }
});

test('pages have no inline script, style or event handler, which the CSP would block', () => {
  for (const p of pages) {
    const html = fs.readFileSync(p, 'utf8');
    const name = path.basename(p);
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      assert.match(m[1], /\bsrc=/, `${name}: inline <script>`);
      assert.equal(m[2].trim(), '', `${name}: a script with a src has no body`);
    }
    assert.doesNotMatch(html, /<style\b/, `${name}: <style> element`);
    assert.doesNotMatch(html, /\sstyle\s*=/, `${name}: style attribute`);
    assert.doesNotMatch(html, /\son[a-z]+\s*=/, `${name}: inline event handler`);
  }
});

test('pages reference only static assets that exist under web/, by URLs relative to the page', () => {
  // index.html is served at the dashboard's root, embed.html one level down (embed/{id}), and the
  // login page wherever a request needed credentials, so it gets its way to the root from the
  // server ({{.Root}}). Nothing starts at the host's root: the dashboard may be mounted anywhere.
  const roots = { 'index.html': 'static/', 'embed.html': '../static/', 'login.html': '{{.Root}}static/' };
  for (const p of pages) {
    const html = fs.readFileSync(p, 'utf8');
    const name = path.basename(p);
    const refs = [...html.matchAll(/(?:src|href|action)="([^"]+)"/g)].map((m) => m[1]).filter((r) => !r.startsWith('data:') && r !== '{{.Action}}');
    // The login page needs only the styles; the others also load the app and uPlot.
    assert.ok(refs.length >= (name === 'login.html' ? 1 : 3), name);
    for (const r of refs) {
      assert.ok(r.startsWith(roots[name]), `${name}: ${r} is not relative to the page's root (${roots[name]})`);
      assert.ok(fs.existsSync(path.join(WEB, r.slice(roots[name].length))), `${name}: ${r} is missing`);
    }
  }
});

test('no module names a URL from the host root: the dashboard works mounted under any path', () => {
  for (const f of modules) {
    const code = fs.readFileSync(f, 'utf8').replace(/^\s*(\/\/|\*).*$/gm, '');
    assert.doesNotMatch(code, /['"`]\/(ws|static|api|embed|login|healthz)\b|location\.(host|origin)\b/, path.relative(WEB, f));
  }
});

test('relative imports between modules resolve to files', () => {
  for (const f of modules) {
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/^import [^'"]*['"](\.[^'"]+)['"]/gm)) {
      assert.ok(fs.existsSync(path.resolve(path.dirname(f), m[1])), `${path.relative(WEB, f)} imports ${m[1]}`);
    }
  }
});

test('the vendored uPlot is present: ESM build, stylesheet, licence', () => {
  for (const f of ['uPlot.esm.js', 'uPlot.min.css', 'LICENSE']) {
    assert.ok(fs.statSync(path.join(WEB, 'vendor', 'uplot', f)).size > 0, f);
  }
  assert.match(fs.readFileSync(path.join(WEB, 'vendor', 'uplot', 'uPlot.esm.js'), 'utf8'), /export \{ uPlot as default \}|export default/);
});

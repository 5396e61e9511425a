// The theme a view shows: the dashboard's theme, the view's or browser's mode override, and only
// values that pass the server's syntax checks become CSS variables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveTheme, safeColor, safeFont, themeParam } from '../theme.js';

const CUSTOM = { mode: 'dark', accent: '#7c3aed', background: '#0b1020', surface: '#111', text: 'white', font: 'Inter, sans-serif', radius: 8 };

test('a custom theme maps onto the page variables; no theme is dark with none', () => {
  assert.deepEqual(resolveTheme(null, null), { mode: 'dark', vars: {} });
  assert.deepEqual(resolveTheme(CUSTOM, null), {
    mode: 'dark',
    vars: {
      '--sv-accent': '#7c3aed', '--sv-series-1': '#7c3aed', '--sv-bg': '#0b1020', '--sv-surface': '#111',
      '--sv-surface-2': '#111', '--sv-text': 'white', '--sv-font': 'Inter, sans-serif', '--sv-radius': '8px',
    },
  });
});

test('an override to another mode keeps accent, font and radius and drops the custom surfaces', () => {
  const { mode, vars } = resolveTheme(CUSTOM, 'light');
  assert.equal(mode, 'light');
  assert.deepEqual(Object.keys(vars).sort(), ['--sv-accent', '--sv-font', '--sv-radius', '--sv-series-1']);
  assert.equal(resolveTheme(CUSTOM, 'dark').vars['--sv-bg'], '#0b1020', 'the same mode keeps them');
});

test('values that could carry more than one property are never set', () => {
  for (const bad of ['red;x:y', 'url(//x)', 'var(--a)', '#12345', 'expression(alert(1))', '', 5]) assert.equal(safeColor(bad), false, String(bad));
  for (const bad of ['a;b', 'x}y{', 'a\\62', 'x'.repeat(201)]) assert.equal(safeFont(bad), false, bad);
  const { vars } = resolveTheme({ mode: 'dark', accent: 'red;x:y', font: 'a{b}', radius: 99 }, null);
  assert.deepEqual(vars, {});
});

test('?theme= takes dark, light or auto and nothing else', () => {
  assert.equal(themeParam('?theme=light'), 'light');
  assert.equal(themeParam('?x=1&theme=auto'), 'auto');
  assert.equal(themeParam('?theme=sepia'), null);
  assert.equal(themeParam(''), null);
});

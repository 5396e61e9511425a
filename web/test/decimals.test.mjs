import test from 'node:test';
import assert from 'node:assert/strict';
import { Decimals, decimalsOf, formatFixed } from '../decimals.js';

test('a value stream keeps the most decimals it has needed, so a gauge reads 59.66, 59.80, 60.00', () => {
  const d = new Decimals();
  assert.deepEqual([59.66, 59.8, 60].map((v) => d.format(v, null)), ['59.66', '59.80', '60.00']);
  const col = new Decimals();
  for (const v of [7167.3, 7440.29]) col.see(v);
  assert.deepEqual([7167.3, 7440.29].map((v) => col.format(v, null)), ['7,167.30', '7,440.29']);
});

test('integers stay integers until a fraction arrives; a given format wins', () => {
  const d = new Decimals();
  assert.deepEqual([1, 20, 300].map((v) => d.format(v, null)), ['1', '20', '300']);
  assert.equal(d.format(1.5, null), '1.5');
  assert.equal(d.format(2, null), '2.0');
  assert.equal(d.format(2, '.3f'), '2.000');
  assert.equal(d.format('text', null), 'text');
  assert.equal(d.format(null, null), '—');
});

test('decimals follow the default format: two for ordinary magnitudes, three significant digits below 1', () => {
  assert.equal(decimalsOf(12.345), 2);
  assert.equal(decimalsOf(12), 0);
  assert.equal(decimalsOf(0.00042), 5);
  assert.equal(decimalsOf(1e20), null);
  assert.equal(decimalsOf(Number.NaN), null);
  assert.equal(formatFixed(-1234.5, 2), '-1,234.50');
  assert.equal(formatFixed(-0.001, 2), '0.00');
  assert.equal(formatFixed(1e20, 2), '1e+20');
});

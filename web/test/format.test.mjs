// Number formatting: the Python format-spec subset configs use, and the default.
// Expected strings for specs are what Python's format() prints for the same value and spec.
import test from 'node:test';
import assert from 'node:assert/strict';
import { formatDefault, formatDelta, formatValue, parseSpec } from '../format.js';

test('the documented specs match Python', () => {
  assert.equal(formatValue(3.14159, '.2f'), '3.14');
  assert.equal(formatValue(1234567.891, ',.0f'), '1,234,568');
  assert.equal(formatValue(0.1234, '.1%'), '12.3%');
  assert.equal(formatValue(42, 'd'), '42');
});

test('grouping separates thousands with commas or underscores, signs stay in front', () => {
  assert.equal(formatValue(1234567, ',d'), '1,234,567');
  assert.equal(formatValue(-1234.5, ',.2f'), '-1,234.50');
  assert.equal(formatValue(1234.5678, '_.2f'), '1_234.57');
  assert.equal(formatValue(999, ',d'), '999');
});

test('f rounds the stored binary value like Python, not the written decimal', () => {
  // 2.675 is stored as 2.67499999…, so both Python and we print 2.67.
  assert.equal(formatValue(2.675, '.2f'), '2.67');
  assert.equal(formatValue(1e-5, '.2f'), '0.00');
});

test('f keeps fixed notation past 1e21, where JavaScript would switch to an exponent', () => {
  assert.equal(formatValue(1e22, '.2f'), '10000000000000000000000.00');
});

test('f without precision uses six decimals, as Python does', () => {
  assert.equal(formatValue(1.5, 'f'), '1.500000');
});

test('percent multiplies by 100 and appends a percent sign', () => {
  assert.equal(formatValue(0.5, '.0%'), '50%');
  assert.equal(formatValue(1, '.1%'), '100.0%');
});

test('d rounds non-integers instead of failing as Python would', () => {
  assert.equal(formatValue(3.7, 'd'), '4');
  assert.equal(formatValue(-3.7, ',d'), '-4');
});

test('e and g write two-digit exponents like Python', () => {
  assert.equal(formatValue(1234.5, 'e'), '1.234500e+03');
  assert.equal(formatValue(0.00012345, '.3e'), '1.234e-04');
  assert.equal(formatValue(123456789, 'g'), '1.23457e+08');
  assert.equal(formatValue(0.00001234, 'g'), '1.234e-05');
  assert.equal(formatValue(1234.5, 'g'), '1234.5');
  assert.equal(formatValue(100, '.3g'), '100');
});

test('a precision without a type behaves like g', () => {
  assert.equal(formatValue(1234.5, '.2'), '1.2e+03');
  assert.equal(formatValue(0.000123456, '.2'), '0.00012');
});

test('a bare comma groups the shortest representation', () => {
  assert.equal(formatValue(1234.5, ','), '1,234.5');
});

test('sign, width, fill and alignment follow Python', () => {
  assert.equal(formatValue(7, '+d'), '+7');
  assert.equal(formatValue(7, ' d'), ' 7');
  assert.equal(formatValue(42, '>6d'), '    42');
  assert.equal(formatValue(42, '<6d'), '42    ');
  assert.equal(formatValue(42, '^6d'), '  42  ');
  assert.equal(formatValue(42, '*^7d'), '**42***');
  assert.equal(formatValue(42, '06d'), '000042');
  assert.equal(formatValue(-42, '06d'), '-00042');
});

test('infinities print as inf like Python', () => {
  assert.equal(formatValue(Infinity, '.2f'), 'inf');
  assert.equal(formatValue(-Infinity, '.1%'), '-inf%');
});

test('a value that rounds to zero has no minus sign', () => {
  assert.equal(formatValue(-0.001, '.1f'), '0.0');
  assert.equal(formatValue(-0, '.1f'), '0.0');
  assert.equal(formatDefault(-0.0000001), '-1e-07');
});

test('an unknown spec falls back to the default instead of hiding the value', () => {
  assert.equal(parseSpec('bogus'), null);
  assert.equal(formatValue(1234.5, 'bogus'), '1,234.5');
  assert.equal(formatValue(1234.5, '.2q'), '1,234.5');
});

test('the default groups thousands and keeps at most two decimals', () => {
  assert.equal(formatDefault(1234567), '1,234,567');
  assert.equal(formatDefault(1234567.891), '1,234,567.89');
  assert.equal(formatDefault(-1234.5), '-1,234.5');
  assert.equal(formatDefault(12.0), '12');
  assert.equal(formatDefault(0), '0');
});

test('the default keeps three significant digits below one, so small values do not show as 0', () => {
  assert.equal(formatDefault(0.00042), '0.00042');
  assert.equal(formatDefault(0.123456), '0.123');
  assert.equal(formatDefault(1e-9), '1e-09');
});

test('the default uses an exponent past 1e16, where digits would be binary noise', () => {
  assert.equal(formatDefault(1e25), '1e+25');
  assert.equal(formatDefault(-1.234e20), '-1.23e+20');
  assert.equal(formatDefault(9e15), '9,000,000,000,000,000');
});

test('a null spec and an empty spec both mean the default', () => {
  assert.equal(formatValue(1234.5, null), '1,234.5');
  assert.equal(formatValue(1234.5, ''), '1,234.5');
  assert.equal(formatValue(1234.5), '1,234.5');
});

test('non-numbers display literally: text as is, null as a dash, objects as JSON', () => {
  assert.equal(formatValue('<img src=x onerror=alert(1)>', '.2f'), '<img src=x onerror=alert(1)>');
  assert.equal(formatValue(null, '.2f'), '—');
  assert.equal(formatValue(undefined), '—');
  assert.equal(formatValue(true), 'true');
  assert.equal(formatValue({ a: [1, 2] }), '{"a":[1,2]}');
});

test('deltas carry an explicit sign and none when they round to zero', () => {
  assert.equal(formatDelta(2.5, '.1f'), '+2.5');
  assert.equal(formatDelta(-2.5, '.1f'), '−2.5');
  assert.equal(formatDelta(0.001, '.1f'), '0.0');
  assert.equal(formatDelta(0.05, '.1%'), '+5.0%');
});

test('specs past the bounds fall back to the default format, so the output stays short whatever the config', () => {
  // Finding 5 of issue 10: "x>200000000" as a column format grew the tab to 6.5 GB.
  for (const spec of ['x>200000000', 'x>400000000', '>65', '.21f', '.500f', '0100d', `${','.repeat(40)}`, '>99999999999999999999']) {
    assert.equal(parseSpec(spec), null, spec);
    assert.equal(formatValue(1234.5, spec), '1,234.5', spec);
  }
  assert.equal(formatValue(1, 'x>64').length, 64);
  assert.equal(formatValue(1, '.20f'), '1.00000000000000000000');
});

test('textEms: a number\'s width in em grows with its digits, its separators count narrower, and is never below 1', async () => {
  const { textEms } = await import('../format.js');
  assert.ok(textEms('1,234,567.89') < textEms('123456789012'), 'separators are narrower than digits');
  assert.ok(textEms('12345678') > textEms('1234'));
  assert.equal(textEms(''), 1);
  assert.equal(textEms('7'), 1);
});

// @ts-check
// Number formatting for widget values: a subset of Python's format-spec mini-language, because
// configs are written by Python users (`".2f"`, `",.0f"`, `".1%"`, `"d"`), plus a default that
// reads well on a dashboard. Pure: no DOM, so it runs under `node --test`.

/**
 * @typedef {object} Spec
 * @property {string} fill
 * @property {string} align    one of `<>=^`, or "" for the type's default
 * @property {string} sign     one of `+- `
 * @property {boolean} alt     `#`: keep trailing zeros for `g`
 * @property {number} width
 * @property {string} grouping `,`, `_` or ""
 * @property {number | null} precision
 * @property {string} type     one of `fFeEgGd%`, or "" (none)
 */

const SPEC_RE = /^(?:([\s\S])?([<>=^]))?([-+ ])?(#)?(0)?(\d+)?([,_])?(?:\.(\d+))?([fFeEgGd%n])?$/;

// The server refuses specs past these (gateway/formatspec.go); the page holds to them as well,
// whatever it is given, so no config can make it build a string of millions of characters.
export const MAX_SPEC_LENGTH = 32;
export const MAX_SPEC_WIDTH = 64;
export const MAX_SPEC_PRECISION = 20;

/** @type {Map<string, Spec | null>} */
const specCache = new Map();

/**
 * Parses a spec, or returns null when it is not one we understand or is past the bounds above
 * (the value then shows in the default format). Cached because a table formats
 * the same few specs thousands of times per frame.
 * @param {string} text
 * @returns {Spec | null}
 */
export function parseSpec(text) {
  const hit = specCache.get(text);
  if (hit !== undefined) return hit;
  const m = text.length <= MAX_SPEC_LENGTH ? SPEC_RE.exec(text) : null;
  /** @type {Spec | null} */
  let spec = null;
  if (m && Number(m[6] ?? 0) <= MAX_SPEC_WIDTH && Number(m[8] ?? 0) <= MAX_SPEC_PRECISION) {
    const zero = m[5] === '0';
    spec = {
      fill: m[1] ?? (zero && !m[2] ? '0' : ' '),
      align: m[2] ?? (zero ? '=' : ''),
      sign: m[3] ?? '-',
      alt: m[4] === '#',
      width: m[6] ? Number(m[6]) : 0,
      grouping: m[7] ?? '',
      precision: m[8] !== undefined ? Number(m[8]) : null,
      // `n` is Python's locale-aware `g`; a dashboard served to many locales keeps one rendering.
      type: m[9] === 'n' ? 'g' : (m[9] ?? ''),
    };
  }
  if (specCache.size > 256) specCache.clear();
  specCache.set(text, spec);
  return spec;
}

/**
 * @param {string} digits  an unsigned integer's decimal digits
 * @param {string} sep
 */
function group(digits, sep) {
  if (!sep || digits.length <= 3) return digits;
  let out = '';
  let i = digits.length % 3 || 3;
  out = digits.slice(0, i);
  for (; i < digits.length; i += 3) out += sep + digits.slice(i, i + 3);
  return out;
}

/**
 * toFixed for any magnitude: past 1e21 JavaScript switches to exponent notation, Python does not.
 * @param {number} abs  non-negative, finite
 * @param {number} precision
 */
function fixed(abs, precision) {
  if (abs < 1e21) return abs.toFixed(precision);
  // Every double this large is an integer, so BigInt is exact.
  return BigInt(abs).toString() + (precision > 0 ? '.' + '0'.repeat(precision) : '');
}

/**
 * Python writes exponents with at least two digits (`1.5e+03`), JavaScript with one.
 * @param {string} s
 */
function pyExponent(s) {
  return s.replace(/e([+-])(\d)$/, 'e$10$2');
}

/**
 * @param {string} s
 */
function stripZeros(s) {
  return s.replace(/(\.\d*?)0+(?=$|e)/, '$1').replace(/\.(?=$|e)/, '');
}

/**
 * Python's `g`: fixed notation when the exponent is in [-4, precision), else scientific.
 * @param {number} abs
 * @param {number} precision
 * @param {boolean} alt
 */
function general(abs, precision, alt) {
  const p = precision === 0 ? 1 : precision;
  if (abs === 0) return alt ? (0).toFixed(p - 1) : '0';
  const exp = Number(abs.toExponential(p - 1).split('e')[1]);
  const s = exp >= -4 && exp < p ? fixed(abs, p - 1 - exp) : pyExponent(abs.toExponential(p - 1));
  return alt ? s : stripZeros(s);
}

/**
 * Joins sign and body, grouping the integer part and padding to the spec's width.
 * @param {string} body  unsigned, digits possibly with `.`, `e`, `%`
 * @param {boolean} negative
 * @param {Spec} spec
 */
function finish(body, negative, spec) {
  if (spec.grouping && /^\d/.test(body)) {
    const m = /^(\d+)(.*)$/s.exec(body);
    if (m) body = group(m[1], spec.grouping) + m[2];
  }
  const sign = negative ? '-' : spec.sign === '+' ? '+' : spec.sign === ' ' ? ' ' : '';
  const len = sign.length + body.length;
  if (len >= spec.width) return sign + body;
  const pad = spec.fill.repeat(spec.width - len);
  switch (spec.align || '>') {
    case '<': return sign + body + pad;
    case '^': {
      const left = pad.slice(0, Math.floor(pad.length / 2));
      return left + sign + body + pad.slice(left.length);
    }
    case '=': return sign + pad + body;
    default: return pad + sign + body;
  }
}

/**
 * Formats a number by a parsed spec.
 * @param {number} value
 * @param {Spec} spec
 */
function formatWith(value, spec) {
  if (Number.isNaN(value)) return finish('nan', false, spec);
  const negative = value < 0 || Object.is(value, -0);
  const abs = Math.abs(value);
  if (!Number.isFinite(abs)) return finish(spec.type === '%' ? 'inf%' : 'inf', negative, spec);
  const p = spec.precision;
  let body;
  switch (spec.type) {
    case 'f': case 'F': body = fixed(abs, p ?? 6); break;
    case '%': body = fixed(abs * 100, p ?? 6) + '%'; break;
    case 'e': body = pyExponent(abs.toExponential(p ?? 6)); break;
    case 'E': body = pyExponent(abs.toExponential(p ?? 6)).toUpperCase(); break;
    case 'g': body = general(abs, p ?? 6, spec.alt); break;
    case 'G': body = general(abs, p ?? 6, spec.alt).toUpperCase(); break;
    // Python refuses `d` for floats; a dashboard rounds instead of showing nothing.
    case 'd': body = fixed(Math.round(abs), 0); break;
    default:
      if (p !== null) body = general(abs, p, spec.alt);
      else if (Number.isInteger(abs)) body = fixed(abs, 0);
      else body = String(abs).includes('e') ? pyExponent(String(abs)) : String(abs);
  }
  // A value that rounds to zero shows without a sign: "-0.0" on a dashboard reads as a glitch.
  return finish(body, negative && /[1-9]/.test(body.replace(/e.*$/i, '')), spec);
}

/**
 * The default: thousands separators, at most two decimals for ordinary magnitudes and three
 * significant digits for small ones, so 0.00042 does not collapse to "0".
 * @param {number} value
 */
export function formatDefault(value) {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '-∞';
  const abs = Math.abs(value);
  let body;
  // Past 2^53 digits are binary noise ("10,000,000,000,000,000,905,969,664"): use an exponent.
  if (abs >= 1e16) return (value < 0 ? '-' : '') + stripZeros(pyExponent(abs.toExponential(2)));
  if (Number.isInteger(abs)) body = fixed(abs, 0);
  else if (abs >= 1) body = stripZeros(fixed(abs, 2));
  else body = stripZeros(abs.toPrecision(3));
  if (body.includes('e')) body = stripZeros(pyExponent(abs.toExponential(2)));
  const m = /^(\d+)(.*)$/s.exec(body);
  if (m) body = group(m[1], ',') + m[2];
  return (value < 0 && /[1-9]/.test(body) ? '-' : '') + body;
}

/**
 * Formats any JSON value for display. Numbers follow `spec` (or the default when the spec is
 * absent or not understood, so a typo in a config never hides the value); other values show as
 * text, null as an em dash.
 * @param {unknown} value
 * @param {string | null | undefined} [spec]
 * @returns {string}
 */
export function formatValue(value, spec) {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'number') {
    const parsed = spec ? parseSpec(spec) : null;
    return parsed ? formatWith(value, parsed) : formatDefault(value);
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

/**
 * Formats a change between two values with an explicit sign, in the value's own spec.
 * @param {number} delta
 * @param {string | null | undefined} spec
 */
export function formatDelta(delta, spec) {
  const text = formatValue(Math.abs(delta), spec);
  if (!/[1-9]/.test(text)) return text;
  return (delta < 0 ? '−' : '+') + text;
}

/**
 * About how wide a text is, in em of a bold sans-serif face with tabular digits, erring wide (the
 * widest common system faces): a stat or gauge sizes its number by it, so a long number is made
 * to fit its card instead of being cut, without a layout per update.
 * @param {string} text
 */
export function textEms(text) {
  let w = 0;
  for (const ch of text) w += ch === ',' || ch === '.' || ch === ' ' || ch === ':' ? 0.38 : 0.72;
  return Math.max(w, 1);
}

// @ts-check
// <sv-stat>: one big number with its unit, and its change against the previous value.

import { instantText } from '../asof.js';
import { Decimals, formatFixed } from '../decimals.js';
import { formatDelta, textEms } from '../format.js';
import { SvWidget, el, setText } from './base.js';

/** @typedef {import('../state.js').ValueWidget} ValueWidget */

/** @extends {SvWidget<ValueWidget>} */
export class SvStat extends SvWidget {
  static define() {
    if (!customElements.get('sv-stat')) customElements.define('sv-stat', SvStat);
  }

  constructor() {
    super();
    const main = el('div', 'sv-stat-main');
    this.valueEl = el('span', 'sv-stat-value', '—');
    this.unitEl = el('span', 'sv-stat-unit');
    main.append(this.valueEl, this.unitEl);
    this.deltaEl = el('div', 'sv-stat-delta');
    this.built = [main, this.deltaEl];
    /** Without a format, the value keeps the decimals it has needed so far (59.80, not 59.8). */
    this.decimals = new Decimals();
    /** The value's and unit's lengths --sv-ems was last fitted for (fit()). */
    this.fitted = '';
  }

  setup() {
    if (!this.firstChild) this.append(...this.built);
  }

  /**
   * Widens --sv-ems by how far the value still overflows its box; the ratio holds at any card
   * width, since the font size follows the width (style.css).
   */
  fit() {
    const v = this.valueEl;
    // Not laid out (not displayed): nothing to measure.
    if (v.clientWidth === 0) return;
    const over = v.scrollWidth / v.clientWidth;
    if (over <= 1.005) return;
    const ems = Number(v.style.getPropertyValue('--sv-ems')) || 1;
    v.style.setProperty('--sv-ems', String(Math.ceil(ems * over * 1.02 * 100) / 100));
  }

  /** @param {ValueWidget} w */
  render(w) {
    const { value, prev, ts } = w.state;
    const { format, unit, color, delta } = w.config;
    const shown = this.decimals.format(value, format);
    setText(this.valueEl, shown);
    // style.css sizes the number to fit the card's width by this: cut with an ellipsis, a long
    // one lost its last digits, the ones that change.
    // The unit beside it is set at about 0.35 of its size (style.css), after a 0.35em gap.
    const beside = value === null || !unit ? 0 : 0.35 + 0.35 * textEms(unit);
    setText(this.unitEl, value === null ? '' : unit);
    // Measured once per length of value, unit and theme (its font): the estimate cannot know the
    // reader's own letter spacing (WCAG 1.4.12) or an unusually wide font, which cut the last
    // digits again.
    const fit = `${shown.length}/${unit}/${document.documentElement.dataset.themeKey ?? ''}`;
    if (fit !== this.fitted) {
      this.fitted = fit;
      const ems = String(Math.round((textEms(shown) + beside) * 100) / 100);
      if (this.valueEl.style.getPropertyValue('--sv-ems') !== ems) this.valueEl.style.setProperty('--sv-ems', ems);
      this.fit();
    }
    this.valueEl.style.color = color ?? '';
    if (ts !== null) this.valueEl.title = instantText(ts);
    else this.valueEl.removeAttribute('title');

    if (!delta || value === null || prev === null) {
      setText(this.deltaEl, '');
      this.deltaEl.dataset.dir = 'none';
      return;
    }
    const d = value - prev;
    // A change past the largest double (-1e308 after 1e308) is an infinity: it keeps its sign and
    // direction, where the digit tests below would take "∞" for no change.
    const huge = !Number.isFinite(d);
    // Without a format the change has the value's decimals too (+0.20, not +0.2 after +0.14).
    const text = huge ? `${d < 0 ? '−' : '+'}∞`
      : format ? formatDelta(d, format) : signed(d, formatFixed(Math.abs(d), this.decimals.n));
    const zero = !huge && !/[1-9]/.test(text);
    const dir = d > 0 && !zero ? 'up' : d < 0 && !zero ? 'down' : 'flat';
    this.deltaEl.dataset.dir = dir;
    const arrow = dir === 'up' ? '▲ ' : dir === 'down' ? '▼ ' : '';
    // A relative change reads well for amounts; for a value already in percent it would be a
    // percentage of a percentage.
    const rel = prev !== 0 && !format?.endsWith('%') && !zero && !huge
      ? ` (${formatDelta(d / Math.abs(prev), '.1%')})`
      : '';
    setText(this.deltaEl, `${arrow}${text}${unit ? ' ' + unit : ''}${rel}`);
  }
}

/**
 * The change with its sign (− for a decrease), none when it shows as zero.
 * @param {number} d
 * @param {string} text  |d| formatted
 */
function signed(d, text) {
  if (!/[1-9]/.test(text)) return text;
  return (d < 0 ? '−' : '+') + text;
}

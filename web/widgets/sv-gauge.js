// @ts-check
// <sv-gauge>: a value on a min–max arc, coloured by thresholds. Drawn as SVG built with
// createElementNS; it scales with its box through the viewBox, so it needs no resize handling.

import { Decimals } from '../decimals.js';
import { formatValue, textEms } from '../format.js';
import { arcPath, gaugeColor, gaugeFraction, polar, START_DEG, SWEEP_DEG } from '../gauge-model.js';
import { SvWidget, setText } from './base.js';

/** @typedef {import('../state.js').ValueWidget} ValueWidget */
/** @typedef {import('../config.js').WidgetConfig} WidgetConfig */

const NS = 'http://www.w3.org/2000/svg';
const CX = 100;
const CY = 95;
const R = 80;

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {string} [className]
 */
function svg(tag, attrs, className) {
  const e = /** @type {SVGElement} */ (document.createElementNS(NS, tag));
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (className) e.setAttribute('class', className);
  return e;
}

/** Font sizes in view box units (style.css .sv-gauge-value, -unit, -limit). */
const VALUE_PX = 34;
const UNIT_PX = 14;
const LIMIT_PX = 11;

/**
 * Sets a text's font size to its full size, or smaller so it fits width view box units.
 * @param {SVGElement} e
 * @param {string} text
 * @param {number} full
 * @param {number} width
 */
function fitText(e, text, full, width) {
  const px = Math.min(full, Math.floor((width / textEms(text)) * 10) / 10);
  const size = px < full ? `${px}px` : '';
  if (e.style.fontSize !== size) e.style.fontSize = size;
}

/** @extends {SvWidget<ValueWidget>} */
export class SvGauge extends SvWidget {
  static define() {
    if (!customElements.get('sv-gauge')) customElements.define('sv-gauge', SvGauge);
  }

  constructor() {
    super();
    this.svg = svg('svg', { viewBox: '0 0 200 165', role: 'img' }, 'sv-gauge-svg');
    const track = svg('path', { d: arcPath(CX, CY, R, 1) }, 'sv-gauge-track');
    this.ticks = svg('g', {}, 'sv-gauge-ticks');
    this.arc = svg('path', { d: '' }, 'sv-gauge-arc');
    this.valueEl = svg('text', { x: CX, y: CY + 8, 'text-anchor': 'middle' }, 'sv-gauge-value');
    this.unitEl = svg('text', { x: CX, y: CY + 32, 'text-anchor': 'middle' }, 'sv-gauge-unit');
    const lo = polar(CX, CY, R, START_DEG);
    const hi = polar(CX, CY, R, START_DEG + SWEEP_DEG);
    this.minEl = svg('text', { x: lo.x.toFixed(1), y: 160, 'text-anchor': 'middle' }, 'sv-gauge-limit');
    this.maxEl = svg('text', { x: hi.x.toFixed(1), y: 160, 'text-anchor': 'middle' }, 'sv-gauge-limit');
    this.svg.append(track, this.ticks, this.arc, this.valueEl, this.unitEl, this.minEl, this.maxEl);
    /** @type {WidgetConfig | null} */
    this.tickConfig = null;
    /** Without a format the number keeps its decimals: a gauge must not jump 59.66, 59.8, 60. */
    this.decimals = new Decimals();
  }

  setup() {
    if (!this.firstChild) this.append(this.svg);
  }

  /** @param {ValueWidget} w */
  render(w) {
    const c = w.config;
    const { value } = w.state;
    const text = this.decimals.format(value, c.format);
    setText(this.valueEl, text);
    setText(this.unitEl, c.unit);
    // Value and unit fit inside the arc (about 145 and 130 of the view box's 200 units at their
    // heights, less a margin): a long number at the full size ran past the card's edges.
    fitText(this.valueEl, text, VALUE_PX, 128);
    fitText(this.unitEl, c.unit, UNIT_PX, 120);
    const lo = formatValue(c.min, c.format);
    const hi = formatValue(c.max, c.format);
    setText(this.minEl, lo);
    setText(this.maxEl, hi);
    // The ends' labels are centred under the arc's ends, about 40 units from the view box's sides.
    fitText(this.minEl, lo, LIMIT_PX, 76);
    fitText(this.maxEl, hi, LIMIT_PX, 76);
    this.arc.setAttribute('d', value === null ? '' : arcPath(CX, CY, R, gaugeFraction(value, c.min, c.max)));
    // CSSOM, not a style attribute: the page's CSP allows the one and forbids the other, and an
    // empty string falls back to the stylesheet's default colour.
    this.arc.style.stroke = gaugeColor(value, c) ?? '';
    this.svg.setAttribute('aria-label', `${c.title}: ${text}${c.unit ? ' ' + c.unit : ''}`);
    if (this.tickConfig !== c) this.drawTicks(c);
  }

  /**
   * Marks each threshold on the scale in its colour, so the bands are visible before the value
   * reaches them.
   * @param {WidgetConfig} c
   */
  drawTicks(c) {
    this.tickConfig = c;
    this.ticks.replaceChildren();
    for (const [limit, color] of c.thresholds) {
      if (limit < c.min || limit > c.max) continue;
      const deg = START_DEG + gaugeFraction(limit, c.min, c.max) * SWEEP_DEG;
      const a = polar(CX, CY, R - 11, deg);
      const b = polar(CX, CY, R + 11, deg);
      const line = svg('line', { x1: a.x.toFixed(2), y1: a.y.toFixed(2), x2: b.x.toFixed(2), y2: b.y.toFixed(2) }, 'sv-gauge-tick');
      line.style.stroke = color;
      this.ticks.append(line);
    }
  }
}

// @ts-check
// <sv-table>: live rows as a real <table>. The rows shown are kept up to date from the keys that
// changed (TopRows), not reselected from every row; rows are reused by key across redraws, only
// rows whose data changed are looked at, only cells whose text changed are touched, and exactly
// those flash.

import { Decimals } from '../decimals.js';
import { TopRows, cell, columnLabel, displayColumns } from '../table-model.js';
import { SvWidget, el, setText } from './base.js';

/** @typedef {import('../state.js').TableWidget} TableWidget */
/** @typedef {{tr: HTMLTableRowElement, cells: HTMLTableCellElement[], texts: string[], row: Record<string, unknown> | null}} RowView */

const FLASH_MS = 900;

/**
 * A cell's text past this many characters (about three lines of a 20rem column) is clamped to
 * three lines behind a "show all" button: a 10 KB log line or JSON blob made its row thousands of
 * pixels tall, and a table of a few such rows could not be read.
 */
export const CLAMP_CHARS = 120;

/** Numbers the clamped cells' texts for their buttons' aria-controls. */
let clampIds = 0;

/** @extends {SvWidget<TableWidget>} */
export class SvTable extends SvWidget {
  static define() {
    if (!customElements.get('sv-table')) customElements.define('sv-table', SvTable);
  }

  constructor() {
    super();
    this.wrap = el('div', 'sv-table-wrap');
    this.table = el('table', 'sv-table');
    this.headRow = el('tr');
    this.tbody = el('tbody');
    // The card shows the title above; the caption names the table for assistive technology.
    this.caption = el('caption', 'sv-sr-only');
    this.table.append(this.caption, el('thead'), this.tbody);
    /** @type {HTMLTableSectionElement} */ (this.table.tHead).append(this.headRow);
    this.wrap.append(this.table);
    this.foot = el('div', 'sv-table-foot');
    /** @type {Map<string, RowView>} */
    this.views = new Map();
    this.topRows = new TopRows();
    /** What the header was last drawn from (renderHead). */
    this.headKey = '';
    /** @type {string[]} */
    this.columns = [];
    /** Per column: the decimals its numbers have needed, when it has no format. */
    /** @type {Decimals[]} */
    this.decimals = [];
    /** A header click overrides the config's sort until the page reloads. */
    /** @type {{col: string, desc: boolean} | null} */
    this.userSort = null;
    /** @type {Map<HTMLTableCellElement, number>} cell → when its flash ends */
    this.flashing = new Map();
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.flashTimer = null;
    this.headRow.addEventListener('click', (ev) => {
      const th = /** @type {Element} */ (ev.target).closest('th');
      const col = th?.getAttribute('data-col');
      if (col == null) return;
      const cur = this.currentOrder();
      this.userSort = { col, desc: cur.sortBy === col ? !cur.desc : true };
      this.markDirty();
    });
    // A button is clicked by the mouse, Enter and Space alike.
    this.tbody.addEventListener('click', (ev) => {
      const btn = /** @type {Element} */ (ev.target).closest('.sv-cell-more');
      const td = btn?.parentElement;
      if (!btn || !td) return;
      const open = td.dataset.clamp !== 'open';
      td.dataset.clamp = open ? 'open' : 'closed';
      btn.setAttribute('aria-expanded', String(open));
      btn.setAttribute('aria-label', open ? 'show less' : 'show all');
    });
  }

  setup() {
    if (!this.firstChild) this.append(this.wrap, this.foot);
  }

  teardown() {
    if (this.flashTimer !== null) clearTimeout(this.flashTimer);
    this.flashTimer = null;
    for (const c of this.flashing.keys()) c.classList.remove('sv-flash');
    this.flashing.clear();
  }

  currentOrder() {
    const c = this.widget?.config;
    if (this.userSort && this.columns.includes(this.userSort.col)) {
      return { sortBy: this.userSort.col, desc: this.userSort.desc };
    }
    return { sortBy: c?.sort_by ?? null, desc: c?.sort_desc ?? true };
  }

  /** @param {TableWidget} w */
  render(w) {
    const c = w.config;
    setText(this.caption, c.title);
    const cols = displayColumns(c, w.state);
    const headChanged = cols.length !== this.columns.length || cols.some((col, i) => col !== this.columns[i]);
    if (headChanged) {
      // Cells are positional, so a new column set starts the body over (without flashing).
      this.columns = cols.slice();
      this.tbody.replaceChildren();
      this.views.clear();
      this.decimals = cols.map(() => new Decimals());
    }
    const order = this.currentOrder();
    const rows = this.topRows.sync(w.state.rows, w.state.changed, order, c.max_rows);
    // Numbers are right-aligned, so their headers must be too; the top row decides.
    const numeric = cols.map((col) => rows.length > 0 && typeof cell(rows[0][1], col) === 'number');
    this.renderHead(c, order, numeric);

    const formats = cols.map((col) =>
      Object.prototype.hasOwnProperty.call(c.column_format, col) ? c.column_format[col] : null);
    // A column shows all its numbers with as many decimals as any has needed (7,167.30 beside
    // 7,440.29); when a new row needs more, the rows already drawn are rewritten, without a flash.
    let reformat = false;
    for (const [key, row] of rows) {
      if (this.views.get(key)?.row === row) continue;
      for (let i = 0; i < cols.length; i++) {
        if (formats[i] === null && this.decimals[i].see(cell(row, cols[i]))) reformat = true;
      }
    }
    const keep = new Set();
    const now = performance.now();
    let at = 0;
    for (const [key, row] of rows) {
      keep.add(key);
      let view = this.views.get(key);
      const fresh = !view;
      if (!view) {
        const tr = el('tr');
        tr.dataset.key = key;
        const cells = cols.map(() => {
          const td = tr.appendChild(el('td'));
          td.dir = 'auto'; // a cell of Arabic or Hebrew reads right to left, as in the card title
          return td;
        });
        view = { tr, cells, texts: [], row: null };
        this.views.set(key, view);
      }
      // Updates replace a row's object, so the same object means the same cells (a new config,
      // which could change formats, comes with new objects too).
      if (view.row !== row || reformat) {
        const quiet = fresh || view.row === row;
        view.row = row;
        this.renderCells(view, row, cols, formats, quiet, now);
      }
      // Move only rows that are out of place: moving all would relayout the whole table.
      if (this.tbody.children[at] !== view.tr) this.tbody.insertBefore(view.tr, this.tbody.children[at] ?? null);
      at++;
    }
    for (const [key, view] of this.views) {
      if (keep.has(key)) continue;
      view.tr.remove();
      for (const td of view.cells) this.flashing.delete(td);
      this.views.delete(key);
    }

    // How tall the card needs to be (style.css): small tables do not leave a tall empty card.
    // A row with a clamped cell is about three rows tall.
    let lines = 0;
    for (const [key] of rows) lines += this.views.get(key)?.texts.some((t) => t.length > CLAMP_CHARS) ? 3 : 1;
    const size = lines <= 2 ? 's' : lines <= 7 ? 'm' : 'l';
    if (this.dataset.size !== size) this.dataset.size = size;

    const total = w.state.rows.size;
    const refused = w.state.refused;
    const n = (/** @type {number} */ v) => v.toLocaleString('en-US');
    // The server's row limit left keys out: the table is bigger than what is held, and says so.
    const foot = refused > 0
      ? `showing ${n(rows.length)} of ${n(total + refused)} rows; limit reached (${n(total)} held)`
      : total === 0
        ? 'no rows yet'
        : rows.length < total ? `${n(rows.length)} of ${n(total)} rows` : '';
    setText(this.foot, foot);
    if (this.foot.hidden !== (foot === '')) this.foot.hidden = foot === '';
  }

  /**
   * @param {RowView} view
   * @param {Record<string, unknown>} row
   * @param {string[]} cols
   * @param {(string | null)[]} formats
   * @param {boolean} fresh  a new row, or only reformatted: it does not flash
   * @param {number} now
   */
  renderCells(view, row, cols, formats, fresh, now) {
    for (let i = 0; i < cols.length; i++) {
      const v = cell(row, cols[i]);
      const text = v === undefined ? '' : this.decimals[i].format(v, formats[i]);
      if (view.texts[i] === text) continue;
      view.texts[i] = text;
      const td = view.cells[i];
      setCellText(td, text);
      const num = typeof v === 'number';
      if (td.classList.contains('sv-num') !== num) td.classList.toggle('sv-num', num);
      if (!fresh) this.flash(td, now);
    }
  }

  /**
   * @param {import('../config.js').WidgetConfig} c
   * @param {{sortBy: string | null, desc: boolean}} order
   * @param {boolean[]} numeric
   */
  renderHead(c, order, numeric) {
    // Most redraws change rows, not the header: skip it when nothing it shows changed.
    const key = JSON.stringify([this.columns, this.columns.map((col) => columnLabel(c, col)), order, numeric]);
    if (key === this.headKey) return;
    this.headKey = key;
    const ths = /** @type {HTMLTableCellElement[]} */ ([...this.headRow.children]);
    if (ths.length !== this.columns.length || ths.some((th, i) => th.getAttribute('data-col') !== this.columns[i])) {
      this.headRow.replaceChildren(...this.columns.map((col) => {
        const th = el('th');
        th.scope = 'col';
        th.setAttribute('data-col', col);
        const btn = el('button', 'sv-th-btn');
        // The arrow is hidden from assistive technology: aria-sort says the same, and inside the
        // button's name it would read "revenue ▼".
        const ind = el('span', 'sv-sort-ind');
        ind.setAttribute('aria-hidden', 'true');
        const label = el('span', 'sv-th-label');
        label.dir = 'auto';
        btn.append(label, ind);
        th.append(btn);
        return th;
      }));
    }
    for (const [i, th] of /** @type {HTMLTableCellElement[]} */ ([...this.headRow.children]).entries()) {
      // Written only when different: an attribute write, even of the same value, costs a style
      // invalidation.
      const col = /** @type {string} */ (th.getAttribute('data-col'));
      if (th.classList.contains('sv-num') !== numeric[i]) th.classList.toggle('sv-num', numeric[i]);
      const btn = /** @type {HTMLButtonElement} */ (th.firstElementChild);
      if (btn.type !== 'button') btn.type = 'button';
      const sort = order.sortBy === col ? (order.desc ? 'descending' : 'ascending') : null;
      setText(/** @type {Element} */ (btn.firstElementChild), columnLabel(c, col));
      setText(/** @type {Element} */ (btn.lastElementChild), sort === 'descending' ? '▼' : sort === 'ascending' ? '▲' : '');
      if (th.getAttribute('aria-sort') !== sort) {
        if (sort === null) th.removeAttribute('aria-sort');
        else th.setAttribute('aria-sort', sort);
      }
    }
  }

  /**
   * Restarts the cell's flash. Alternating the animation between two identical keyframe names
   * (data-flash a/b) restarts it without forcing a layout per cell.
   * @param {HTMLTableCellElement} td
   * @param {number} now
   */
  flash(td, now) {
    td.dataset.flash = td.dataset.flash === 'a' ? 'b' : 'a';
    td.classList.add('sv-flash');
    this.flashing.set(td, now + FLASH_MS);
    if (this.flashTimer === null) this.flashTimer = setTimeout(() => this.unflash(), FLASH_MS);
  }

  unflash() {
    this.flashTimer = null;
    const now = performance.now();
    let next = Infinity;
    for (const [td, end] of this.flashing) {
      if (end <= now) {
        td.classList.remove('sv-flash');
        this.flashing.delete(td);
      } else if (end < next) next = end;
    }
    if (next !== Infinity) this.flashTimer = setTimeout(() => this.unflash(), Math.max(16, next - now));
  }
}

/**
 * Writes a cell's text, clamped behind a disclosure button when long. The whole text is always in
 * the DOM (the clamp only hides its overflow), so a screen reader reads all of it, open or not.
 * A cell the reader opened stays open through its row's updates, and its button is kept (never
 * rebuilt), so an update neither closes the text being read nor takes the keyboard focus away.
 * @param {HTMLTableCellElement} td
 * @param {string} text
 */
function setCellText(td, text) {
  const long = text.length > CLAMP_CHARS;
  let body = /** @type {HTMLElement | null} */ (td.dataset.clamp ? td.firstElementChild : null);
  if (!body) {
    if (!long) {
      td.textContent = text;
      return;
    }
    body = el('div', 'sv-cell-text');
    body.id = `sv-cell-${++clampIds}`;
    body.dir = 'auto';
    // Its name is an attribute and its visible label CSS content, so the cell's textContent stays
    // exactly the cell's text (what a copy, a test or an extension reads).
    const btn = el('button', 'sv-cell-more');
    btn.type = 'button';
    btn.setAttribute('aria-controls', body.id);
    btn.setAttribute('aria-expanded', 'false');
    btn.setAttribute('aria-label', 'show all');
    td.replaceChildren(body, btn);
    td.dataset.clamp = 'closed';
  }
  setText(body, text);
  const btn = /** @type {HTMLButtonElement} */ (body.nextElementSibling);
  if (btn.hidden !== !long) btn.hidden = !long;
}

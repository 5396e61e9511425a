// @ts-check
// The page's colour theme (protocol.md §1.1): the dashboard's theme from the server, which a
// viewer may override per view (`?theme=light`) or per browser (the header's picker, kept in
// localStorage). A custom theme's values become CSS variables on <html>, set with
// style.setProperty and only after the same checks the server makes, so a value can never
// become more than the one property it is meant for.

/** @typedef {'dark' | 'light' | 'auto'} Mode */
/**
 * @typedef {{mode?: string, accent?: string, background?: string, surface?: string, text?: string,
 *   font?: string, radius?: number}} Theme
 */

export const STORAGE_KEY = 'streamviz-theme';

/** @param {unknown} v @returns {v is Mode} */
export function isMode(v) {
  return v === 'dark' || v === 'light' || v === 'auto';
}

const HEX = /^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/;
const FUNC = /^(?:rgb|rgba|hsl|hsla)\([0-9.,%/ deg-]{1,60}\)$/;
const NAME = /^[a-zA-Z]{3,30}$/;
const FONT = /^[A-Za-z0-9 ,\-._'"]{1,200}$/;

/** @param {unknown} v @returns {v is string} */
export function safeColor(v) {
  return typeof v === 'string' && (HEX.test(v) || FUNC.test(v) || NAME.test(v));
}

/** @param {unknown} v @returns {v is string} */
export function safeFont(v) {
  return typeof v === 'string' && FONT.test(v);
}

/**
 * The mode a view asks for in its address (`?theme=light`), or null.
 * @param {string} search  location.search
 * @returns {Mode | null}
 */
export function themeParam(search) {
  const v = new URLSearchParams(search).get('theme');
  return isMode(v) ? v : null;
}

/**
 * What the page shows: the mode (before `auto` is resolved) and the CSS variables to set.
 * A viewer's override of the mode drops the custom background, surface and text colours when it
 * picks another mode than the theme's (a dark background under light text would be unreadable);
 * accent, font and radius are kept, as they read in either mode.
 * @param {Theme | null} server  the dashboard's theme, null for the default
 * @param {Mode | null} override  the view's or the browser's choice
 * @returns {{mode: Mode, vars: Record<string, string>}}
 */
export function resolveTheme(server, override) {
  const own = server && isMode(server.mode) ? server.mode : 'dark';
  const mode = override ?? own;
  /** @type {Record<string, string>} */
  const vars = {};
  if (!server) return { mode, vars };
  if (safeColor(server.accent)) {
    vars['--sv-accent'] = server.accent;
    vars['--sv-series-1'] = server.accent;
  }
  if (mode === own) {
    if (safeColor(server.background)) vars['--sv-bg'] = server.background;
    if (safeColor(server.surface)) {
      vars['--sv-surface'] = server.surface;
      vars['--sv-surface-2'] = server.surface;
    }
    if (safeColor(server.text)) vars['--sv-text'] = server.text;
  }
  if (safeFont(server.font)) vars['--sv-font'] = server.font;
  const r = server.radius;
  if (typeof r === 'number' && Number.isFinite(r) && r >= 0 && r <= 32) vars['--sv-radius'] = `${r}px`;
  return { mode, vars };
}

/**
 * Keeps <html>'s data-theme and custom variables in line with the server's theme and the
 * viewer's choice, following the system's colour scheme in `auto` mode.
 */
export class ThemeController {
  /**
   * @param {{root: HTMLElement, param: Mode | null, stored: boolean, onChange: () => void}} opts
   *   stored: read and write the browser's choice (the dashboard page; an embed only reads its address)
   */
  constructor(opts) {
    this.root = opts.root;
    this.param = opts.param;
    this.stored = opts.stored;
    this.onChange = opts.onChange;
    /** @type {Theme | null} */
    this.server = null;
    /** @type {string[]} */
    this.set = [];
    this.key = '';
    this.media = globalThis.matchMedia?.('(prefers-color-scheme: light)') ?? null;
    this.media?.addEventListener('change', () => this.apply());
  }

  /** @returns {Mode | null} the browser's remembered choice */
  choice() {
    if (!this.stored) return null;
    try {
      const v = localStorage.getItem(STORAGE_KEY);
      return isMode(v) ? v : null;
    } catch {
      return null; // storage may be off (a sandboxed frame, privacy settings)
    }
  }

  /** @param {Mode | null} mode  null forgets the choice: the dashboard's theme shows */
  choose(mode) {
    this.param = null; // a choice made on this view outranks its address from now on
    try {
      if (mode === null) localStorage.removeItem(STORAGE_KEY);
      else localStorage.setItem(STORAGE_KEY, mode);
    } catch {
      // not remembered; still applied below
    }
    this.apply(mode);
  }

  /** @param {unknown} theme  the snapshot's or title event's theme */
  setServer(theme) {
    this.server = theme !== null && typeof theme === 'object' ? /** @type {Theme} */ (theme) : null;
    this.apply();
  }

  /** The override in force: the address, else the browser's choice. */
  override() {
    return this.param ?? this.choice();
  }

  /** @param {Mode | null} [override] */
  apply(override = this.override()) {
    const { mode, vars } = resolveTheme(this.server, override);
    const scheme = mode === 'auto' ? (this.media?.matches ? 'light' : 'dark') : mode;
    for (const name of this.set) if (!(name in vars)) this.root.style.removeProperty(name);
    for (const [name, value] of Object.entries(vars)) this.root.style.setProperty(name, value);
    this.set = Object.keys(vars);
    const key = JSON.stringify([scheme, vars]);
    if (this.root.dataset.theme !== scheme) this.root.dataset.theme = scheme;
    if (this.root.dataset.themeMode !== mode) this.root.dataset.themeMode = mode;
    if (key !== this.key) {
      this.key = key;
      this.root.dataset.themeKey = String(hash(key));
      this.onChange();
    }
  }
}

/** @param {string} s */
function hash(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h >>> 0;
}

// @ts-check
// A card's menu: a button beside the title that opens a short list of actions (download PNG,
// CSV or JSON; full screen). Keyboard: Enter/Space open it, arrows move, Esc closes it.

/** @typedef {'png' | 'csv' | 'json' | 'full'} MenuAction */

const LABELS = /** @type {Record<MenuAction, string>} */ ({
  png: 'Download PNG',
  csv: 'Download CSV',
  json: 'Download JSON',
  full: 'Full screen',
});

/** The menu open now, if any: one at a time. @type {CardMenu | null} */
let open = null;

export class CardMenu {
  /**
   * @param {() => MenuAction[]} actions  what the card offers now (its type may change)
   * @param {(a: MenuAction) => void} run
   */
  constructor(actions, run) {
    this.actions = actions;
    this.run = run;
    this.button = document.createElement('button');
    this.button.type = 'button';
    this.button.className = 'sv-menu-btn';
    this.button.textContent = '⋯';
    this.button.setAttribute('aria-haspopup', 'menu');
    this.button.setAttribute('aria-expanded', 'false');
    this.list = document.createElement('div');
    this.list.className = 'sv-menu';
    this.list.setAttribute('role', 'menu');
    this.list.hidden = true;
    this.button.addEventListener('click', () => (this.list.hidden ? this.show() : this.hide()));
    this.list.addEventListener('keydown', (e) => this.onKey(e));
  }

  /** @param {string} title  the card's title, for the button's accessible name */
  label(title) {
    const name = `Export or full screen: ${title}`;
    if (this.button.getAttribute('aria-label') !== name) this.button.setAttribute('aria-label', name);
  }

  show() {
    open?.hide();
    open = this;
    this.list.replaceChildren(...this.actions().map((a) => {
      const item = document.createElement('button');
      item.type = 'button';
      item.setAttribute('role', 'menuitem');
      item.dataset.action = a;
      item.textContent = LABELS[a];
      item.addEventListener('click', () => {
        this.hide();
        // The item is hidden with its list, which drops the focus to <body>: a keyboard reader
        // would start from the top of the page again (and a card removed in full screen would
        // not know the focus was its own). Back on the button, as Esc does.
        this.button.focus();
        this.run(a);
      });
      return item;
    }));
    this.list.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    /** @type {HTMLElement | null} */ (this.list.firstElementChild)?.focus();
    document.addEventListener('pointerdown', this.outside, true);
  }

  hide() {
    if (open === this) open = null;
    this.list.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
    document.removeEventListener('pointerdown', this.outside, true);
  }

  /** @param {Event} e */
  outside = (e) => {
    const t = /** @type {Node} */ (e.target);
    if (!this.list.contains(t) && !this.button.contains(t)) this.hide();
  };

  /** @param {KeyboardEvent} e */
  onKey(e) {
    const items = /** @type {HTMLElement[]} */ ([...this.list.children]);
    const at = items.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    if (e.key === 'Escape') {
      e.stopPropagation();
      this.hide();
      this.button.focus();
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      const next = (at + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length;
      items[next]?.focus();
    }
  }
}

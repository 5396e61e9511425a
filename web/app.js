// @ts-check
// Entry point of both pages: the dashboard (`/`) and a single embedded widget (`/embed/{id}`,
// marked by <body data-mode="embed">). Wires the socket to the state and the state to the cards.

import { Freshness, asOfText, clockText, latestAsOf } from './asof.js';
import { CardMenu } from './card-menu.js';
import { Connection } from './connection.js';
import { dashboardJSON, download, widgetCSV, widgetJSON } from './export.js';
import { ageText, connectionLabel, displayOrder, embedGrant, embedWidgetId, ingestBanner, isWidgetId } from './page.js';
import { DashboardState } from './state.js';
import { cardPNG } from './png.js';
import { ThemeController, isMode, themeParam } from './theme.js';
import { SvChart } from './widgets/sv-chart.js';
import { SvGauge } from './widgets/sv-gauge.js';
import { SvStat } from './widgets/sv-stat.js';
import { SvTable } from './widgets/sv-table.js';

/** @typedef {import('./state.js').Widget} Widget */
/** @typedef {import('./state.js').ApplyResult} ApplyResult */
/** @typedef {import('./widgets/base.js').SvWidget<any>} WidgetElement */
/** @typedef {import('./card-menu.js').MenuAction} MenuAction */
/** @typedef {{root: HTMLElement, title: HTMLElement, asof: HTMLElement, body: WidgetElement, type: string, menu: CardMenu}} Card */

const TAGS = { stat: 'sv-stat', gauge: 'sv-gauge', chart: 'sv-chart', table: 'sv-table' };

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const e = document.getElementById(id);
  if (!e) throw new Error(`streamviz: the page has no #${id}`);
  return e;
}

/**
 * @param {Widget} w
 * @param {boolean} embed  the card is the page: its title is the page's heading
 * @param {(card: Card, a: MenuAction) => void} act  runs a menu action
 * @returns {Card}
 */
function makeCard(w, embed, act) {
  const root = document.createElement('section');
  root.className = 'sv-card';
  const head = document.createElement('div');
  head.className = 'sv-card-head';
  const title = document.createElement(embed ? 'h1' : 'h2');
  title.className = 'sv-card-title';
  // Text from the bus may be Arabic or Hebrew: each piece takes the direction of its first strong
  // letter, so "كم عدد الطلبات؟" ends with its question mark on the left, as written.
  title.dir = 'auto';
  // "as of 10:42:07" (protocol.md §1.3 as_of): shown on hover, and always while stale.
  const asof = document.createElement('span');
  asof.className = 'sv-card-asof';
  asof.hidden = true;
  /** @type {Card} */
  const card = {
    root, title, asof, body: makeBody(w), type: w.type,
    menu: new CardMenu(() => /** @type {MenuAction[]} */ ([
      ...(card.type === 'chart' || card.type === 'gauge' ? ['png'] : []), 'csv', 'json', 'full',
    ]), (a) => act(card, a)),
  };
  head.append(title, asof, card.menu.button, card.menu.list);
  root.append(head, card.body);
  labelCard(card, w);
  return card;
}

/** @param {Widget} w */
function makeBody(w) {
  const body = /** @type {WidgetElement} */ (document.createElement(TAGS[w.type]));
  body.classList.add('sv-card-body');
  return body;
}

/**
 * @param {Card} card
 * @param {Widget} w
 */
function labelCard(card, w) {
  // Runs for every widget an event touches: writing an attribute, even its current value, costs
  // a style invalidation, so only changes are written.
  if (card.root.dataset.widgetId !== w.id) card.root.dataset.widgetId = w.id;
  if (card.root.dataset.widgetType !== w.type) card.root.dataset.widgetType = w.type;
  if (card.title.textContent !== w.config.title) card.title.textContent = w.config.title;
  card.menu.label(w.config.title);
  sizeCard(card.root, w.config);
}

/** Grid rows are 9.5rem with 0.75rem gaps (style.css .sv-grid). */
const ROW_PX = 152;
const GAP_PX = 12;

/**
 * Applies a widget's sizing hints (protocol.md §1.2): the stylesheet spans columns by data-width
 * (never more than the grid has) and rows by data-height; a height in pixels spans the rows that
 * hold it, and the card is that tall.
 * @param {HTMLElement} root
 * @param {import('./config.js').WidgetConfig} c
 */
function sizeCard(root, c) {
  const width = c.width === null ? undefined : String(c.width);
  const height = c.height === null ? undefined : typeof c.height === 'number' ? 'px' : c.height;
  if (root.dataset.width !== width) {
    if (width === undefined) delete root.dataset.width;
    else root.dataset.width = width;
  }
  if (root.dataset.height !== height) {
    if (height === undefined) delete root.dataset.height;
    else root.dataset.height = height;
  }
  const rows = typeof c.height === 'number' ? `span ${Math.max(1, Math.ceil((c.height + GAP_PX) / (ROW_PX + GAP_PX)))}` : '';
  if (root.style.gridRow !== rows) root.style.setProperty('grid-row', rows);
  const px = typeof c.height === 'number' ? `${c.height}px` : '';
  if (root.style.height !== px) root.style.setProperty('height', px);
}

/**
 * Full screen for one card (the Fullscreen API puts it above everything, whatever contains it);
 * Esc, or the same menu item, returns.
 * @param {HTMLElement} root
 */
function toggleFull(root) {
  if (document.fullscreenElement === root) void document.exitFullscreen();
  else void root.requestFullscreen().catch((e) => console.warn(`streamviz: full screen refused: ${e}`));
}

/**
 * Tells the page how tall its sticky header is (--sv-header-h, style.css scroll-padding-top), so
 * a control the focus moves to is scrolled clear of the header: going back with Shift+Tab left
 * it underneath. The header's height changes as it wraps (a narrow window, a long title, zoom).
 * @param {Element | null} header
 */
function keepFocusClearOfHeader(header) {
  if (!header) return;
  const root = document.documentElement;
  new ResizeObserver(() => {
    const h = `${Math.ceil(header.getBoundingClientRect().height)}px`;
    if (root.style.getPropertyValue('--sv-header-h') !== h) root.style.setProperty('--sv-header-h', h);
  }).observe(header);
}

function main() {
  for (const el of [SvStat, SvGauge, SvChart, SvTable]) el.define();

  const embed = document.body.dataset.mode === 'embed';
  const embedId = embed ? embedWidgetId(location.pathname) : null;
  const conn = byId('sv-conn');
  const container = byId(embed ? 'sv-embed' : 'sv-grid');
  const titleEl = embed ? null : byId('sv-title');
  // On an embed page the age shows only while the socket is down (style.css), so a frame whose
  // server is gone says how old its picture is.
  const updatedEl = document.getElementById('sv-updated');
  const notice = document.createElement('p');
  notice.className = 'sv-notice';

  if (embed && (embedId === null || !isWidgetId(embedId))) {
    notice.textContent = embedId === null
      ? 'This embed address names no widget: use /embed/<widget id>.'
      : `“${embedId}” is not a widget id: ids are letters, digits, - and _, up to 64 characters.`;
    container.replaceChildren(notice);
    conn.dataset.state = 'connecting';
    conn.textContent = 'not connected';
    return;
  }

  keepFocusClearOfHeader(document.querySelector('.sv-header'));
  const state = new DashboardState({ filtered: embed });
  /** @type {Map<string, Card>} */
  const cards = new Map();
  const theme = new ThemeController({
    root: document.documentElement,
    param: themeParam(location.search),
    stored: !embed,
    // Canvas and SVG colours are read when drawn: every widget draws again in the new colours.
    onChange: () => { for (const card of cards.values()) card.body.markDirty(); },
  });
  theme.apply();
  const picker = /** @type {HTMLSelectElement | null} */ (document.getElementById('sv-theme'));
  if (picker) {
    picker.value = theme.override() ?? '';
    picker.addEventListener('change', () => theme.choose(isMode(picker.value) ? picker.value : null));
  }
  /** @type {number | null} */
  let lastUpdate = null;
  // Data as of: when each widget's as-of last moved, and the pipeline's latest time (header).
  const freshness = new Freshness();
  const pipelineEl = document.getElementById('sv-asof');
  /** @type {number | null} */
  let pipelineAsOf = null;

  /**
   * The card's as-of line and stale mark, from the widget's as-of and stale_after.
   * @param {Card} card
   * @param {Widget} w
   * @param {number} now
   */
  function showAsOf(card, w, now) {
    const staleFor = w.asOf === null ? null : freshness.staleFor(w.id, w.config.stale_after, now);
    const text = w.asOf === null ? '' : asOfText(w.asOf, now, staleFor);
    if (card.asof.textContent !== text) card.asof.textContent = text;
    if (card.asof.hidden !== (text === '')) card.asof.hidden = text === '';
    const stale = staleFor !== null ? 'true' : undefined;
    if (card.root.dataset.stale !== stale) {
      if (stale) card.root.dataset.stale = stale;
      else delete card.root.dataset.stale;
    }
  }

  function showPipeline() {
    if (!pipelineEl) return;
    const text = pipelineAsOf === null ? '' : `pipeline at ${clockText(pipelineAsOf, Date.now())}`;
    if (pipelineEl.textContent !== text) pipelineEl.textContent = text;
    if (pipelineEl.hidden !== (text === '')) pipelineEl.hidden = text === '';
  }

  // Staleness comes with time passing, not with events.
  setInterval(() => {
    const now = Date.now();
    for (const [id, card] of cards) {
      const w = state.widgets.get(id);
      if (w && w.asOf !== null) showAsOf(card, w, now);
    }
  }, 250);

  /**
   * @param {Card} card
   * @param {MenuAction} a
   */
  function act(card, a) {
    const id = card.root.dataset.widgetId ?? '';
    const w = state.widgets.get(id);
    if (!w) return;
    if (a === 'full') toggleFull(card.root);
    else if (a === 'json') download(new Blob([JSON.stringify(widgetJSON(w))], { type: 'application/json' }), `${id}.json`);
    else if (a === 'csv') download(new Blob([widgetCSV(widgetJSON(w))], { type: 'text/csv' }), `${id}.csv`);
    else {
      cardPNG(card.root).then((b) => download(b, `${id}.png`))
        .catch((e) => console.error(`streamviz: PNG of ${id} failed`, e));
    }
  }
  // The page-wide pause: every card holds what it shows while updates keep arriving. A chart holds
  // its own view (as when zoomed: "paused, N new points", its own resume), so it keeps taking
  // updates; the other cards are simply not updated until resume.
  let paused = false;
  let heldUpdates = 0;
  /** @type {Set<string>} */
  const held = new Set();
  /** Charts the page's pause put on hold (not ones a reader had zoomed before): resume frees them. */
  /** @type {Set<SvChart>} */
  const heldCharts = new Set();
  const pauseBtn = /** @type {HTMLButtonElement | null} */ (document.getElementById('sv-pause'));
  const pauseNote = document.getElementById('sv-paused');
  function showPause() {
    if (pauseBtn) {
      pauseBtn.textContent = paused ? 'resume' : 'pause';
      pauseBtn.setAttribute('aria-pressed', String(paused));
    }
    if (pauseNote) {
      pauseNote.hidden = !paused;
      const text = `paused, ${heldUpdates.toLocaleString('en-US')} new update${heldUpdates === 1 ? '' : 's'}`;
      if (pauseNote.textContent !== text) pauseNote.textContent = text;
    }
  }
  pauseBtn?.addEventListener('click', () => {
    paused = !paused;
    heldUpdates = 0;
    for (const card of cards.values()) {
      const body = card.body;
      if (!(body instanceof SvChart)) continue;
      if (paused && !body.held) {
        body.hold();
        if (body.held) heldCharts.add(body);
      }
    }
    if (!paused) {
      for (const chart of heldCharts) chart.resume();
      heldCharts.clear();
      for (const id of held) {
        const card = cards.get(id);
        const w = state.widgets.get(id);
        if (card && w) card.body.update(w);
      }
      held.clear();
    }
    showPause();
  });

  const exportAll = document.getElementById('sv-export');
  exportAll?.addEventListener('click', () => {
    const all = displayOrder(state.widgets.values());
    download(new Blob([JSON.stringify(dashboardJSON(state, all))], { type: 'application/json' }), 'dashboard.json');
  });
  document.addEventListener('keydown', (e) => {
    // The browser leaves full screen on Esc itself; this covers browsers (and test drivers)
    // that pass the key to the page.
    if (e.key === 'Escape' && document.fullscreenElement) void document.exitFullscreen();
  });

  // The embedded widget was removed while this page showed it (protocol.md §2.2): the page says
  // so instead of waiting for it as if it had never come.
  let embedRemoved = false;

  /** @param {ApplyResult} res */
  function reconcile(res) {
    const shown = displayOrder(state.widgets.values()).filter((w) => !embed || w.id === embedId);
    const keep = new Set(shown.map((w) => w.id));
    // Where the focus was when its card went: removing the element drops the focus to <body>
    // silently, and a keyboard reader would have to tab from the top of the page again.
    /** @type {number | null} */
    let focusAt = null;
    for (const [id, card] of cards) {
      if (!keep.has(id)) {
        if (card.root.contains(document.activeElement)) focusAt = [...container.children].indexOf(card.root);
        // An open menu listens on the whole document: it goes with its card.
        card.menu.hide();
        card.root.remove();
        cards.delete(id);
        if (embed && id === embedId) embedRemoved = true;
      }
    }
    for (const w of shown) {
      let card = cards.get(w.id);
      if (!card) {
        card = makeCard(w, embed, act);
        cards.set(w.id, card);
      } else if (card.type !== w.type) {
        // A new type is a new element: the old one's chart, observers and timers go with it.
        const body = makeBody(w);
        card.body.replaceWith(body);
        card.body = body;
        card.type = w.type;
        res.changed.add(w.id);
      }
      labelCard(card, w);
    }
    // Move only cards that are out of place: moving a chart's element tears its plot down.
    let at = 0;
    for (const w of shown) {
      const root = /** @type {Card} */ (cards.get(w.id)).root;
      if (container.children[at] !== root) container.insertBefore(root, container.children[at] ?? null);
      at++;
    }
    if (shown.length > 0) embedRemoved = false;
    if (shown.length === 0) {
      notice.textContent = !embed
        ? 'No widgets yet. Publish to sv.<widget>.config or sv.<widget>.data to add one.'
        : embedRemoved
          ? `Widget “${embedId}” was removed. It shows here again if it is declared anew.`
          : `Waiting for widget “${embedId}”: it does not exist yet, or it was removed before this page opened.`;
      container.append(notice);
    } else {
      notice.remove();
    }
    if (focusAt !== null) {
      // The card that took the removed one's place, else the one before it, else the notice.
      const next = container.children[Math.min(focusAt, container.children.length - 1)];
      const target = next === notice ? notice : next?.querySelector('.sv-menu-btn');
      if (target instanceof HTMLElement) {
        if (target === notice) notice.tabIndex = -1;
        target.focus();
      }
    }
    if (embed && shown[0]) document.title = shown[0].config.title;
  }

  /**
   * @param {unknown} events
   * @returns {{gap: boolean}}
   */
  function onEvents(events) {
    const res = state.apply(events);
    // A snapshot after a reconnect brings nothing new by itself; only the first one starts the clock.
    const fresh = res.applied - (res.snapshot ? 1 : 0);
    if (fresh > 0 || (res.snapshot && lastUpdate === null)) lastUpdate = performance.now();
    if (res.layout || res.snapshot) reconcile(res);
    const now = Date.now();
    if (res.snapshot) pipelineAsOf = latestAsOf(state.widgets.values());
    for (const id of res.changed) {
      const card = cards.get(id);
      const w = state.widgets.get(id);
      if (!w) freshness.forget(id);
      else {
        freshness.note(id, w.asOf, now, res.snapshot);
        if (w.asOf !== null && (pipelineAsOf === null || w.asOf > pipelineAsOf)) pipelineAsOf = w.asOf;
      }
      if (card && w) {
        labelCard(card, w);
        showAsOf(card, w, now);
        // Paused: the state keeps up, the cards keep what they show (a new card still draws; a
        // chart holds its view itself and counts what arrives).
        if (paused && card.body.drawn && !(card.body instanceof SvChart)) {
          held.add(id);
        } else {
          card.body.update(w);
        }
      }
    }
    if (paused && res.applied > 0) {
      heldUpdates += res.applied - (res.snapshot ? 1 : 0);
      showPause();
    }
    if (res.theme) theme.setServer(state.theme);
    if (res.title && titleEl) {
      titleEl.textContent = state.title || 'StreamViz';
      document.title = state.title || 'StreamViz';
    }
    if (res.snapshot && document.body.dataset.ready !== '1') document.body.dataset.ready = '1';
    if (res.applied > 0) {
      tick();
      showPipeline();
    }
    return { gap: res.gap };
  }

  /** What #sv-updated shows, kept here so a tick per socket message reads no DOM. */
  let updatedText = updatedEl?.textContent ?? '';
  function tick() {
    if (updatedEl) {
      const text = ageText(lastUpdate === null ? null : performance.now() - lastUpdate);
      if (text !== updatedText) updatedEl.textContent = updatedText = text;
    }
  }
  setInterval(tick, 1000);

  const connection = new Connection({
    // This module is served from <root>/static/: the root is one level up, wherever the dashboard
    // is mounted, on the dashboard and on /embed/ pages alike.
    base: new URL('../', import.meta.url),
    position: () => state.position(),
    onEvents,
    widget: embedId,
    grant: embed ? embedGrant(location.search) : null,
    onExpired: () => {
      // What the link showed goes with it: the page keeps no data past the link's life.
      cards.clear();
      notice.textContent = 'This embed link has expired.';
      container.replaceChildren(notice);
      conn.dataset.state = 'expired';
      conn.textContent = 'expired';
      conn.title = '';
    },
    onState: (s, retryIn) => {
      conn.dataset.state = s;
      conn.textContent = connectionLabel(s);
      conn.title = retryIn !== null && retryIn >= 1000
        ? `next attempt in ${Math.round(retryIn / 1000)}s`
        : s === 'live' ? 'receiving live updates' : '';
    },
  });
  if (!embed) watchIngest(new URL('../healthz', import.meta.url));
  // The browser knows sooner than our backoff when the network or the tab comes back.
  window.addEventListener('online', () => connection.nudge());
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') connection.nudge();
  });
  connection.start();
}

/**
 * Polls the server's health and shows a banner while updates from publishers were dropped or
 * cannot be stored (protocol.md §4): a picture with holes must not look whole.
 * @param {URL} url
 */
function watchIngest(url) {
  const banner = document.createElement('p');
  banner.id = 'sv-ingest';
  banner.className = 'sv-banner';
  banner.setAttribute('role', 'alert');
  let shown = '';
  async function poll() {
    try {
      const res = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
      const text = ingestBanner(await res.json()) ?? '';
      if (text !== shown) {
        shown = text;
        banner.textContent = text;
        if (text === '') banner.remove();
        else if (!banner.isConnected) document.querySelector('.sv-header')?.after(banner);
      }
    } catch {
      // The socket's state already says when the server is away.
    }
  }
  poll();
  setInterval(poll, 5000);
}

main();

// The logs view: backlog over HTTP (paged), then live events over the WebSocket, resuming
// from the last event held after a dropped connection (no gap, no duplicate).

import {h, clear, formatTime, statusBadge, TERMINAL_STATUSES} from './dom.js';
import {api, settings, ApiError, websocketUrl, compareEventIds} from './api.js';
import {LogView} from './logview.js';

const PAGE_LIMIT = 10000;
const STATUS_POLL_MS = 5000;
const knownWebsocketUrls = new Map();

// Keeps the websocket_url a POST /run returned, for the logs view that follows.
export function rememberWebsocketUrl(executionId, url) {
  knownWebsocketUrls.set(executionId, url);
}

export class LogsPage {
  constructor(ctx, executionId) {
    this.ctx = ctx;
    this.id = executionId;
    this.view = new LogView();
    this.lastEventId = null;
    this.wsBase = knownWebsocketUrls.get(executionId) || null;
    this.ws = null;
    this.finished = false;
    this.disposed = false;
    this.retry = 0;
    this.timers = new Set();
    this.pending = [];
    this.flushQueued = false;
    this.abort = new AbortController();
    this.element = this.build();
    if (!executionId) {
      this.setNotice('No execution ID in the address (expected /logs?execution_id=<id>).', true);
      return;
    }
    if (!settings.apiKey) {
      this.setNotice('No API key is set. Enter one in Settings to see these logs.', true);
      ctx.showBanner('No API key is set. Enter one in Settings, or claim an invitation link.',
                     'info', true);
      return;
    }
    this.start();
  }

  build() {
    this.statusEl = h('span', {id: 'log-status', class: 'log-status'});
    this.exitEl = h('span', {id: 'log-exit', class: 'log-exit'});
    this.countEl = h('span', {id: 'log-count', class: 'muted'});
    this.connEl = h('span', {id: 'log-connection', class: 'muted', role: 'status',
                             'aria-live': 'polite'});
    this.commandEl = h('code', {id: 'log-command', class: 'log-command'});
    this.metaEl = h('span', {class: 'muted small', id: 'log-meta'});
    this.noticeEl = h('p', {id: 'log-notice', class: 'log-notice', role: 'status', hidden: true});
    this.killButton = h('button', {type: 'button', id: 'log-kill', class: 'danger', hidden: true,
                                   onclick: () => this.kill()}, 'Kill');
    const toggle = (id, label, checked, onchange) => h('label', {class: 'check', for: id},
        h('input', {type: 'checkbox', id, checked, onchange: (e) => onchange(e.target.checked)}),
        ` ${label}`);
    this.followBox = h('input', {type: 'checkbox', id: 'log-follow', checked: true,
                                 onchange: (e) => this.view.setFollow(e.target.checked)});
    this.view.onFollowChange = (follow) => { this.followBox.checked = follow; };
    this.view.setOptions({numbers: true, times: false});
    this.searchInput = h('input', {type: 'search', id: 'log-search', placeholder: 'Search the log',
                                   'aria-label': 'Search the log', autocomplete: 'off',
                                   oninput: () => this.searchSoon(),
                                   onkeydown: (e) => this.onSearchKey(e)});
    this.searchCount = h('span', {id: 'log-search-count', class: 'muted small', 'aria-live': 'polite'});
    const link = `/logs?execution_id=${encodeURIComponent(this.id)}`;
    const page = h('div', {class: 'page page-logs'},
      h('div', {class: 'log-head'},
        h('div', {class: 'log-title'},
          h('h2', null, 'Execution ', h('a', {href: link, 'data-link': true, id: 'log-link',
                                               class: 'mono'}, this.id || '?')),
          this.statusEl, this.exitEl, this.killButton),
        h('div', {class: 'log-sub'}, this.commandEl, ' ', this.metaEl)),
      this.noticeEl,
      h('div', {class: 'log-toolbar', role: 'toolbar', 'aria-label': 'Log options'},
        toggle('log-numbers', 'Line numbers', true, (v) => this.view.setOptions({numbers: v})),
        toggle('log-times', 'Timestamps', false, (v) => this.view.setOptions({times: v})),
        h('label', {class: 'check', for: 'log-follow'}, this.followBox, ' Follow'),
        h('span', {class: 'search'}, this.searchInput,
          h('button', {type: 'button', id: 'log-search-prev', 'aria-label': 'Previous match',
                       onclick: () => this.showSearch(this.view.prevMatch())}, '↑'),
          h('button', {type: 'button', id: 'log-search-next', 'aria-label': 'Next match',
                       onclick: () => this.showSearch(this.view.nextMatch())}, '↓'),
          this.searchCount),
        h('button', {type: 'button', id: 'log-download', onclick: () => this.download()},
          'Download'),
        this.countEl, this.connEl),
      this.view.element);
    this.keyHandler = (e) => {
      if (e.key === '/' && document.activeElement !== this.searchInput &&
          !['INPUT', 'TEXTAREA', 'SELECT'].includes(document.activeElement?.tagName)) {
        e.preventDefault();
        this.searchInput.focus();
      }
    };
    document.addEventListener('keydown', this.keyHandler);
    return page;
  }

  dispose() {
    this.disposed = true;
    this.abort.abort();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close(1000);
      this.ws = null;
    }
    document.removeEventListener('keydown', this.keyHandler);
    this.view.dispose();
  }

  later(fn, ms) {
    const t = setTimeout(() => { this.timers.delete(t); if (!this.disposed) fn(); }, ms);
    this.timers.add(t);
  }

  setNotice(text, isError = false) {
    this.noticeEl.textContent = text || '';
    this.noticeEl.hidden = !text;
    this.noticeEl.classList.toggle('error', isError);
  }

  async start() {
    this.setConnection('Loading…');
    api.status(this.id).then((st) => this.showStatus(st)).catch((err) => this.fail(err));
    try {
      await this.loadBacklog();
    } catch (err) {
      this.fail(err);
      return;
    }
    if (!this.finished) this.connect();
    else this.setConnection('');
    this.pollStatus();
  }

  fail(err) {
    if (this.disposed || (err && err.name === 'AbortError')) return;
    if (err instanceof ApiError && err.status === 404) {
      this.setNotice(`Execution ${this.id} was not found.`, true);
    } else {
      this.setNotice(err instanceof ApiError ? err.describe() : String(err), true);
      this.ctx.showError(err);
    }
    this.setConnection('');
  }

  showStatus(st) {
    if (this.disposed || !st) return;
    if (st.command !== undefined) this.commandEl.textContent = st.command;
    const meta = [];
    if (st.image_id) meta.push(`image ${st.image_id}`);
    if (st.started_at) meta.push(`started ${formatTime(st.started_at)}`);
    if (st.completed_at) meta.push(`finished ${formatTime(st.completed_at)}`);
    this.metaEl.textContent = meta.join(' · ');
    this.setStatus(st.status, st.exit_code);
  }

  setStatus(status, exitCode) {
    if (!status) return;
    // A terminal status never changes back (late answers of a status poll are ignored).
    if (this.status && TERMINAL_STATUSES.has(this.status) && !TERMINAL_STATUSES.has(status)) return;
    this.status = status;
    if (exitCode !== null && exitCode !== undefined) this.exitCode = exitCode;
    clear(this.statusEl).append(statusBadge(status));
    const done = TERMINAL_STATUSES.has(status);
    this.exitEl.textContent = done && this.exitCode !== null && this.exitCode !== undefined
      ? `exit code ${this.exitCode}` : '';
    this.killButton.hidden = !(status === 'STARTING' || status === 'RUNNING');
    if (done) this.finished = true;
  }

  // Fetches every event after the last one held (paged), and the current websocket_url.
  async loadBacklog() {
    for (;;) {
      const query = {limit: PAGE_LIMIT};
      if (this.lastEventId) query.after = this.lastEventId;
      const res = await api.logs(this.id, query, this.abort.signal);
      if (this.disposed) return;
      this.ingest(res.events || [], true);
      if (res.websocket_url) this.wsBase = res.websocket_url;
      if (res.status) this.setStatus(res.status, res.exit_code);
      if (!res.next_after || !(res.events || []).length) break;
      if (!this.lastEventId || compareEventIds(res.next_after, this.lastEventId) > 0) {
        // Continue from next_after when it is ahead of what we hold.
        this.lastEventId = res.next_after;
      }
      this.setConnection(`Loading… ${this.view.lineCount.toLocaleString()} lines`);
    }
    if (!this.wsBase && !TERMINAL_STATUSES.has(this.status || '')) {
      // Finished between our calls, or a server without WebSocket: nothing live to follow.
      if (this.status) this.finished = TERMINAL_STATUSES.has(this.status);
    }
  }

  // Adds events in order, skipping any we already hold.
  ingest(events, immediate = false) {
    const fresh = [];
    for (const ev of events) {
      if (!ev || ev.event_id === undefined) continue;
      if (this.lastEventId && compareEventIds(ev.event_id, this.lastEventId) <= 0) continue;
      this.lastEventId = String(ev.event_id);
      fresh.push(ev);
    }
    if (!fresh.length) return;
    if (immediate) {
      this.view.appendEvents(fresh);
      this.view.render();
      this.updateCount();
      return;
    }
    // Output while we still show STARTING: the status has moved on, ask for it now.
    // (At most once a second.)
    if (this.status === 'STARTING' && Date.now() - (this.statusAskedAt || 0) > 1000) {
      this.statusAskedAt = Date.now();
      api.status(this.id).then((st) => this.showStatus(st)).catch(() => {});
    }
    // Live events: batch them per animation frame.
    for (const ev of fresh) this.pending.push(ev);
    if (!this.flushQueued) {
      this.flushQueued = true;
      requestAnimationFrame(() => {
        this.flushQueued = false;
        const batch = this.pending;
        this.pending = [];
        this.view.appendEvents(batch);
        this.view.render();  // rows and the line count change in the same frame
        this.updateCount();
      });
    }
  }

  updateCount() {
    const n = this.view.lineCount;
    this.countEl.textContent = `${n.toLocaleString()} line${n === 1 ? '' : 's'}`;
    this.countEl.dataset.lines = String(n);
    if (this.view.query) this.showSearch(this.view.searchState());
  }

  setConnection(text) {
    this.connEl.textContent = text;
  }

  connect() {
    if (this.disposed || this.finished) return;
    if (!this.wsBase) {
      this.setConnection('Live updates unavailable (no websocket_url); refreshing…');
      this.later(() => this.resume(), 2000);
      return;
    }
    let ws;
    try {
      ws = new WebSocket(websocketUrl(this.wsBase, this.lastEventId));
    } catch (err) {
      this.setConnection(`Cannot open the live connection: ${err.message}`);
      this.later(() => this.resume(), this.backoff());
      return;
    }
    this.ws = ws;
    this.setConnection('Connecting…');
    ws.onopen = () => {
      this.retry = 0;
      this.setConnection('Live');
      this.connEl.dataset.state = 'live';
    };
    ws.onmessage = (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch { return; }
      const items = Array.isArray(data) ? data : [data];
      const events = [];
      for (const item of items) {
        if (item && item.type === 'disconnect') {
          this.ingest(events);
          events.length = 0;
          this.onCompleted(item);
        } else if (item && item.event_id !== undefined) {
          events.push(item);
        }
      }
      this.ingest(events);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.connEl.dataset.state = 'closed';
      if (this.disposed || this.finished) return;
      this.setConnection('Connection lost; resuming…');
      this.later(() => this.resume(), this.backoff());
    };
  }

  backoff() {
    const ms = Math.min(10000, 250 * 2 ** this.retry);
    this.retry++;
    return ms;
  }

  // After a dropped connection: fetch what we missed over HTTP (also refreshes the token and
  // the status), then reconnect from the last event held.
  async resume() {
    try {
      await this.loadBacklog();
    } catch (err) {
      if (this.disposed) return;
      if (err instanceof ApiError && (err.isAuth || err.status === 404 || err.status === 403)) {
        this.fail(err);
        return;
      }
      this.setConnection(`Server unreachable; retrying… (${err.describe ? err.describe() : err})`);
      this.later(() => this.resume(), this.backoff());
      return;
    }
    if (this.finished) {
      this.setConnection('');
      return;
    }
    this.connect();
  }

  onCompleted(frame) {
    this.finished = true;
    this.setStatus(frame.status || 'SUCCEEDED', frame.exit_code);
    this.setConnection('');
    this.connEl.dataset.state = 'completed';
    api.status(this.id).then((st) => this.showStatus(st)).catch(() => {});
  }

  pollStatus() {
    if (this.disposed || this.finished) return;
    this.later(async () => {
      try {
        this.showStatus(await api.status(this.id));
      } catch { /* the connection line tells about outages */ }
      this.pollStatus();
    }, STATUS_POLL_MS);
  }

  async kill() {
    this.killButton.disabled = true;
    try {
      const res = await api.kill(this.id);
      this.setNotice(res && res.message ? res.message : 'The execution is already stopping or finished.');
      if (res) this.setStatus('TERMINATING');
    } catch (err) {
      this.setNotice(err instanceof ApiError ? err.describe() : String(err), true);
    } finally {
      this.killButton.disabled = false;
    }
  }

  searchSoon() {
    clearTimeout(this.searchTimer);
    this.searchTimer = setTimeout(() => this.showSearch(this.view.search(this.searchInput.value)),
                                  150);
  }

  onSearchKey(e) {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(this.searchTimer);
      if (this.view.query !== this.searchInput.value) {
        this.showSearch(this.view.search(this.searchInput.value));
      } else {
        this.showSearch(e.shiftKey ? this.view.prevMatch() : this.view.nextMatch());
      }
    } else if (e.key === 'Escape') {
      this.searchInput.value = '';
      this.showSearch(this.view.search(''));
    }
  }

  showSearch({count, current}) {
    if (!this.view.query) this.searchCount.textContent = '';
    else if (!count) this.searchCount.textContent = 'no matches';
    else this.searchCount.textContent = `${current + 1} of ${count}`;
  }

  download() {
    const blob = new Blob([this.view.toText()], {type: 'text/plain;charset=utf-8'});
    const url = URL.createObjectURL(blob);
    const a = h('a', {href: url, download: `runvoy-${this.id}.log`, class: 'sr-only'});
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
}

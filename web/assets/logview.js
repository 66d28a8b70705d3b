// A virtual-scrolling log view: holds any number of lines but only puts the visible rows
// (plus a margin) in the DOM. Lines are stored raw with the ANSI style in effect at their
// start, and parsed into spans only when shown.

import {h, clear} from './dom.js';
import {PLAIN, parseLine, endStyle, stripAnsi, styleSpan} from './ansi.js';

const LINE_HEIGHT = 18;  // px; must match .log-row in app.css
const OVERSCAN = 30;     // rows rendered above and below the visible ones
const STREAM_CODES = {stdout: 0, stderr: 1, runvoy: 2};
const STREAM_NAMES = ['stdout', 'stderr', 'runvoy'];

export class LogView {
  constructor() {
    this.texts = [];       // raw text per line
    this.starts = [];      // ANSI style at the start of each line
    this.streams = [];     // stream code per line
    this.times = [];       // Unix ms of the line's first piece
    this.endState = PLAIN; // style after the last line
    this.openPartial = false;  // the last line continues (previous event had partial:true)
    this.showNumbers = true;
    this.showTimes = false;
    this.follow = true;
    this.onFollowChange = null;
    this.query = '';
    this.matches = [];     // line indexes matching the query
    this.current = -1;     // index into matches
    this.plainCache = null;
    this.renderQueued = false;
    this.lastRange = null;
    this.maxWidth = 0;

    this.viewport = h('div', {
      class: 'log-viewport', tabindex: '0', role: 'region',
      'aria-label': 'Log output (use arrow keys and Page Up/Down to scroll)',
    });
    this.sizer = h('div', {class: 'log-sizer'});
    this.rows = h('div', {class: 'log-rows'});
    this.empty = h('div', {class: 'log-empty muted'}, 'No output yet.');
    this.sizer.appendChild(this.rows);
    this.viewport.append(this.sizer, this.empty);
    this.viewport.addEventListener('scroll', () => this.onScroll(), {passive: true});
    this.resizeObserver = new ResizeObserver(() => this.scheduleRender());
    this.resizeObserver.observe(this.viewport);
    this.lastScrollTop = 0;
  }

  get element() { return this.viewport; }
  get lineCount() { return this.texts.length; }

  // Adds log events ({message, stream, timestamp, partial}) in order.
  appendEvents(events) {
    for (const ev of events) this.appendEvent(ev);
    this.afterAppend();
  }

  appendEvent(ev) {
    let message = typeof ev.message === 'string' ? ev.message : String(ev.message ?? '');
    if (message.endsWith('\n')) message = message.slice(0, -1);
    const stream = STREAM_CODES[ev.stream] ?? 0;
    const last = this.texts.length - 1;
    if (this.openPartial && last >= 0 && this.streams[last] === stream) {
      this.texts[last] += message;
      this.endState = endStyle(this.texts[last], this.starts[last]);
      if (this.plainCache) this.plainCache[last] = undefined;
    } else {
      // A line may hold several lines if the producer did not split them.
      const parts = message.indexOf('\n') === -1 ? [message] : message.split('\n');
      for (const part of parts) {
        this.texts.push(part);
        this.starts.push(this.endState);
        this.streams.push(stream);
        this.times.push(Number(ev.timestamp) || 0);
        this.endState = endStyle(part, this.endState);
      }
    }
    this.openPartial = ev.partial === true;
  }

  afterAppend() {
    if (this.query) this.recomputeMatches(false);
    this.sizer.style.height = `${this.texts.length * LINE_HEIGHT}px`;
    this.empty.hidden = this.texts.length > 0;
    if (this.follow) this.scrollToBottom();
    this.scheduleRender();
  }

  setOptions({numbers, times}) {
    if (numbers !== undefined) this.showNumbers = numbers;
    if (times !== undefined) this.showTimes = times;
    this.viewport.classList.toggle('show-numbers', this.showNumbers);
    this.viewport.classList.toggle('show-times', this.showTimes);
    this.lastRange = null;
    this.scheduleRender();
  }

  setFollow(follow) {
    if (this.follow === follow) return;
    this.follow = follow;
    if (follow) this.scrollToBottom();
    if (this.onFollowChange) this.onFollowChange(follow);
  }

  scrollToBottom() {
    this.viewport.scrollTop = this.viewport.scrollHeight;
    this.lastScrollTop = this.viewport.scrollTop;
  }

  onScroll() {
    const vp = this.viewport;
    const atBottom = vp.scrollTop + vp.clientHeight >= vp.scrollHeight - LINE_HEIGHT;
    // Scrolling up by the user stops following; reaching the bottom again resumes it.
    if (vp.scrollTop < this.lastScrollTop && !atBottom) this.setFollow(false);
    else if (atBottom && !this.follow) this.setFollow(true);
    this.lastScrollTop = vp.scrollTop;
    this.scheduleRender();
  }

  scheduleRender() {
    if (this.renderQueued) return;
    this.renderQueued = true;
    requestAnimationFrame(() => {
      this.renderQueued = false;
      this.render();
    });
  }

  // Renders the rows visible in the viewport.
  render() {
    const vp = this.viewport;
    const total = this.texts.length;
    const first = Math.max(0, Math.floor(vp.scrollTop / LINE_HEIGHT) - OVERSCAN);
    const visible = Math.ceil((vp.clientHeight || 600) / LINE_HEIGHT);
    const last = Math.min(total, first + visible + 2 * OVERSCAN);
    const key = `${first}:${last}:${total}:${this.current}:${this.query}`;
    if (this.lastRange === key) return;
    this.lastRange = key;
    const fragment = document.createDocumentFragment();
    const digits = String(Math.max(total, 1)).length;
    vp.style.setProperty('--ln-digits', `${digits + 1}ch`);
    const currentLine = this.current >= 0 ? this.matches[this.current] : -1;
    for (let i = first; i < last; i++) fragment.appendChild(this.renderRow(i, i === currentLine));
    clear(this.rows);
    this.rows.style.transform = `translateY(${first * LINE_HEIGHT}px)`;
    this.rows.appendChild(fragment);
    // Keep the scroll width stable as wider rows come and go.
    const width = this.rows.scrollWidth;
    if (width > this.maxWidth) {
      this.maxWidth = width;
      this.sizer.style.minWidth = `${width}px`;
    }
  }

  renderRow(i, isCurrent) {
    const stream = STREAM_NAMES[this.streams[i]];
    const row = h('div', {class: `log-row log-${stream}${isCurrent ? ' log-current' : ''}`,
                          dataset: {line: String(i + 1)}});
    row.appendChild(h('span', {class: 'log-ln', 'aria-hidden': 'true'}, String(i + 1)));
    const t = this.times[i];
    row.appendChild(h('span', {class: 'log-ts', title: t ? new Date(t).toISOString() : ''},
                      t ? formatClock(t) : ''));
    const msg = h('span', {class: 'log-msg'});
    const {segments} = parseLine(this.texts[i], this.starts[i]);
    const ranges = this.query ? this.matchRanges(i) : null;
    let offset = 0;
    for (const seg of segments) {
      appendSegment(msg, seg, offset, ranges);
      offset += seg.text.length;
    }
    row.appendChild(msg);
    return row;
  }

  plain(i) {
    if (!this.plainCache) this.plainCache = new Array(this.texts.length);
    let p = this.plainCache[i];
    if (p === undefined) {
      p = stripAnsi(this.texts[i]);
      this.plainCache[i] = p;
    }
    return p;
  }

  matchRanges(i) {
    const text = this.plain(i).toLowerCase();
    const q = this.query.toLowerCase();
    const ranges = [];
    let from = text.indexOf(q);
    while (from !== -1 && q) {
      ranges.push([from, from + q.length]);
      from = text.indexOf(q, from + q.length);
    }
    return ranges;
  }

  // Sets the search text; returns {count, current}.
  search(query) {
    this.query = query || '';
    this.current = -1;
    this.recomputeMatches(true);
    this.lastRange = null;
    if (this.matches.length) this.goToMatch(0);
    else this.render();
    return this.searchState();
  }

  recomputeMatches(reset) {
    const q = this.query.toLowerCase();
    if (reset || !q) {
      this.matches = [];
      this.matchedUpTo = 0;
    }
    if (!q) return;
    // The last line seen before may have grown (partial pieces): check it again.
    const from = Math.max(0, (this.matchedUpTo || 0) - 1);
    if (this.matches.length && this.matches[this.matches.length - 1] >= from) this.matches.pop();
    const n = this.texts.length;
    for (let i = from; i < n; i++) {
      if (this.plain(i).toLowerCase().includes(q)) this.matches.push(i);
    }
    this.matchedUpTo = n;
  }

  searchState() {
    return {count: this.matches.length, current: this.current};
  }

  goToMatch(index) {
    if (!this.matches.length) return this.searchState();
    const n = this.matches.length;
    this.current = ((index % n) + n) % n;
    this.setFollow(false);
    this.scrollToLine(this.matches[this.current]);
    this.lastRange = null;
    this.render();  // the highlighted row and the "n of m" count change together
    return this.searchState();
  }

  nextMatch() { return this.goToMatch(this.current + 1); }
  prevMatch() { return this.goToMatch(this.current < 0 ? -1 : this.current - 1); }

  scrollToLine(i) {
    const vp = this.viewport;
    const top = i * LINE_HEIGHT;
    if (top < vp.scrollTop || top + LINE_HEIGHT > vp.scrollTop + vp.clientHeight) {
      vp.scrollTop = Math.max(0, top - Math.floor(vp.clientHeight / 2));
    }
    this.lastScrollTop = vp.scrollTop;
  }

  // The whole log as plain text (escape sequences removed), one line per line.
  toText() {
    const out = new Array(this.texts.length);
    for (let i = 0; i < this.texts.length; i++) out[i] = stripAnsi(this.texts[i]);
    return out.join('\n') + (out.length ? '\n' : '');
  }

  dispose() {
    this.resizeObserver.disconnect();
  }
}

function appendSegment(parent, seg, offset, ranges) {
  const make = (text, marked) => {
    const span = document.createElement('span');
    styleSpan(span, seg.style);
    if (marked) {
      const mark = document.createElement('mark');
      mark.textContent = text;
      span.appendChild(mark);
    } else {
      span.textContent = text;
    }
    parent.appendChild(span);
  };
  if (!ranges || !ranges.length) { make(seg.text, false); return; }
  const end = offset + seg.text.length;
  let pos = offset;
  for (const [a, b] of ranges) {
    if (b <= pos || a >= end) continue;
    if (a > pos) make(seg.text.slice(pos - offset, a - offset), false);
    const stop = Math.min(b, end);
    make(seg.text.slice(Math.max(a, pos) - offset, stop - offset), true);
    pos = stop;
  }
  if (pos < end) make(seg.text.slice(pos - offset), false);
}

function formatClock(ms) {
  return new Date(ms).toISOString().slice(11, 23);
}

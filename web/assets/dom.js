// Small DOM helpers. Every string child becomes a text node: nothing is ever parsed as HTML.

// h('div', {class: 'x', onclick: fn, dataset: {id: '1'}}, 'text', child, [more])
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2), value);
      } else if (key === 'class') {
        el.className = value;
      } else if (key === 'dataset') {
        Object.assign(el.dataset, value);
      } else if (key === 'value' || key === 'checked' || key === 'selected' ||
                 key === 'disabled' || key === 'hidden') {
        el[key] = value;
      } else if (key === 'style') {
        throw new Error('use CSS classes or el.style properties, never style attributes');
      } else {
        el.setAttribute(key, value === true ? '' : String(value));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function formatDuration(seconds) {
  if (seconds === undefined || seconds === null || Number.isNaN(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  return `${Math.floor(m / 60)}h ${m % 60}m`;
}

export const TERMINAL_STATUSES = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);
export const ALL_STATUSES = ['STARTING', 'RUNNING', 'TERMINATING', 'SUCCEEDED', 'FAILED',
                             'STOPPED'];

export function statusBadge(status) {
  const s = String(status || 'UNKNOWN');
  return h('span', {class: `status status-${s.toLowerCase()}`}, s);
}

// Client for the runvoy HTTP API (SPEC.md §1–§2). Uses only the public API, so the viewer
// works the same when hosted on another origin (with CORS configured on the server).

const ENDPOINT_KEY = 'runvoy.endpoint';
const API_KEY_KEY = 'runvoy.apiKey';

function storageGet(key) {
  try { return window.localStorage.getItem(key); } catch { return null; }
}
function storageSet(key, value) {
  try {
    if (value) window.localStorage.setItem(key, value);
    else window.localStorage.removeItem(key);
  } catch { /* storage disabled: settings last for this page only */ }
}

let memoryEndpoint = null;
let memoryKey = null;

export const settings = {
  // The server's base URL, without /api/v1. Defaults to the origin serving the viewer.
  get endpoint() {
    return memoryEndpoint || storageGet(ENDPOINT_KEY) || window.location.origin;
  },
  set endpoint(value) {
    const v = normaliseEndpoint(value);
    memoryEndpoint = v;
    storageSet(ENDPOINT_KEY, v && v !== window.location.origin ? v : '');
  },
  get apiKey() { return memoryKey || storageGet(API_KEY_KEY) || ''; },
  set apiKey(value) {
    const v = (value || '').trim();
    memoryKey = v;
    storageSet(API_KEY_KEY, v);
  },
};

export function normaliseEndpoint(value) {
  let v = String(value || '').trim();
  if (!v) return '';
  if (!/^https?:\/\//i.test(v)) v = `http://${v}`;
  v = v.replace(/\/+$/, '');
  v = v.replace(/\/api\/v1$/, '');  // tolerated, as the CLI does
  return v;
}

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || '';
  }

  // A sentence for the user, saying what to do when that is clear.
  describe() {
    switch (this.code) {
      case 'NETWORK':
        return `Cannot reach the server at ${this.details}. Check the API endpoint in Settings.`;
      case 'NO_KEY':
        return 'No API key is set. Enter one in Settings, or claim an invitation link.';
      case 'INVALID_API_KEY':
        return 'Invalid API key: the server does not know this key. Check it in Settings.';
      case 'API_KEY_REVOKED':
        return 'This API key has been revoked. Ask an admin for a new invitation.';
      case 'UNAUTHORIZED':
        return 'The server asked for an API key. Enter one in Settings.';
      case 'RATE_LIMITED':
        return 'Too many failed attempts from this address; wait a minute and try again.';
      default: {
        const tail = this.details ? `: ${this.details}` : '';
        return `${this.message} (${this.code || this.status})${tail}`;
      }
    }
  }

  get isAuth() {
    return ['NO_KEY', 'INVALID_API_KEY', 'API_KEY_REVOKED', 'UNAUTHORIZED'].includes(this.code);
  }
}

export function apiBase() { return `${settings.endpoint}/api/v1`; }

// request('GET', '/executions', {query, body, auth}) → parsed JSON (null for 204).
export async function request(method, path, options = {}) {
  const {query, body, auth = true, signal} = options;
  const url = new URL(apiBase() + path);
  if (query) {
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
    }
  }
  const headers = {};
  if (auth) {
    const key = settings.apiKey;
    if (!key) throw new ApiError(0, 'NO_KEY', 'No API key');
    headers['X-API-Key'] = key;
  }
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  try {
    response = await fetch(url, {
      method, headers, signal, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store', credentials: 'omit',
    });
  } catch (err) {
    if (err && err.name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK', 'Cannot reach the server', settings.endpoint);
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    if (data && typeof data === 'object' && data.error) {
      throw new ApiError(response.status, data.code || '', data.error, data.details);
    }
    throw new ApiError(response.status, `HTTP_${response.status}`,
                       `Unexpected answer from the server (HTTP ${response.status})`);
  }
  if (data === null && text) {
    throw new ApiError(response.status, 'BAD_RESPONSE', 'The server did not answer with JSON');
  }
  return data;
}

export const api = {
  health: () => request('GET', '/health', {auth: false}),
  claim: (token) => request('GET', `/claim/${encodeURIComponent(token)}`, {auth: false}),
  images: () => request('GET', '/images'),
  secrets: () => request('GET', '/secrets'),
  run: (body) => request('POST', '/run', {body}),
  executions: (query) => request('GET', '/executions', {query}),
  status: (id) => request('GET', `/executions/${encodeURIComponent(id)}/status`),
  logs: (id, query, signal) =>
    request('GET', `/executions/${encodeURIComponent(id)}/logs`, {query, signal}),
  kill: (id) => request('DELETE', `/executions/${encodeURIComponent(id)}`),
};

// The WebSocket URL to (re)connect with: the server's websocket_url, with last_event_id set
// to the last event we hold (so the server sends only what follows) and batch=1.
export function websocketUrl(base, lastEventId) {
  const url = new URL(base, apiBase());
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  if (lastEventId) url.searchParams.set('last_event_id', lastEventId);
  else url.searchParams.delete('last_event_id');
  url.searchParams.set('batch', '1');
  return url.toString();
}

// Event IDs are strings that sort in output order (e.g. zero-padded sequences). Compare
// numerically when both are plain integers, else by length then lexically.
export function compareEventIds(a, b) {
  const sa = String(a);
  const sb = String(b);
  if (/^\d+$/.test(sa) && /^\d+$/.test(sb)) {
    const ta = sa.replace(/^0+(?=\d)/, '');
    const tb = sb.replace(/^0+(?=\d)/, '');
    if (ta.length !== tb.length) return ta.length < tb.length ? -1 : 1;
    return ta < tb ? -1 : ta > tb ? 1 : 0;
  }
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

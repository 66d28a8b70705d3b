// runvoy web viewer: entry point and router (History API paths; the server answers
// index.html for /, /logs, /settings and /claim).

import {h, clear} from './dom.js';
import {api, settings, ApiError} from './api.js';
import {ExecutionsPage} from './executions.js';
import {LogsPage} from './logs.js';
import {SettingsPage, ClaimPage} from './settings.js';

const main = document.getElementById('main');
const banner = document.getElementById('banner');
const serverInfo = document.getElementById('server-info');
let currentPage = null;

// Shows a message above the page; kind: 'error' | 'info'. Empty text hides it.
export function showBanner(text, kind = 'error', withSettingsLink = false) {
  clear(banner);
  if (!text) { banner.hidden = true; return; }
  banner.className = `banner banner-${kind}`;
  banner.append(h('span', null, text));
  if (withSettingsLink && window.location.pathname !== '/settings') {
    banner.append(' ', h('a', {href: '/settings', 'data-link': true}, 'Open Settings'));
  }
  banner.append(h('button', {type: 'button', class: 'banner-close', 'aria-label': 'Dismiss',
                             onclick: () => showBanner('')}, '×'));
  banner.hidden = false;
}

// Shows an API error in the banner, with a Settings link for key and connection problems.
export function showError(err) {
  if (err instanceof ApiError) {
    showBanner(err.describe(), 'error', err.isAuth || err.code === 'NETWORK');
  } else if (err && err.name !== 'AbortError') {
    showBanner(String(err.message || err), 'error');
  }
}

export function navigate(url, replace = false) {
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  route();
}

export async function refreshServerInfo() {
  clear(serverInfo);
  try {
    const health = await api.health();
    const parts = [`runvoy ${health.version || '?'}`, health.provider || ''];
    if (health.region) parts.push(health.region);
    serverInfo.append(h('span', {class: 'dot dot-ok', 'aria-hidden': 'true'}),
                      parts.filter(Boolean).join(' · '));
    serverInfo.title = `API endpoint: ${settings.endpoint}`;
    return health;
  } catch (err) {
    serverInfo.append(h('span', {class: 'dot dot-bad', 'aria-hidden': 'true'}), 'server unreachable');
    serverInfo.title = `API endpoint: ${settings.endpoint}`;
    throw err;
  }
}

function route() {
  if (currentPage && currentPage.dispose) currentPage.dispose();
  currentPage = null;
  showBanner('');
  clear(main);
  const params = new URLSearchParams(window.location.search);
  const path = window.location.pathname.replace(/\/+$/, '') || '/';
  const ctx = {navigate, showBanner, showError, refreshServerInfo};
  let page;
  if (path === '/logs') {
    page = new LogsPage(ctx, params.get('execution_id') || '');
    document.title = 'Logs · runvoy';
  } else if (path === '/settings') {
    page = new SettingsPage(ctx);
    document.title = 'Settings · runvoy';
  } else if (path === '/claim') {
    page = new ClaimPage(ctx, params.get('token') || '');
    document.title = 'Claim · runvoy';
  } else {
    page = new ExecutionsPage(ctx);
    document.title = 'Executions · runvoy';
  }
  currentPage = page;
  main.append(page.element);
  for (const a of document.querySelectorAll('.nav a')) {
    if (a.getAttribute('href') === path) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

// In-app links: <a data-link href="/...">, handled without reloading the page.
document.addEventListener('click', (event) => {
  const a = event.target.closest && event.target.closest('a[data-link]');
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey) return;
  const url = new URL(a.href, window.location.href);
  if (url.origin !== window.location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', route);

route();
refreshServerInfo().catch((err) => {
  // The page itself shows errors for its own calls; say it here when nothing else will.
  if (!document.querySelector('#banner:not([hidden])')) showError(err);
});
window.__runvoyReady = true;

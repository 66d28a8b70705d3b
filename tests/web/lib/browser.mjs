// Shared helpers for the viewer's browser tests: Debian's Chromium through playwright-core,
// and a static server for web/ with the same CSP and SPA fallback as runvoy's server.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {fileURLToPath} from 'node:url';
import {chromium} from 'playwright-core';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');
export const CSP = "default-src 'self'; connect-src 'self' ws: wss: http: https:; " +
    "img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; " +
    "base-uri 'none'; frame-ancestors 'none'";
export const SCREENSHOT_DIR = process.env.RUNVOY_SCREENSHOT_DIR || '';

export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
           '--no-first-run', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
  return browser;
}

// A page that records console errors, page errors, CSP violations and dialogs.
export async function newPage(browser, {width = 1280, height = 800, acceptDownloads = false} = {}) {
  const context = await browser.newContext({viewport: {width, height}, acceptDownloads});
  const page = await context.newPage();
  page.problems = [];
  page.dialogs = [];
  page.on('pageerror', (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') page.problems.push(`console: ${msg.text()}`);
  });
  page.on('dialog', async (dialog) => {
    page.dialogs.push(dialog.message());
    await dialog.dismiss();
  });
  return {context, page};
}

const TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
               '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png'};

// Serves web/ like runvoy does: /assets/* as files, index.html for the viewer's routes.
export function startStaticServer() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    let file;
    if (url.pathname.startsWith('/assets/')) {
      file = path.join(WEB_DIR, path.normalize(url.pathname).replace(/^(\.\.[/\\])+/, ''));
    } else if (['/', '/index.html', '/logs', '/settings', '/claim'].includes(url.pathname)) {
      file = path.join(WEB_DIR, 'index.html');
    }
    if (!file || !file.startsWith(WEB_DIR) || !fs.existsSync(file)) {
      res.writeHead(404, {'Content-Type': 'application/json'});
      res.end(JSON.stringify({error: 'not found', code: 'NOT_FOUND'}));
      return;
    }
    res.writeHead(200, {'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
                        'Content-Security-Policy': CSP, 'Cache-Control': 'no-cache'});
    res.end(fs.readFileSync(file));
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const {port} = server.address();
      resolve({server, origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r))});
    });
  });
}

export async function screenshot(page, name) {
  if (!SCREENSHOT_DIR) return;
  fs.mkdirSync(SCREENSHOT_DIR, {recursive: true});
  await page.screenshot({path: path.join(SCREENSHOT_DIR, `${name}.png`)});
}

export function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

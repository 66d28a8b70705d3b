// The viewer served by a real runvoy server (started by run.sh), through its public API.
// Needs RUNVOY_URL, RUNVOY_ADMIN_KEY, RUNVOY_DEV_KEY, RUNVOY_CLAIM_TOKEN (from run.sh) and
// RUNVOY_IMAGE (the registered image the commands run in, "host" by default).
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {launch, newPage, screenshot, startStaticServer} from './lib/browser.mjs';

const URL_BASE = process.env.RUNVOY_URL;
const DEV_KEY = process.env.RUNVOY_DEV_KEY;
const ADMIN_KEY = process.env.RUNVOY_ADMIN_KEY;
const CLAIM_TOKEN = process.env.RUNVOY_CLAIM_TOKEN;
const IMAGE = process.env.RUNVOY_IMAGE || 'host';
const skip = !URL_BASE || !DEV_KEY ? 'needs a running server (use run.sh)' : false;
const LONG = {timeout: 60000};

// RUNVOY_WEB_FROM_SOURCE=1: the viewer comes from web/ on another origin (a static server
// here) and talks to the runvoy server through CORS, as when it is hosted elsewhere.
let browser;
let viewer = URL_BASE;
let site;
before(async () => {
  if (skip) return;
  browser = await launch();
  if (process.env.RUNVOY_WEB_FROM_SOURCE === '1') {
    site = await startStaticServer();
    viewer = site.origin;
  }
});
after(async () => {
  await browser?.close();
  await site?.close();
});

// Puts the key (and the endpoint, when the viewer is on another origin) in local storage.
async function seed(context, key) {
  await context.addInitScript(([k, endpoint]) => {
    if (!sessionStorage.getItem('seeded')) {
      sessionStorage.setItem('seeded', '1');
      if (k) localStorage.setItem('runvoy.apiKey', k);
      if (endpoint) localStorage.setItem('runvoy.endpoint', endpoint);
    }
  }, [key, viewer === URL_BASE ? '' : URL_BASE]);
}

async function apiCall(method, path, body, key = DEV_KEY) {
  const res = await fetch(`${URL_BASE}/api/v1${path}`, {
    method, headers: {'X-API-Key': key, 'Content-Type': 'application/json'},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function run(command, extra = {}) {
  return apiCall('POST', '/run', {command, image: IMAGE, ...extra});
}

async function open(path, {key = DEV_KEY, width, height, acceptDownloads} = {}) {
  const {context, page} = await newPage(browser, {width, height, acceptDownloads});
  await seed(context, key);
  await page.goto(viewer + path);
  return {context, page};
}

const logsPath = (id) => `/logs?execution_id=${id}`;

function waitStatus(page, status, timeout = 60000) {
  return page.waitForFunction((s) => document.querySelector('#log-status')?.textContent === s, status,
                              {timeout});
}

async function downloadText(page) {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#log-download')]);
  return fs.readFileSync(await download.path(), 'utf8');
}

function realProblems(page) {
  return page.problems.filter((p) => !/Failed to load resource/.test(p));
}

test('pages carry a CSP without unsafe-inline or unsafe-eval, and /logs falls back to the viewer',
     {skip}, async () => {
  for (const path of ['/', '/logs?execution_id=x', '/settings', '/claim?token=x']) {
    const res = await fetch(URL_BASE + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), /^text\/html/);
    const csp = res.headers.get('content-security-policy') || '';
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.match(await res.text(), /\/assets\/app\.js/);
  }
  const js = await fetch(`${URL_BASE}/assets/app.js`);
  assert.match(js.headers.get('content-type'), /javascript/);
});

test('claim a key from an invitation link', {skip: skip || (!CLAIM_TOKEN && 'no claim token')}, async () => {
  const {context, page} = await open(`/claim?token=${encodeURIComponent(CLAIM_TOKEN)}`, {key: ''});
  await screenshot(page, 'claim');
  await page.click('#claim-submit');
  await page.waitForSelector('#claim-email');
  assert.equal(await page.textContent('#claim-email'), 'claimed@example.com');
  const key = await page.inputValue('#claim-key');
  assert.equal(key.length, 32);
  assert.equal(await page.evaluate(() => localStorage.getItem('runvoy.apiKey')), key);
  await page.click('#claim-continue');
  await page.waitForFunction(() => /No executions|shown/.test(document.querySelector('.list-status')?.textContent));
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('settings show the server version and provider, and an invalid key is reported clearly',
     {skip}, async () => {
  const {context, page} = await open('/settings');
  await page.waitForFunction(() => /accepts this API key/.test(document.querySelector('#settings-result')?.textContent));
  const health = await (await fetch(`${URL_BASE}/api/v1/health`)).json();
  assert.equal(await page.textContent('#settings-health dd[data-key="version"]'), health.version);
  assert.equal(await page.textContent('#settings-health dd[data-key="provider"]'), health.provider);
  await screenshot(page, 'settings');
  await page.fill('#settings-key', 'this-key-does-not-exist-0000000');
  await page.click('#settings-save');
  await page.waitForFunction(() => /Invalid API key/.test(document.querySelector('#settings-result')?.textContent));
  await page.click('a[href="/"]');
  await page.waitForFunction(() => /Invalid API key/.test(document.querySelector('.list-status')?.textContent));
  assert.match(await page.textContent('#banner'), /Invalid API key/);
  await context.close();
});

test('run a command from the form and watch its lines appear live', {skip, ...LONG}, async () => {
  const {context, page} = await open('/');
  await page.waitForSelector(`#run-image option`, {state: 'attached'});
  await page.fill('#run-command', 'for i in 1 2 3 4 5 6; do echo "tick $i"; sleep 0.4; done');
  await page.click('#run-env-add');
  await page.fill('.env-key', 'GREETING');
  await page.fill('.env-value', 'hello');
  await screenshot(page, 'run-form');
  await page.click('#run-submit');
  await page.waitForURL(/\/logs\?execution_id=[0-9a-f]{32}$/);
  // "tick 1" shows while the command still runs.
  await page.waitForFunction(() => [...document.querySelectorAll('.log-msg')].some((m) => m.textContent === 'tick 1'),
                             null, {timeout: 30000});
  const statusWhileTick1 = await page.textContent('#log-status');
  assert.ok(['STARTING', 'RUNNING'].includes(statusWhileTick1), statusWhileTick1);
  await screenshot(page, 'logs-live');
  await waitStatus(page, 'SUCCEEDED');
  assert.equal(await page.textContent('#log-exit'), 'exit code 0');
  const stdout = await page.$$eval('.log-stdout .log-msg', (m) => m.map((x) => x.textContent));
  assert.deepEqual(stdout, ['tick 1', 'tick 2', 'tick 3', 'tick 4', 'tick 5', 'tick 6']);
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('follow a long-running command and kill it', {skip, ...LONG}, async () => {
  const {execution_id: id} = await run('i=0; while true; do i=$((i+1)); echo "beat $i"; sleep 0.2; done');
  const {context, page} = await open(logsPath(id), {acceptDownloads: true});
  await page.waitForFunction(() => [...document.querySelectorAll('.log-msg')].some((m) => m.textContent === 'beat 5'),
                             null, {timeout: 30000});
  assert.ok(await page.isChecked('#log-follow'));
  await page.click('#log-kill');
  await waitStatus(page, 'STOPPED', 30000);
  assert.equal(await page.textContent('#log-exit'), 'exit code 130');
  assert.ok(await page.isHidden('#log-kill'));
  // No beat is missing or repeated.
  const beats = (await downloadText(page)).split('\n').filter((l) => l.startsWith('beat '))
      .map((l) => Number(l.slice(5)));
  assert.ok(beats.length >= 5);
  assert.deepEqual(beats, beats.map((_, i) => i + 1));
  await context.close();
});

test('a dropped WebSocket resumes from the last event: no gap, no duplicate', {skip, ...LONG}, async () => {
  const {execution_id: id} = await run('for i in $(seq 1 300); do echo "n $i"; sleep 0.01; done');
  const {context, page} = await newPage(browser, {acceptDownloads: true});
  await seed(context, DEV_KEY);
  let connections = 0;
  const urls = [];
  await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => {
    connections++;
    urls.push(ws.url());
    const server = ws.connectToServer();
    if (connections > 1) return;  // later connections pass through untouched
    let seen = 0;
    server.onMessage((msg) => {
      if (ws.dropped) return;
      ws.send(msg);
      seen += (String(msg).match(/"event_id"/g) || []).length;
      if (seen >= 20 && !ws.dropped) {
        ws.dropped = true;
        ws.close({code: 1013, reason: 'test drop'});
        server.close();
      }
    });
  });
  await page.goto(viewer + logsPath(id));
  await waitStatus(page, 'SUCCEEDED');
  assert.ok(connections >= 2, `expected a reconnect, saw ${connections} connection(s)`);
  assert.match(urls[1], /last_event_id=/);
  const lines = (await downloadText(page)).split('\n').filter((l) => l.startsWith('n '));
  assert.deepEqual(lines, Array.from({length: 300}, (_, i) => `n ${i + 1}`));
  await context.close();
});

test('reload a finished execution: the backlog shows the same lines', {skip, ...LONG}, async () => {
  const {execution_id: id} = await run('seq 1 50; echo done');
  const {context, page} = await open(logsPath(id), {acceptDownloads: true});
  await waitStatus(page, 'SUCCEEDED');
  const live = await downloadText(page);
  await page.reload();
  await waitStatus(page, 'SUCCEEDED');
  await page.waitForFunction(() => Number(document.querySelector('#log-count')?.dataset.lines) > 50);
  const again = await downloadText(page);
  assert.equal(again, live);
  assert.ok(again.includes(`${Array.from({length: 50}, (_, i) => i + 1).join('\n')}\ndone\n`));
  assert.equal(await page.textContent('#log-exit'), 'exit code 0');
  await context.close();
});

test('ANSI colours are rendered; HTML and scripts in output are shown as text', {skip, ...LONG}, async () => {
  const cmd = "printf '\\033[31mred\\033[0m \\033[1;32mbold green\\033[0m \\033[38;5;208morange\\033[0m\\n';" +
              " printf '%s\\n' '<img src=x onerror=\"window.__pwned=1;alert(1)\">'" +
              " '<script>window.__pwned=2;alert(2)</script>' '<b>not bold</b>'";
  const {execution_id: id} = await run(cmd);
  const {context, page} = await open(logsPath(id));
  await waitStatus(page, 'SUCCEEDED');
  await page.waitForFunction(() => [...document.querySelectorAll('.log-msg')].some((m) => m.textContent === '<b>not bold</b>'));
  const style = (t) => page.evaluate((text) => {
    const s = [...document.querySelectorAll('.log-msg span')].find((x) => x.textContent === text);
    return s && {cls: s.className, color: getComputedStyle(s).color};
  }, t);
  assert.equal((await style('red')).cls, 'ansi-fg-1');
  assert.equal((await style('bold green')).cls, 'ansi-fg-2 ansi-bold');
  assert.equal((await style('orange')).color, 'rgb(255, 135, 0)');
  const stdout = await page.$$eval('.log-stdout .log-msg', (m) => m.map((x) => x.textContent));
  assert.deepEqual(stdout.slice(1), ['<img src=x onerror="window.__pwned=1;alert(1)">',
                                     '<script>window.__pwned=2;alert(2)</script>', '<b>not bold</b>']);
  await page.waitForTimeout(300);  // give any injected handler the chance to run (it must not)
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('main img, main script, main b', (x) => x.length), 0);
  assert.deepEqual(page.dialogs, []);
  await page.check('#log-times');
  await screenshot(page, 'logs-ansi');
  await context.close();
});

test('200,000 lines stream live, then load and scroll from the backlog', {skip, timeout: 240000}, async () => {
  const N = 200000;
  const t0 = Date.now();
  const {execution_id: id} = await run(`seq 1 ${N}`);
  const {context, page} = await open(logsPath(id));
  await waitStatus(page, 'SUCCEEDED', 180000);
  const events = (await apiCall('GET', `/executions/${id}/logs`)).events;
  const expected = events.filter((e) => !e.partial).length;
  await page.waitForFunction((n) => document.querySelector('#log-count')?.dataset.lines === String(n),
                             expected, {timeout: 60000});
  const liveMs = Date.now() - t0;

  const t1 = Date.now();
  await page.reload();
  await page.waitForFunction((n) => document.querySelector('#log-count')?.dataset.lines === String(n),
                             expected, {timeout: 120000});
  const loadMs = Date.now() - t1;
  const rowOf = (text) => page.evaluate((t) => {
    const m = [...document.querySelectorAll('.log-msg')].find((x) => x.textContent === t);
    return m ? Number(m.parentElement.dataset.line) : 0;
  }, text);
  const scrollTo = async (line) => {
    const s = Date.now();
    await page.$eval('.log-viewport', (v, l) => { v.scrollTop = (l - 1) * 18; }, line);
    await page.waitForSelector(`.log-row[data-line="${line}"]`);
    return Date.now() - s;
  };
  const top = await scrollTo(1);
  const middle = await scrollTo(Math.floor(expected / 2));
  const end = await scrollTo(expected - 30);
  const rows = await page.$$eval('.log-row', (r) => r.length);
  // Line numbers and content agree: "100000" is on the line after the banner's last line.
  await scrollTo(Math.floor(expected / 2));
  const banner = expected - N;
  assert.equal(await rowOf(String(Math.floor(expected / 2) - banner)), Math.floor(expected / 2));
  // Search across all lines.
  const s0 = Date.now();
  await page.fill('#log-search', '199999');
  await page.waitForFunction(() => /of/.test(document.querySelector('#log-search-count').textContent));
  const searchMs = Date.now() - s0;
  console.log(`# 200,000 lines (real server): run + live stream ${liveMs} ms; backlog load ${loadMs} ms;` +
              ` scroll top ${top} ms, middle ${middle} ms, end ${end} ms; search ${searchMs} ms;` +
              ` ${rows} rows in the DOM`);
  assert.ok(rows < 200);
  assert.ok(Math.max(top, middle, end) < 2000);
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('the executions list shows status, user, command, duration and exit code', {skip}, async () => {
  const {context, page} = await open('/', {key: ADMIN_KEY || DEV_KEY});
  await page.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length >= 5);
  const first = await page.$$eval('#executions-table tbody tr:first-child td', (t) => t.map((x) => x.textContent));
  assert.equal(first[1], 'dev@example.com');
  assert.match(first[2], /seq 1 200000/);
  assert.equal(first[5], '0');
  await screenshot(page, 'executions');
  await page.check('#filter-stopped');
  await page.waitForFunction(() => [...document.querySelectorAll('#executions-table .col-status .status')]
      .every((s) => s.textContent === 'STOPPED'));
  await page.uncheck('#filter-stopped');
  await context.close();
  const phone = await open('/', {width: 390, height: 844});
  await phone.page.waitForSelector('.command-link');
  assert.ok(await phone.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  await screenshot(phone.page, 'executions-phone');
  await phone.context.close();
});

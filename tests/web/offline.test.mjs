// The viewer against an in-test double of the API (lib/fake-api.mjs): its own logic, with
// no runvoy server needed. Run: node --test offline.test.mjs
import {test, before, after} from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {launch, newPage, startStaticServer} from './lib/browser.mjs';
import {FakeApi, GOOD_KEY, makeEvents, eventId} from './lib/fake-api.mjs';

let browser;
let site;
const ID = 'a'.repeat(32);

before(async () => {
  site = await startStaticServer();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await site?.close();
});

// Opens the viewer at `path` with the fake API installed and `key` in local storage.
async function open(path, {key = GOOD_KEY, fake = new FakeApi(), endpoint, width, height,
                           acceptDownloads} = {}) {
  const {context, page} = await newPage(browser, {width, height, acceptDownloads});
  await context.addInitScript(([k, e]) => {
    if (!sessionStorage.getItem('seeded')) {
      sessionStorage.setItem('seeded', '1');
      if (k) localStorage.setItem('runvoy.apiKey', k);
      if (e) localStorage.setItem('runvoy.endpoint', e);
    }
  }, [key, endpoint]);
  if (fake) await fake.install(page);
  await page.goto(site.origin + path);
  return {context, page, fake};
}

function realProblems(page) {
  return page.problems.filter((p) => !/Failed to load resource|net::ERR_/.test(p));
}

async function lineTexts(page) {
  return page.$$eval('.log-row .log-msg', (rows) => rows.map((r) => r.textContent));
}

async function waitLines(page, n) {
  await page.waitForFunction((count) => document.querySelector('#log-count')?.dataset.lines === String(count), n);
}

test('the shell renders and says clearly that the server cannot be reached', async () => {
  const {context, page} = await open('/', {endpoint: 'http://127.0.0.1:9', fake: null});
  await page.waitForSelector('#banner:not([hidden])');
  assert.match(await page.textContent('#banner'), /Cannot reach the server at http:\/\/127\.0\.0\.1:9/);
  assert.match(await page.textContent('#server-info'), /unreachable/);
  assert.ok(await page.isVisible('#run-form'));
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('an invalid key shows a clear message on the list and in settings', async () => {
  const {context, page} = await open('/', {key: 'not-a-valid-key-000000000'});
  await page.waitForFunction(() => /Invalid API key/.test(document.querySelector('.list-status')?.textContent));
  assert.match(await page.textContent('#banner'), /Invalid API key/);
  await page.click('a[href="/settings"]');
  await page.waitForFunction(() => /Invalid API key/.test(document.querySelector('#settings-result')?.textContent));
  assert.match(await page.textContent('#settings-health'), /0\.1\.0-test/);
  assert.match(await page.textContent('#settings-health'), /fake/);
  await context.close();
});

test('settings save the endpoint and key, and a good key is accepted', async () => {
  const {context, page} = await open('/settings', {key: ''});
  await page.fill('#settings-key', GOOD_KEY);
  await page.click('#settings-save');
  await page.waitForFunction(() => /accepts this API key/.test(document.querySelector('#settings-result')?.textContent));
  assert.equal(await page.evaluate(() => localStorage.getItem('runvoy.apiKey')), GOOD_KEY);
  assert.match(await page.textContent('#server-info'), /runvoy 0\.1\.0-test · fake/);
  await context.close();
});

test('live lines appear, and a dropped connection resumes with no gap and no duplicate', async () => {
  const fake = new FakeApi();
  const lines = (a, b) => makeEvents(Array.from({length: b - a + 1}, (_, i) => `line ${a + i}`), {first: a});
  fake.addExecution({id: ID, status: 'RUNNING', events: lines(1, 3)});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await waitLines(page, 3);
  await page.waitForFunction(() => document.querySelector('#log-connection')?.dataset.state === 'live');
  assert.equal(fake.wsConnections[0].lastEventId, eventId(3));
  assert.equal(fake.wsConnections[0].batch, true);

  fake.push(ID, lines(4, 6));
  await waitLines(page, 6);
  // Lines 7–9 are produced while the connection breaks: they must come back on resume.
  fake.push(ID, lines(7, 9), {live: false});
  await fake.drop(ID);
  await page.waitForFunction(() => document.querySelector('#log-connection')?.dataset.state === 'live' &&
                                   document.querySelector('#log-count')?.dataset.lines === '9');
  const resumed = fake.wsConnections.at(-1);
  assert.equal(resumed.lastEventId, eventId(9));
  assert.ok(fake.calls.some((c) => c.path.endsWith('/logs') && c.query.after === eventId(6)));

  fake.push(ID, lines(10, 12));
  // A server resending an event the viewer already holds must not duplicate it.
  resumed.route.send(JSON.stringify(lines(11, 12)[1]));
  fake.push(ID, lines(13, 13));
  await waitLines(page, 13);
  fake.finish(ID, 'SUCCEEDED', 0);
  await page.waitForFunction(() => /SUCCEEDED/.test(document.querySelector('#log-status')?.textContent));
  assert.deepEqual(await lineTexts(page), Array.from({length: 13}, (_, i) => `line ${i + 1}`));
  assert.equal(await page.textContent('#log-exit'), 'exit code 0');
  assert.ok(await page.isHidden('#log-kill'));
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('ANSI colours (16, 256, 24-bit), bold and reset are rendered as styled spans', async () => {
  const fake = new FakeApi();
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0, events: makeEvents([
    '\x1b[31mred\x1b[0m \x1b[1;92mbold bright green\x1b[0m plain',
    '\x1b[38;5;208morange\x1b[0m \x1b[48;5;21mblue background\x1b[0m \x1b[38;2;10;20;30mtruecolor\x1b[m',
    '\x1b[33mcarried',
    'over\x1b[0m reset',
  ])});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await waitLines(page, 4);
  const span = (text) => page.evaluate((t) => {
    const s = [...document.querySelectorAll('.log-msg span')].find((x) => x.textContent === t);
    if (!s) return null;
    const cs = getComputedStyle(s);
    return {cls: s.className, color: cs.color, bg: cs.backgroundColor, weight: cs.fontWeight};
  }, text);
  const red = await span('red');
  assert.equal(red.cls, 'ansi-fg-1');
  assert.equal(red.color, 'rgb(255, 107, 107)');
  const green = await span('bold bright green');
  assert.equal(green.cls, 'ansi-fg-10 ansi-bold');
  assert.equal(green.weight, '700');
  assert.equal((await span(' plain')).cls, '');
  assert.equal((await span('orange')).color, 'rgb(255, 135, 0)');
  assert.equal((await span('blue background')).bg, 'rgb(0, 0, 255)');
  assert.equal((await span('truecolor')).color, 'rgb(10, 20, 30)');
  assert.equal((await span('over')).cls, 'ansi-fg-3');  // the colour carries to the next line
  assert.equal((await span(' reset')).cls, '');
  const texts = await lineTexts(page);
  assert.ok(texts.every((t) => !t.includes('\x1b') && !t.includes('[0m')));
  await context.close();
});

test('output with HTML and script tags is shown as text and runs nothing', async () => {
  const fake = new FakeApi();
  const evil = [
    '<img src=x onerror="window.__pwned=1;alert(1)">',
    '<script>window.__pwned=2;alert(2)</script>',
    '"><svg onload="window.__pwned=3;alert(3)">',
    '<b>not bold</b> &amp; <a href="javascript:alert(4)">link</a>',
  ];
  fake.addExecution({id: ID, status: 'RUNNING', events: makeEvents(evil.slice(0, 2)),
                     command: '<img src=x onerror="window.__pwned=5">'});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await page.waitForFunction(() => document.querySelector('#log-connection')?.dataset.state === 'live');
  fake.push(ID, makeEvents(evil.slice(2), {first: 3}));
  await waitLines(page, 4);
  await page.waitForTimeout(300);
  assert.deepEqual(await lineTexts(page), evil);
  assert.equal(await page.textContent('#log-command'), '<img src=x onerror="window.__pwned=5">');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  assert.equal(await page.$$eval('main img, main script, main svg, main b, .log-viewport a', (x) => x.length), 0);
  assert.deepEqual(page.dialogs, []);
  // The list shows the command as text too.
  await page.click('a[href="/"]');
  await page.waitForSelector('.command-link');
  assert.equal(await page.textContent('.command-link'), '<img src=x onerror="window.__pwned=5">');
  assert.equal(await page.evaluate(() => window.__pwned), undefined);
  await context.close();
});

test('partial pieces join into one line; stderr and runvoy lines are marked', async () => {
  const fake = new FakeApi();
  const t = 1700000000000;
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0, events: [
    {event_id: eventId(1), timestamp: t, message: '### runvoy: request 1', stream: 'runvoy'},
    {event_id: eventId(2), timestamp: t, message: 'aaa', stream: 'stdout', partial: true},
    {event_id: eventId(3), timestamp: t, message: 'bbb', stream: 'stdout', partial: true},
    {event_id: eventId(4), timestamp: t, message: 'ccc', stream: 'stdout'},
    {event_id: eventId(5), timestamp: t, message: 'oops', stream: 'stderr'},
  ]});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await waitLines(page, 3);
  assert.deepEqual(await lineTexts(page), ['### runvoy: request 1', 'aaabbbccc', 'oops']);
  assert.deepEqual(await page.$$eval('.log-row', (r) => r.map((x) => x.className)),
                   ['log-row log-runvoy', 'log-row log-stdout', 'log-row log-stderr']);
  // Timestamps toggle on, line numbers off.
  await page.check('#log-times');
  await page.uncheck('#log-numbers');
  assert.ok(await page.isVisible('.log-ts'));
  assert.ok(await page.isHidden('.log-ln'));
  assert.equal(await page.textContent('.log-row .log-ts'), new Date(t).toISOString().slice(11, 23));
  await context.close();
});

test('follow-tail stops when the user scrolls up; search finds and highlights lines', async () => {
  const fake = new FakeApi();
  const msgs = Array.from({length: 500}, (_, i) => (i % 100 === 42 ? `needle ${i + 1}` : `hay ${i + 1}`));
  fake.addExecution({id: ID, status: 'RUNNING', events: makeEvents(msgs)});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await waitLines(page, 500);
  await page.waitForFunction(() => document.querySelector('#log-connection')?.dataset.state === 'live');
  const atBottom = () => page.$eval('.log-viewport', (v) => v.scrollTop + v.clientHeight >= v.scrollHeight - 18);
  assert.ok(await atBottom());
  assert.ok(await page.isChecked('#log-follow'));
  await page.hover('.log-viewport');
  await page.mouse.wheel(0, -2000);
  await page.waitForFunction(() => !document.querySelector('#log-follow').checked);
  // Wheel scrolling is animated: wait until the position settles.
  let top = -1;
  for (;;) {
    const now = await page.$eval('.log-viewport', (v) => v.scrollTop);
    if (now === top) break;
    top = now;
    await page.waitForTimeout(150);
  }
  assert.ok(top > 0);
  fake.push(ID, makeEvents(Array.from({length: 100}, (_, i) => `more ${i}`), {first: 501}));
  await waitLines(page, 600);
  assert.equal(await page.$eval('.log-viewport', (v) => v.scrollTop), top);
  await page.check('#log-follow');
  await page.waitForFunction(() => {
    const v = document.querySelector('.log-viewport');
    return v.scrollTop + v.clientHeight >= v.scrollHeight - 18;
  });
  // Search: 5 matches; Enter moves to the next; the current one is highlighted.
  await page.fill('#log-search', 'needle');
  await page.waitForFunction(() => document.querySelector('#log-search-count').textContent === '1 of 5');
  assert.ok(!(await page.isChecked('#log-follow')));
  assert.equal(await page.textContent('.log-current mark'), 'needle');
  assert.equal(await page.getAttribute('.log-current', 'data-line'), '43');
  await page.press('#log-search', 'Enter');
  await page.waitForFunction(() => document.querySelector('#log-search-count').textContent === '2 of 5');
  assert.equal(await page.getAttribute('.log-current', 'data-line'), '143');
  await page.press('#log-search', 'Shift+Enter');
  await page.waitForFunction(() => document.querySelector('#log-search-count').textContent === '1 of 5');
  await page.fill('#log-search', 'no such text');
  await page.waitForFunction(() => document.querySelector('#log-search-count').textContent === 'no matches');
  await context.close();
});

test('the kill button stops a running execution and the final status shows', async () => {
  const fake = new FakeApi();
  fake.addExecution({id: ID, status: 'RUNNING', events: makeEvents(['working'])});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await page.waitForSelector('#log-kill:not([hidden])');
  await page.click('#log-kill');
  await page.waitForFunction(() => /TERMINATING/.test(document.querySelector('#log-status').textContent));
  assert.ok(fake.calls.some((c) => c.method === 'DELETE' && c.path === `/executions/${ID}`));
  assert.match(await page.textContent('#log-notice'), /stop requested/);
  fake.finish(ID, 'STOPPED', 130);
  await page.waitForFunction(() => /STOPPED/.test(document.querySelector('#log-status').textContent));
  assert.equal(await page.textContent('#log-exit'), 'exit code 130');
  assert.ok(await page.isHidden('#log-kill'));
  await context.close();
});

test('download saves the log as plain text', async () => {
  const fake = new FakeApi();
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0,
                     events: makeEvents(['\x1b[32mgreen\x1b[0m one', 'two', '<b>three</b>'])});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake, acceptDownloads: true});
  await waitLines(page, 3);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#log-download')]);
  assert.equal(download.suggestedFilename(), `runvoy-${ID}.log`);
  assert.equal(fs.readFileSync(await download.path(), 'utf8'), 'green one\ntwo\n<b>three</b>\n');
  await context.close();
});

test('a claim stores the key once; a second claim says it was already claimed', async () => {
  const fake = new FakeApi();
  fake.claims.set('tok-123', {email: 'new@example.com'});
  const {context, page} = await open('/claim?token=tok-123', {fake, key: ''});
  assert.equal(await page.inputValue('#claim-token'), 'tok-123');
  await page.click('#claim-submit');
  await page.waitForSelector('#claim-email');
  assert.equal(await page.textContent('#claim-email'), 'new@example.com');
  assert.equal(await page.inputValue('#claim-key'), GOOD_KEY);
  assert.equal(await page.evaluate(() => localStorage.getItem('runvoy.apiKey')), GOOD_KEY);
  await page.goto(`${site.origin}/claim?token=tok-123`);
  await page.click('#claim-submit');
  await page.waitForFunction(() => /already been claimed/.test(document.querySelector('#claim-result').textContent));
  await context.close();
});

test('the list pages with before=, filters by status and links to the logs', async () => {
  const fake = new FakeApi();
  for (let i = 1; i <= 30; i++) {
    fake.addExecution({id: i.toString(16).padStart(32, '0'), status: i % 3 ? 'SUCCEEDED' : 'FAILED',
                       exitCode: i % 3 ? 0 : 2, command: `job ${i}`});
  }
  const {context, page} = await open('/', {fake});
  await page.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length === 25);
  assert.equal(await page.textContent('#executions-table tbody tr .command-link'), 'job 30');
  await page.click('#list-older');
  await page.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length === 5);
  assert.equal(fake.calls.filter((c) => c.path === '/executions').at(-1).query.before,
               (6).toString(16).padStart(32, '0'));
  await page.click('#list-newer');
  await page.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length === 25);
  await page.check('#filter-failed');
  await page.waitForFunction(() => document.querySelectorAll('#executions-table tbody tr').length === 10);
  assert.equal(fake.calls.filter((c) => c.path === '/executions').at(-1).query.status, 'FAILED');
  assert.deepEqual(await page.$$eval('#executions-table .col-exit', (x) => x.slice(1).map((c) => c.textContent)),
                   Array(10).fill('2'));
  await page.click('text=job 30');
  await page.waitForURL(/\/logs\?execution_id=0+1e$/);
  await context.close();
});

test('the run form sends command, image, env, secrets and timeout, then opens the logs', async () => {
  const fake = new FakeApi();
  const {context, page} = await open('/', {fake});
  await page.waitForSelector('#run-image option[value="host:latest-00000000"]', {state: 'attached'});
  await page.fill('#run-command', 'echo hi');
  await page.fill('#run-timeout', '60');
  await page.click('#run-env-add');
  await page.fill('.env-key', 'GREETING');
  await page.fill('.env-value', 'hello world');
  await page.check('#secret-db-pass');
  await page.click('#run-submit');
  await page.waitForURL(/\/logs\?execution_id=/);
  assert.deepEqual(fake.lastRun, {command: 'echo hi', image: 'host:latest-00000000', timeout: 60,
                                  env: {GREETING: 'hello world'}, secrets: ['db-pass']});
  await page.waitForSelector('#log-command');
  assert.equal(await page.textContent('#log-command'), 'echo hi');
  await context.close();
});

test('a bad env name is refused before sending', async () => {
  const fake = new FakeApi();
  const {context, page} = await open('/', {fake});
  await page.fill('#run-command', 'true');
  await page.click('#run-env-add');
  await page.fill('.env-key', '1BAD');
  await page.click('#run-submit');
  await page.waitForFunction(() => /not a valid variable name/.test(document.querySelector('.form-status').textContent));
  assert.equal(fake.lastRun, undefined);
  await context.close();
});

test('200,000 lines load and scroll with only the visible rows in the page', async () => {
  const fake = new FakeApi();
  const N = 200000;
  const msgs = new Array(N);
  for (let i = 0; i < N; i++) {
    msgs[i] = i % 10 === 0 ? `\x1b[36mline ${i + 1}\x1b[0m of the big log` : `line ${i + 1} of the big log`;
  }
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0, events: makeEvents(msgs)});
  const t0 = Date.now();
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await page.waitForFunction((n) => document.querySelector('#log-count')?.dataset.lines === String(n), N,
                             {timeout: 60000});
  const loadMs = Date.now() - t0;
  const scrollTo = async (line) => {
    const s = Date.now();
    await page.$eval('.log-viewport', (v, l) => { v.scrollTop = (l - 1) * 18; }, line);
    await page.waitForSelector(`.log-row[data-line="${line}"]`);
    return Date.now() - s;
  };
  const middle = await scrollTo(100000);
  const top = await scrollTo(1);
  const end = await scrollTo(N - 40);
  const rows = await page.$$eval('.log-row', (r) => r.length);
  // Keyboard scrolling works on the focused log.
  await page.focus('.log-viewport');
  const before = await page.$eval('.log-viewport', (v) => v.scrollTop);
  await page.keyboard.press('PageUp');
  await page.waitForFunction((b) => document.querySelector('.log-viewport').scrollTop < b, before);
  console.log(`# 200,000 lines (fake API): loaded in ${loadMs} ms; scroll to middle ${middle} ms, ` +
              `top ${top} ms, end ${end} ms; ${rows} rows in the DOM`);
  assert.ok(rows < 200, `${rows} rows rendered`);
  assert.ok(loadMs < 30000, `loading took ${loadMs} ms`);
  assert.ok(Math.max(middle, top, end) < 2000);
  assert.deepEqual(realProblems(page), []);
  await context.close();
});

test('works at phone width without horizontal overflow', async () => {
  const fake = new FakeApi();
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0, events: makeEvents(['hello'])});
  const {context, page} = await open('/', {fake, width: 390, height: 844});
  await page.waitForSelector('.command-link');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the window`);
  await page.goto(`${site.origin}/logs?execution_id=${ID}`);
  await waitLines(page, 1);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
  await context.close();
});

test('the viewer code never turns strings into HTML or code', () => {
  const dir = new URL('../../web/assets/', import.meta.url);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(files.length >= 8);
  for (const f of files) {
    const src = fs.readFileSync(new URL(f, dir), 'utf8');
    for (const bad of [/innerHTML/, /outerHTML/, /insertAdjacentHTML/, /document\.write/,
                       /\beval\s*\(/, /new Function/, /setAttribute\(\s*['"]style/, /\.cssText/]) {
      assert.doesNotMatch(src, bad, `${f} uses ${bad}`);
    }
  }
  const html = fs.readFileSync(new URL('../../web/index.html', import.meta.url), 'utf8');
  assert.doesNotMatch(html, /style=|<style|\son[a-z]+=|<script(?![^>]*\ssrc=)/);
});

test('keyboard: the skip link, tab order and the "/" shortcut to search the log', async () => {
  const fake = new FakeApi();
  fake.addExecution({id: ID, status: 'SUCCEEDED', exitCode: 0, events: makeEvents(['a', 'b'])});
  const {context, page} = await open(`/logs?execution_id=${ID}`, {fake});
  await waitLines(page, 2);
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
  const order = [];
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    order.push(await page.evaluate(() => document.activeElement.id || document.activeElement.className));
  }
  for (const id of ['log-numbers', 'log-times', 'log-follow', 'log-search', 'log-download', 'log-viewport']) {
    assert.ok(order.some((o) => o.includes(id)), `${id} not reached by Tab: ${order.join(', ')}`);
  }
  await page.focus('.log-viewport');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'log-search');
  await context.close();
});

// An in-test double of the runvoy API (SPEC.md §2), installed on a Playwright page with
// page.route and page.routeWebSocket. It lets the viewer's own logic (resume after a drop,
// paging, ANSI, escaping, large logs) be tested in isolation; run.sh also tests the viewer
// against the real server.

export const GOOD_KEY = 'good-key-0123456789abcdefABCDEF';
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'STOPPED']);

export function eventId(n) { return String(n).padStart(10, '0'); }

// Events numbered from `first`, one per message.
export function makeEvents(messages, {first = 1, stream = 'stdout', start = 1700000000000} = {}) {
  return messages.map((m, i) => ({event_id: eventId(first + i), timestamp: start + (first + i) * 10,
                                  message: m, stream}));
}

export class FakeApi {
  constructor() {
    this.executions = new Map();
    this.calls = [];          // {method, path, query}
    this.wsConnections = [];  // {executionId, lastEventId, batch, route}
    this.claims = new Map();
    this.health = {status: 'ok', version: '0.1.0-test', provider: 'fake', store: 'memory'};
  }

  addExecution({id, status = 'RUNNING', command = 'echo test', events = [], exitCode = null,
                createdBy = 'dev@example.com'}) {
    const ex = {execution_id: id, status, command, events: [...events], exit_code: exitCode,
                created_by: createdBy, owned_by: [createdBy], image_id: 'host:latest-00000000',
                started_at: '2026-11-30T05:00:00Z', cloud: 'fake',
                completed_at: TERMINAL.has(status) ? '2026-11-30T05:00:03Z' : undefined,
                duration_seconds: TERMINAL.has(status) ? 3 : undefined};
    this.executions.set(id, ex);
    return ex;
  }

  openSockets(id) {
    return this.wsConnections.filter((c) => c.executionId === id && c.open);
  }

  // Appends events to an execution and sends them to its open WebSockets.
  push(id, events, {live = true} = {}) {
    const ex = this.executions.get(id);
    ex.events.push(...events);
    if (!live) return;
    for (const c of this.openSockets(id)) {
      if (c.batch) c.route.send(JSON.stringify(events));
      else for (const ev of events) c.route.send(JSON.stringify(ev));
    }
  }

  // Marks an execution finished and ends its WebSockets as the server does.
  finish(id, status, exitCode) {
    const ex = this.executions.get(id);
    ex.status = status;
    ex.exit_code = exitCode;
    ex.completed_at = '2026-11-30T05:00:09Z';
    for (const c of this.openSockets(id)) {
      c.route.send(JSON.stringify({type: 'disconnect', reason: 'execution_completed', status,
                                   exit_code: exitCode}));
      c.open = false;
      c.route.close({code: 1000});
    }
  }

  // Drops every open WebSocket of an execution (as a server does with slow clients: 1013).
  async drop(id) {
    for (const c of this.openSockets(id)) {
      c.open = false;
      await c.route.close({code: 1013, reason: 'backlog'});
    }
  }

  async install(page) {
    await page.route(/\/api\/v1\//, (route) => this.handle(route));
    await page.routeWebSocket(/\/api\/v1\/ws/, (ws) => this.handleSocket(ws));
  }

  handleSocket(route) {
    const url = new URL(route.url());
    const executionId = url.searchParams.get('execution_id');
    const conn = {executionId, lastEventId: url.searchParams.get('last_event_id'),
                  batch: url.searchParams.get('batch') === '1', route, open: true,
                  token: url.searchParams.get('token')};
    this.wsConnections.push(conn);
    route.onClose(() => { conn.open = false; });
    const ex = this.executions.get(executionId);
    if (!ex || conn.token !== `tok-${executionId}`) {
      conn.open = false;
      route.close({code: 1008});
      return;
    }
    const backlog = ex.events.filter((e) => !conn.lastEventId || e.event_id > conn.lastEventId);
    if (backlog.length) {
      if (conn.batch) route.send(JSON.stringify(backlog));
      else for (const ev of backlog) route.send(JSON.stringify(ev));
    }
    if (TERMINAL.has(ex.status)) {
      route.send(JSON.stringify({type: 'disconnect', reason: 'execution_completed',
                                 status: ex.status, exit_code: ex.exit_code}));
      conn.open = false;
      route.close({code: 1000});
    }
  }

  async handle(route) {
    const req = route.request();
    const url = new URL(req.url());
    const path = url.pathname.replace(/^\/api\/v1/, '');
    const method = req.method();
    this.calls.push({method, path, query: Object.fromEntries(url.searchParams)});
    const reply = (status, body) => route.fulfill({
      status, contentType: 'application/json', body: body === undefined ? '' : JSON.stringify(body),
    });
    const error = (status, code, message) => reply(status, {error: message, code});
    if (path === '/health') return reply(200, this.health);
    let m = path.match(/^\/claim\/(.+)$/);
    if (m) {
      const token = decodeURIComponent(m[1]);
      const claim = this.claims.get(token);
      if (!claim) return error(404, 'NOT_FOUND', 'claim token not found');
      if (claim.used) return error(409, 'CONFLICT', 'token already claimed');
      claim.used = true;
      return reply(200, {api_key: GOOD_KEY, user_email: claim.email, message: 'API key claimed'});
    }
    const key = req.headers()['x-api-key'];
    if (!key) return error(401, 'UNAUTHORIZED', 'API key required');
    if (key !== GOOD_KEY) return error(401, 'INVALID_API_KEY', 'invalid API key');
    if (path === '/images') {
      return reply(200, {images: [{image_id: 'host:latest-00000000', image: 'host', is_default: true}]});
    }
    if (path === '/secrets') {
      return reply(200, {secrets: [{name: 'db-pass', key_name: 'DB_PASSWORD'}], total: 1});
    }
    if (path === '/run' && method === 'POST') {
      const body = JSON.parse(req.postData() || '{}');
      if (!body.command) return error(400, 'INVALID_REQUEST', 'command is required');
      this.lastRun = body;
      const id = `e${String(this.executions.size + 1).padStart(31, '0')}`;
      this.addExecution({id, status: 'STARTING', command: body.command});
      return reply(202, {execution_id: id, status: 'STARTING', command: body.command,
                         image_id: 'host:latest-00000000', log_url: '',
                         websocket_url: `ws://${url.host}/api/v1/ws?execution_id=${id}&token=tok-${id}`});
    }
    if (path === '/executions') {
      let list = [...this.executions.values()].reverse();
      const statuses = url.searchParams.get('status');
      if (statuses) list = list.filter((e) => statuses.split(',').includes(e.status));
      const before = url.searchParams.get('before');
      if (before) list = list.slice(list.findIndex((e) => e.execution_id === before) + 1);
      const limit = Number(url.searchParams.get('limit') || 10);
      if (limit) list = list.slice(0, limit);
      return reply(200, list.map(({events, ...rest}) => rest));
    }
    m = path.match(/^\/executions\/([^/]+)(\/status|\/logs)?$/);
    if (m) {
      const ex = this.executions.get(m[1]);
      if (!ex) return error(404, 'NOT_FOUND', 'execution not found');
      if (m[2] === '/status') {
        const {events, ...rest} = ex;
        return reply(200, rest);
      }
      if (m[2] === '/logs') {
        const after = url.searchParams.get('after');
        const limit = Number(url.searchParams.get('limit') || 0);
        let events = ex.events.filter((e) => !after || e.event_id > after);
        let nextAfter;
        if (limit && events.length > limit) {
          events = events.slice(0, limit);
          nextAfter = events[events.length - 1].event_id;
        }
        const body = {execution_id: ex.execution_id, status: ex.status, events};
        if (nextAfter) body.next_after = nextAfter;
        if (!TERMINAL.has(ex.status)) {
          body.websocket_url = `ws://${url.host}/api/v1/ws?execution_id=${ex.execution_id}&token=tok-${ex.execution_id}`;
        }
        return reply(200, body);
      }
      if (method === 'DELETE') {
        if (TERMINAL.has(ex.status) || ex.status === 'TERMINATING') return reply(204);
        ex.status = 'TERMINATING';
        return reply(200, {execution_id: ex.execution_id, message: 'execution stop requested'});
      }
    }
    return error(404, 'NOT_FOUND', 'not found');
  }
}

// The home page: the run form and the executions list.

import {h, clear, formatTime, formatDuration, statusBadge, ALL_STATUSES,
        TERMINAL_STATUSES} from './dom.js';
import {api, settings, ApiError} from './api.js';
import {rememberWebsocketUrl} from './logs.js';

const REFRESH_MS = 5000;

export class ExecutionsPage {
  constructor(ctx) {
    this.ctx = ctx;
    this.limit = 25;
    this.cursors = [];       // `before` cursors of the pages above the current one
    this.before = '';        // cursor of the current page ('' = newest)
    this.statuses = new Set();
    this.autoRefresh = true;
    this.timer = null;
    this.disposed = false;
    this.element = h('div', {class: 'page page-executions'},
                     this.buildRunForm(), this.buildList());
    if (!settings.apiKey) {
      this.listMessage('No API key is set. Enter one in Settings, or claim an invitation link.',
                       true);
      ctx.showBanner('No API key is set. Enter one in Settings, or claim an invitation link.',
                     'info', true);
    } else {
      this.loadChoices();
      this.load();
    }
  }

  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
  }

  // ---- run form ----

  buildRunForm() {
    const f = this.form = {};
    f.command = h('textarea', {id: 'run-command', name: 'command', rows: '3', required: true,
                               spellcheck: 'false', autocomplete: 'off',
                               placeholder: 'e.g. echo hello && uname -a'});
    f.image = h('select', {id: 'run-image', name: 'image'},
                h('option', {value: ''}, '(server default image)'));
    f.gitRepo = h('input', {id: 'run-git-repo', name: 'git_repo', type: 'text',
                            placeholder: 'https://github.com/org/repo.git', autocomplete: 'off'});
    f.gitRef = h('input', {id: 'run-git-ref', name: 'git_ref', type: 'text',
                           placeholder: 'branch, tag or commit', autocomplete: 'off'});
    f.gitPath = h('input', {id: 'run-git-path', name: 'git_path', type: 'text',
                            placeholder: 'sub/dir', autocomplete: 'off'});
    f.timeout = h('input', {id: 'run-timeout', name: 'timeout', type: 'number', min: '0',
                            step: '1', placeholder: 'server default', inputmode: 'numeric'});
    f.envRows = h('div', {class: 'env-rows', id: 'run-env-rows'});
    f.secrets = h('fieldset', {class: 'secrets', id: 'run-secrets'},
                  h('legend', null, 'Secrets'),
                  h('p', {class: 'muted small'}, settings.apiKey ? 'Loading secrets…' : 'Set an API key to see your secrets.'));
    f.submit = h('button', {type: 'submit', class: 'primary', id: 'run-submit'}, 'Run');
    f.status = h('p', {class: 'form-status', role: 'status', 'aria-live': 'polite'});
    const form = h('form', {class: 'run-form', id: 'run-form', novalidate: true,
                            onsubmit: (e) => { e.preventDefault(); this.submit(); }},
      field('Command', f.command, 'wide'),
      h('div', {class: 'grid'},
        field('Image', f.image),
        field('Timeout (seconds)', f.timeout),
        field('Git repository', f.gitRepo),
        field('Git ref', f.gitRef),
        field('Path in repository', f.gitPath)),
      h('fieldset', {class: 'env'},
        h('legend', null, 'Environment variables'),
        f.envRows,
        h('button', {type: 'button', class: 'small-button', id: 'run-env-add',
                     onclick: () => this.addEnvRow()}, '+ Add variable')),
      f.secrets,
      h('div', {class: 'actions'}, f.submit, f.status));
    return h('details', {class: 'panel', open: true, id: 'run-panel'},
             h('summary', null, h('h2', null, 'Run a command')), form);
  }

  addEnvRow(name = '', value = '') {
    const n = this.form.envRows.children.length + 1;
    const key = h('input', {type: 'text', class: 'env-key', value: name, autocomplete: 'off',
                            'aria-label': `Variable ${n} name`, placeholder: 'NAME'});
    const val = h('input', {type: 'text', class: 'env-value', value, autocomplete: 'off',
                            'aria-label': `Variable ${n} value`, placeholder: 'value'});
    const row = h('div', {class: 'env-row'}, key, h('span', {'aria-hidden': 'true'}, '='), val);
    row.append(h('button', {type: 'button', class: 'small-button', 'aria-label': `Remove variable ${n}`,
                            onclick: () => row.remove()}, 'Remove'));
    this.form.envRows.append(row);
    key.focus();
  }

  async loadChoices() {
    try {
      const {images = []} = (await api.images()) || {};
      const select = this.form.image;
      for (const img of images) {
        const label = `${img.image}${img.is_default ? ' (default)' : ''} — ${img.image_id}`;
        select.append(h('option', {value: img.image_id}, label));
      }
      const def = images.find((i) => i.is_default);
      if (def) select.value = def.image_id;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 403)) this.ctx.showError(err);
    }
    const box = this.form.secrets;
    try {
      const {secrets = []} = (await api.secrets()) || {};
      clear(box).append(h('legend', null, 'Secrets'));
      if (!secrets.length) box.append(h('p', {class: 'muted small'}, 'No secrets you can use.'));
      for (const s of secrets) {
        const id = `secret-${s.name}`;
        box.append(h('label', {class: 'check', for: id},
                     h('input', {type: 'checkbox', id, value: s.name, class: 'secret-box'}),
                     ` ${s.name}`, h('span', {class: 'muted small'},
                                     ` → $${s.key_name || ''}${s.description ? ` — ${s.description}` : ''}`)));
      }
    } catch (err) {
      clear(box).append(h('legend', null, 'Secrets'),
                        h('p', {class: 'muted small'}, 'Secrets are not available.'));
    }
  }

  async submit() {
    const f = this.form;
    const command = f.command.value.trim();
    f.status.textContent = '';
    f.status.className = 'form-status';
    if (!command) {
      f.status.textContent = 'Enter a command to run.';
      f.status.classList.add('error');
      f.command.focus();
      return;
    }
    const body = {command};
    if (f.image.value) body.image = f.image.value;
    for (const [key, input] of [['git_repo', f.gitRepo], ['git_ref', f.gitRef],
                                ['git_path', f.gitPath]]) {
      if (input.value.trim()) body[key] = input.value.trim();
    }
    if (f.timeout.value.trim()) {
      const t = Number(f.timeout.value);
      if (!Number.isInteger(t) || t < 0) {
        f.status.textContent = 'The timeout is a whole number of seconds.';
        f.status.classList.add('error');
        return;
      }
      if (t > 0) body.timeout = t;
    }
    const env = {};
    for (const row of f.envRows.querySelectorAll('.env-row')) {
      const k = row.querySelector('.env-key').value.trim();
      if (!k) continue;
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
        f.status.textContent = `"${k}" is not a valid variable name.`;
        f.status.classList.add('error');
        return;
      }
      env[k] = row.querySelector('.env-value').value;
    }
    if (Object.keys(env).length) body.env = env;
    const secrets = [...f.secrets.querySelectorAll('.secret-box:checked')].map((b) => b.value);
    if (secrets.length) body.secrets = secrets;
    f.submit.disabled = true;
    f.status.textContent = 'Starting…';
    try {
      const res = await api.run(body);
      if (res.websocket_url) rememberWebsocketUrl(res.execution_id, res.websocket_url);
      this.ctx.navigate(`/logs?execution_id=${encodeURIComponent(res.execution_id)}`);
    } catch (err) {
      f.submit.disabled = false;
      f.status.textContent = err instanceof ApiError ? err.describe() : String(err);
      f.status.classList.add('error');
    }
  }

  // ---- executions list ----

  buildList() {
    const filters = h('fieldset', {class: 'filters'}, h('legend', null, 'Status'));
    for (const s of ALL_STATUSES) {
      const id = `filter-${s.toLowerCase()}`;
      filters.append(h('label', {class: 'check', for: id},
        h('input', {type: 'checkbox', id, value: s, onchange: (e) => {
          if (e.target.checked) this.statuses.add(s); else this.statuses.delete(s);
          this.cursors = [];
          this.before = '';
          this.load();
        }}), ` ${s}`));
    }
    this.limitSelect = h('select', {id: 'list-limit', onchange: () => {
      this.limit = Number(this.limitSelect.value);
      this.cursors = [];
      this.before = '';
      this.load();
    }}, [10, 25, 50, 100].map((n) => h('option', {value: String(n), selected: n === this.limit},
                                         String(n))));
    this.refreshBox = h('input', {type: 'checkbox', id: 'list-autorefresh', checked: true,
                                  onchange: () => {
                                    this.autoRefresh = this.refreshBox.checked;
                                    this.schedule();
                                  }});
    this.newerButton = h('button', {type: 'button', id: 'list-newer', disabled: true,
                                    onclick: () => this.page(-1)}, '← Newer');
    this.olderButton = h('button', {type: 'button', id: 'list-older', disabled: true,
                                    onclick: () => this.page(1)}, 'Older →');
    this.tbody = h('tbody');
    this.listStatus = h('p', {class: 'list-status muted', role: 'status', 'aria-live': 'polite'});
    const table = h('table', {class: 'executions', id: 'executions-table'},
      h('caption', {class: 'sr-only'}, 'Executions, newest first'),
      h('thead', null, h('tr', null,
        ['Status', 'User', 'Command', 'Started', 'Duration', 'Exit'].map(
            (t) => h('th', {scope: 'col', class: `col-${t.toLowerCase()}`}, t)))),
      this.tbody);
    return h('section', {class: 'panel', 'aria-labelledby': 'executions-heading'},
      h('div', {class: 'panel-head'},
        h('h2', {id: 'executions-heading'}, 'Executions'),
        h('div', {class: 'toolbar'},
          h('label', {class: 'check', for: 'list-autorefresh'}, this.refreshBox, ' Auto-refresh'),
          h('button', {type: 'button', id: 'list-refresh', onclick: () => this.load()}, 'Refresh'))),
      filters,
      h('div', {class: 'table-wrap'}, table),
      this.listStatus,
      h('div', {class: 'pager'}, this.newerButton, this.olderButton,
        h('label', {for: 'list-limit'}, 'Per page '), this.limitSelect));
  }

  listMessage(text, isError) {
    this.listStatus.textContent = text;
    this.listStatus.classList.toggle('error', !!isError);
  }

  page(direction) {
    if (direction > 0 && this.lastPage && this.lastPage.length) {
      this.cursors.push(this.before);
      this.before = this.lastPage[this.lastPage.length - 1].execution_id;
    } else if (direction < 0 && this.cursors.length) {
      this.before = this.cursors.pop();
    }
    this.load();
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.disposed || !this.autoRefresh) return;
    // A hidden tab does not poll; it catches up on the next tick after it is shown again.
    this.timer = setTimeout(() => (document.hidden ? this.schedule() : this.load(true)), REFRESH_MS);
  }

  async load(quiet = false) {
    clearTimeout(this.timer);
    if (!quiet) this.listMessage('Loading…');
    const query = {limit: this.limit, before: this.before || undefined};
    if (this.statuses.size) query.status = [...this.statuses].join(',');
    try {
      const list = await api.executions(query);
      if (this.disposed) return;
      const items = Array.isArray(list) ? list : (list && list.executions) || [];
      this.lastPage = items;
      this.renderRows(items);
      this.listMessage(items.length ? `${items.length} shown${this.before ? ' (older page)' : ''}`
                                    : 'No executions.');
      this.newerButton.disabled = this.cursors.length === 0 && !this.before;
      this.olderButton.disabled = items.length < this.limit;
    } catch (err) {
      if (this.disposed) return;
      this.listMessage(err instanceof ApiError ? err.describe() : String(err), true);
      this.ctx.showError(err);
    }
    this.schedule();
  }

  renderRows(items) {
    clear(this.tbody);
    const now = Date.now();
    for (const ex of items) {
      const href = `/logs?execution_id=${encodeURIComponent(ex.execution_id)}`;
      let duration = ex.duration_seconds;
      if ((duration === undefined || duration === null) && ex.started_at &&
          !TERMINAL_STATUSES.has(ex.status)) {
        duration = (now - Date.parse(ex.started_at)) / 1000;
      }
      const finished = TERMINAL_STATUSES.has(ex.status);
      this.tbody.append(h('tr', {dataset: {id: ex.execution_id}},
        h('td', {class: 'col-status'}, statusBadge(ex.status)),
        h('td', {class: 'col-user'}, ex.created_by || ''),
        h('td', {class: 'col-command'},
          h('a', {href, 'data-link': true, class: 'command-link', title: ex.execution_id},
            ex.command || ex.execution_id)),
        h('td', {class: 'col-started'}, h('time', {datetime: ex.started_at || ''},
                                          formatTime(ex.started_at))),
        h('td', {class: 'col-duration'}, formatDuration(duration)),
        h('td', {class: 'col-exit'}, finished && ex.exit_code !== null && ex.exit_code !== undefined
          ? String(ex.exit_code) : '')));
    }
  }
}

function field(label, control, extra = '') {
  return h('div', {class: `field ${extra}`}, h('label', {for: control.id}, label), control);
}

// Settings (API endpoint and key, kept in this browser's local storage) and invitation claims.

import {h} from './dom.js';
import {api, settings, ApiError, normaliseEndpoint} from './api.js';

export class SettingsPage {
  constructor(ctx) {
    this.ctx = ctx;
    this.endpoint = h('input', {id: 'settings-endpoint', type: 'url', value: settings.endpoint,
                                autocomplete: 'url', spellcheck: 'false'});
    this.key = h('input', {id: 'settings-key', type: 'password', value: settings.apiKey,
                           autocomplete: 'off', spellcheck: 'false'});
    this.showKey = h('input', {type: 'checkbox', id: 'settings-show-key', onchange: () => {
      this.key.type = this.showKey.checked ? 'text' : 'password';
    }});
    this.result = h('div', {id: 'settings-result', class: 'result', role: 'status',
                            'aria-live': 'polite'});
    this.health = h('dl', {id: 'settings-health', class: 'kv'});
    this.element = h('div', {class: 'page page-settings'},
      h('section', {class: 'panel narrow'},
        h('h2', null, 'Settings'),
        h('form', {id: 'settings-form', onsubmit: (e) => { e.preventDefault(); this.save(); }},
          h('div', {class: 'field'}, h('label', {for: 'settings-endpoint'}, 'API endpoint'),
            this.endpoint,
            h('p', {class: 'muted small'}, `The server's base URL. Default: this page's origin (${window.location.origin}).`)),
          h('div', {class: 'field'}, h('label', {for: 'settings-key'}, 'API key'), this.key,
            h('label', {class: 'check', for: 'settings-show-key'}, this.showKey, ' Show key'),
            h('p', {class: 'muted small'}, 'Stored in this browser\'s local storage only.')),
          h('div', {class: 'actions'},
            h('button', {type: 'submit', class: 'primary', id: 'settings-save'}, 'Save and test'),
            h('button', {type: 'button', id: 'settings-forget', onclick: () => this.forget()},
              'Forget key'))),
        this.result,
        h('h3', null, 'Server'),
        this.health));
    this.check();
  }

  async save() {
    settings.endpoint = normaliseEndpoint(this.endpoint.value) || window.location.origin;
    settings.apiKey = this.key.value;
    this.endpoint.value = settings.endpoint;
    await this.check(true);
  }

  forget() {
    settings.apiKey = '';
    this.key.value = '';
    this.say('The API key was removed from this browser.', 'info');
  }

  say(text, kind) {
    this.result.textContent = text;
    this.result.className = `result result-${kind}`;
  }

  // Shows /health, then checks the key with a cheap authenticated call.
  async check(saved = false) {
    this.health.replaceChildren();
    let health;
    try {
      health = await this.ctx.refreshServerInfo();
    } catch (err) {
      this.say(err instanceof ApiError ? err.describe() : String(err), 'error');
      return;
    }
    const rows = [['Status', health.status], ['Version', health.version],
                  ['Provider', health.provider], ['Region', health.region],
                  ['Store', typeof health.store === 'object' ? JSON.stringify(health.store) : health.store],
                  ['Endpoint', settings.endpoint]];
    for (const [k, v] of rows) {
      if (v === undefined || v === null || v === '') continue;
      this.health.append(h('dt', null, k), h('dd', {dataset: {key: k.toLowerCase()}}, String(v)));
    }
    if (!settings.apiKey) {
      this.say('Server reachable. No API key is set yet.', 'info');
      return;
    }
    try {
      await api.executions({limit: 1});
      this.say(saved ? 'Saved. The server accepts this API key.' : 'The server accepts this API key.',
               'ok');
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) {
        this.say('Saved. The key is valid (this role cannot list executions).', 'ok');
      } else {
        this.say(err instanceof ApiError ? err.describe() : String(err), 'error');
      }
    }
  }
}

export class ClaimPage {
  constructor(ctx, token) {
    this.ctx = ctx;
    this.token = h('input', {id: 'claim-token', type: 'text', value: token, autocomplete: 'off',
                             spellcheck: 'false', required: true});
    this.result = h('div', {id: 'claim-result', class: 'result', role: 'status',
                            'aria-live': 'polite'});
    this.button = h('button', {type: 'submit', class: 'primary', id: 'claim-submit'},
                    'Claim my API key');
    this.element = h('div', {class: 'page page-claim'},
      h('section', {class: 'panel narrow'},
        h('h2', null, 'Claim an invitation'),
        h('p', null, 'Claiming gives you your API key once. It is saved in this browser; ',
          'copy it if you also use the command line.'),
        h('form', {id: 'claim-form', onsubmit: (e) => { e.preventDefault(); this.claim(); }},
          h('div', {class: 'field'}, h('label', {for: 'claim-token'}, 'Invitation token'),
            this.token),
          h('div', {class: 'actions'}, this.button)),
        this.result));
  }

  async claim() {
    const token = this.token.value.trim();
    if (!token) {
      this.result.className = 'result result-error';
      this.result.textContent = 'Enter the invitation token.';
      return;
    }
    this.button.disabled = true;
    this.result.className = 'result';
    this.result.textContent = 'Claiming…';
    try {
      const res = await api.claim(token);
      settings.apiKey = res.api_key;
      this.result.className = 'result result-ok';
      const keyField = h('input', {type: 'text', readonly: true, id: 'claim-key',
                                   value: res.api_key, 'aria-label': 'Your API key'});
      this.result.replaceChildren(
        h('p', null, res.message || 'Your API key is ready.'),
        h('p', null, 'Signed in as ', h('strong', {id: 'claim-email'}, res.user_email || '')),
        h('div', {class: 'field'}, h('label', {for: 'claim-key'}, 'Your API key (shown once)'),
          keyField),
        h('p', null, 'For the CLI: ', h('code', null, 'runvoy configure --endpoint ',
                                         settings.endpoint, ' --api-key <key>')),
        h('p', null, h('a', {href: '/', 'data-link': true, id: 'claim-continue'},
                       'Continue to executions →')));
      keyField.addEventListener('focus', () => keyField.select());
      this.ctx.refreshServerInfo().catch(() => {});
    } catch (err) {
      this.button.disabled = false;
      this.result.className = 'result result-error';
      if (err instanceof ApiError && err.status === 409) {
        this.result.textContent = 'This invitation has already been claimed.';
      } else if (err instanceof ApiError && err.status === 404) {
        this.result.textContent = 'This invitation token is unknown or has expired (tokens last 15 minutes). Ask an admin for a new one.';
      } else {
        this.result.textContent = err instanceof ApiError ? err.describe() : String(err);
      }
    }
  }
}

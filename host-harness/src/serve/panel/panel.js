// The Integrations › Smart locks panel of the reference host: plain DOM, no
// framework. Every text that comes from the API goes in as text, never as HTML.
'use strict';

(() => {
  // The brands come from `GET /api/brands` (R30): their names, connect forms
  // and what a lock needs are data, so a new brand needs no change here.
  // A brand the list lacks (an account of a brand since removed) is named by its id.
  const brand = (id) => (state.brands || []).find((b) => b.id === id)
    || { id, name: id, credentials: [], lock_needs: '', configured: false };
  // The fields the manager types (the host supplies the others).
  const typedFields = (b) => b.credentials.filter((f) => !f.host_supplied);
  const hostFields = (b) => b.credentials.filter((f) => f.host_supplied);
  // "the A", "the A and the B": field labels in a sentence.
  const theLabels = (fields) => fields.map((f) => `the ${f.label}`).join(' and ');
  // Said on a brand's card and in its panel when the host lacks what it supplies.
  const notConfigured = (b) => `Not set up on this host: ${b.name} needs ${theLabels(hostFields(b))} from the `
    + 'host\'s configuration. Ask the operator of this host to add them.';

  const STATES = {
    none: 'No code',
    scheduled: 'Scheduled',
    creating: 'Being written to the lock',
    on_lock: 'On the lock',
    moving: 'Moving to the new window',
    deleting: 'Being deleted',
    retrying: 'Retrying',
    failed: 'Failed',
    removed: 'Removed',
    left_to_expire: 'Left to expire',
  };
  // States in which the PIN is on the lock (R19: shown only then).
  const PIN_SHOWN = new Set(['on_lock', 'moving', 'left_to_expire']);
  const POLL_MS = 2000;
  // The key lives in the tab's session storage only: gone when the tab closes.
  const KEY_STORE = 'smartlock-key';
  const OLD_KEY_STORE = 'smartlock-token';
  // What an Authorization header can carry: printable ASCII, no spaces.
  const KEY_SHAPE = /^[\x21-\x7e]+$/;
  const KEY_HELP = 'This panel acts for one PMS account. Enter the operator\'s token, or an API key the operator made '
    + 'for this PMS account, in the API key field at the top of the page. It is kept in this browser tab only, until '
    + 'the tab is closed.';

  const state = {
    service: null,
    brands: null, // GET /api/brands; null until loaded
    clockBase: 0,
    tenant: '',
    // The operator's token or an API key of the tenant: sent with every call under /api/tenants.
    key: sessionStorage.getItem(KEY_STORE) || sessionStorage.getItem(OLD_KEY_STORE) || '',
    access: 'none', // 'ok': the tenant's data is shown; otherwise the prompt is
    lockedOut: 'key', // what the prompt asks for: 'key' or 'tenant'
    generation: 0, // bumped whenever the key or the tenant changes: late answers are dropped
    accounts: null, // provider id -> account; null: unknown
    accountsError: '',
    properties: [],
    emails: [], // the outbox (alert e-mails), read while some booking's alert was sent
    drawer: null,
    doorLocks: [], // [{brand, locks}] of every connected brand, for the shared doors' dropdowns
    rendered: new Map(), // property id -> {node, sig}
  };

  const $ = (id) => document.getElementById(id);
  let uid = 0;
  const nextId = (prefix) => `${prefix}-${++uid}`;

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2), v);
      else if (v === true) node.setAttribute(k, '');
      else node.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // ---- the API -----------------------------------------------------------

  class ApiError extends Error {
    constructor(message, status, field, kind) {
      super(message);
      this.status = status;
      this.field = field;
      this.kind = kind;
    }
  }

  // The key was refused: missing, wrong or revoked (401), or another PMS account's (403).
  const isKeyRefused = (e) => e instanceof ApiError && (e.status === 401 || (e.status === 403 && e.kind === 'wrong_tenant'));

  async function request(method, url, body, headers = {}) {
    const init = { method, headers: { ...headers }, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new ApiError('The host cannot be reached. Is it still running?', 0);
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch (e) { data = null; }
    }
    if (!res.ok) {
      const kind = data && data.kind;
      let message = (data && data.error) || `The host answered HTTP ${res.status}.`;
      if (res.status === 401) {
        message = 'The API key is missing or wrong: enter the operator\'s token or an API key of this PMS account '
          + 'at the top of the page.';
      } else if (res.status === 403 && kind === 'wrong_tenant') {
        message = `This API key belongs to another PMS account, not “${state.tenant}”: open that account, `
          + 'or enter a key of this one at the top of the page.';
      }
      throw new ApiError(message, res.status, data && data.field, kind);
    }
    return data;
  }

  function keyHeaders() {
    return state.key ? { Authorization: `Bearer ${state.key}` } : {};
  }

  // A call as the current tenant: every one carries the key.
  function call(method, path, body) {
    return request(method, `/api/tenants/${encodeURIComponent(state.tenant)}${path}`, body, keyHeaders());
  }
  const enc = encodeURIComponent;

  // ---- formatting --------------------------------------------------------

  // "Thu 3 Dec, 14:30 CET": an instant on the wall clock of `tz`, with the zone's abbreviation.
  function fmtInstant(iso, tz, withYear) {
    if (!iso) return '—';
    try {
      return new Intl.DateTimeFormat('en-GB', {
        timeZone: tz || 'UTC', weekday: 'short', day: 'numeric', month: 'short',
        year: withYear ? 'numeric' : undefined, hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
        timeZoneName: 'short',
      }).format(new Date(iso));
    } catch (e) {
      return iso;
    }
  }

  // "Thu 3 Dec, 14:30 CET (Europe/Berlin)": every time the panel shows names its zone.
  function fmtZoned(iso, tz) {
    return iso ? `${fmtInstant(iso, tz)} (${tz || 'UTC'})` : '—';
  }

  // "14:30 CET": the wall-clock time of `date` in `tz`.
  function fmtTimeOfDay(date, tz) {
    try {
      return new Intl.DateTimeFormat('en-GB', {
        timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'short',
      }).format(date);
    } catch (e) {
      return '';
    }
  }

  // The browser's own zone (the reader's local time), when Intl knows it.
  const LOCAL_TZ = (() => {
    try { return Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return ''; }
  })();

  function fmtDate(ymd) {
    const [y, m, d] = (ymd || '').split('-').map(Number);
    if (!y || !m || !d) return ymd || '—';
    return new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', day: 'numeric', month: 'short', year: 'numeric' })
      .format(new Date(Date.UTC(y, m - 1, d)));
  }

  // ---- the clock ---------------------------------------------------------

  // The service's clock now (simulated in a demo), as a Date.
  function serviceNow() {
    const c = state.service && state.service.clock;
    return c ? new Date(c.unix * 1000 + (performance.now() - state.clockBase) * c.speed) : null;
  }

  // The header shows the service's clock in UTC and in the reader's own zone;
  // each property's "now" (in its zone) is kept current beside its name.
  function renderClock() {
    const c = state.service && state.service.clock;
    if (!c) return;
    const now = serviceNow();
    $('clock-kind').textContent = c.simulated ? 'Simulated clock' : 'Wall clock';
    const speed = $('clock-speed');
    speed.hidden = !c.simulated;
    speed.textContent = `${c.speed}× speed`;
    const time = $('clock-now');
    time.dateTime = now.toISOString();
    time.textContent = `${new Intl.DateTimeFormat('en-GB', {
      timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric',
      hour: '2-digit', minute: '2-digit', second: c.simulated ? undefined : '2-digit', hourCycle: 'h23',
    }).format(now)} UTC`;
    const local = $('clock-local');
    local.hidden = !LOCAL_TZ || LOCAL_TZ === 'UTC' || LOCAL_TZ === 'Etc/UTC';
    if (!local.hidden) local.textContent = `${fmtInstant(now.toISOString(), LOCAL_TZ)} your time (${LOCAL_TZ})`;
    for (const span of document.querySelectorAll('[data-tz-now]')) {
      span.textContent = `now ${fmtTimeOfDay(now, span.dataset.tzNow)}`;
    }
  }

  async function loadService() {
    state.service = await request('GET', '/api/service');
    state.clockBase = performance.now();
    renderClock();
  }

  // The brands as data (public: no key needed).
  async function loadBrands() {
    state.brands = (await request('GET', '/api/brands')).brands;
  }

  // ---- banner ------------------------------------------------------------

  function banner(message) {
    const b = $('banner');
    b.textContent = message || '';
    b.hidden = !message;
  }

  // ---- data --------------------------------------------------------------

  // A refused key is the caller's to handle (the prompt); other failures show on the cards.
  async function loadAccounts() {
    try {
      const data = await call('GET', '/accounts');
      return { accounts: Object.fromEntries(data.accounts.map((a) => [a.provider, a])), error: '' };
    } catch (e) {
      if (isKeyRefused(e)) throw e;
      return { accounts: null, error: e.message };
    }
  }

  async function loadProperties() {
    return (await call('GET', '/properties')).properties;
  }

  // The alert e-mails, read only while some booking has one (a failure leaves the last ones shown).
  async function loadEmails(properties) {
    const alerted = properties.some((p) => p.bookings.some((bk) => bk.code && bk.code.alert_sent));
    if (!alerted) return [];
    try {
      return (await call('GET', '/outbox')).emails;
    } catch (e) {
      if (isKeyRefused(e)) throw e;
      return state.emails;
    }
  }

  // The PMS accounts for the datalist: only the operator's token may list them
  // (a tenant's key is refused, and its holder simply types their own account).
  async function loadTenants() {
    let tenants = [];
    if (state.key && KEY_SHAPE.test(state.key)) {
      try {
        tenants = (await request('GET', '/api/tenants', undefined, keyHeaders())).tenants;
      } catch (e) { /* the list is a convenience */ }
    }
    $('tenant-list').replaceChildren(...tenants.map((t) => el('option', { value: t })));
    return tenants;
  }

  // ---- the key prompt ----------------------------------------------------

  // Hides everything of the tenant and shows the prompt: for the key (`what`
  // 'key') or the PMS account ('tenant'), with the reason when there is one.
  function lockOut(what, message) {
    state.generation += 1;
    state.access = 'none';
    state.accounts = null;
    state.accountsError = '';
    state.properties = [];
    state.emails = [];
    state.rendered.clear();
    if ($('drawer').open) $('drawer').close();
    for (const section of document.querySelectorAll('.tenant-only')) section.hidden = true;
    $('cards').replaceChildren();
    $('properties').replaceChildren();
    $('preview-booking').replaceChildren();
    delete $('preview-booking').dataset.sig;
    $('preview-output').textContent = '';
    $('preview-error').hidden = true;
    $('preview-info').textContent = '';
    banner('');
    $('key-prompt-title').textContent = what === 'tenant' ? 'PMS account needed' : 'API key needed';
    $('key-prompt-text').textContent = what === 'tenant'
      ? 'Enter the PMS account (tenant) this panel acts for in the PMS account field at the top of the page, then open it.'
      : KEY_HELP;
    $('key-focus').textContent = what === 'tenant' ? 'Enter the PMS account' : 'Enter the API key';
    $('key-focus').dataset.target = what === 'tenant' ? 'tenant' : 'key';
    $('key-prompt').hidden = false;
    $('key-problem').textContent = message || '';
    state.lockedOut = what;
    renderCards();
  }

  function showTenant() {
    state.access = 'ok';
    $('key-prompt').hidden = true;
    $('key-problem').textContent = '';
    for (const section of document.querySelectorAll('.tenant-only')) section.hidden = false;
  }

  function setKey(key) {
    state.key = key;
    sessionStorage.removeItem(OLD_KEY_STORE);
    if (key) sessionStorage.setItem(KEY_STORE, key);
    else sessionStorage.removeItem(KEY_STORE);
    $('key').value = key;
    $('key-forget').hidden = !key;
  }

  // `#key=...` (or the older `#token=...`) sets the key, then leaves the
  // address bar, the history and bookmarks: the fragment is removed at once.
  // Percent-decoded as written ('+' stays '+': a token may hold one).
  function keyFromFragment() {
    const pairs = location.hash.slice(1).split('&').map((p) => p.split('='));
    const found = pairs.find(([name]) => name === 'key') || pairs.find(([name]) => name === 'token');
    if (!found) return false;
    history.replaceState(history.state, '', location.pathname + location.search);
    let key = found.slice(1).join('=');
    try { key = decodeURIComponent(key); } catch (e) { /* left as written */ }
    setKey(key.trim());
    return true;
  }

  // Loads the tenant's accounts and properties and shows them, or the prompt.
  async function refreshAll() {
    banner('');
    if (!state.key) {
      lockOut('key', '');
      return;
    }
    if (!KEY_SHAPE.test(state.key)) {
      lockOut('key', 'This is not an API key: a key is letters, digits and punctuation, without spaces.');
      return;
    }
    if (!state.tenant) {
      lockOut('tenant', '');
      return;
    }
    const generation = ++state.generation;
    const [accounts, properties] = await Promise.allSettled([loadAccounts(), loadProperties()]);
    if (generation !== state.generation) return;
    const refused = [accounts, properties].find((r) => r.status === 'rejected' && isKeyRefused(r.reason));
    if (refused) {
      lockOut('key', refused.reason.message);
      return;
    }
    if (accounts.status === 'fulfilled') {
      state.accounts = accounts.value.accounts;
      state.accountsError = accounts.value.error;
    } else {
      state.accounts = null;
      state.accountsError = accounts.reason.message;
    }
    state.properties = properties.status === 'fulfilled' ? properties.value : [];
    if (properties.status === 'rejected') banner(properties.reason.message);
    try {
      state.emails = await loadEmails(state.properties);
    } catch (e) {
      lockOut('key', e.message);
      return;
    }
    if (generation !== state.generation) return;
    showTenant();
    renderCards();
    renderProperties();
    renderPreviewOptions();
  }

  // ---- cards -------------------------------------------------------------

  // The brands' cards. Without a key (or a PMS account) they are shown with
  // Connect disabled, saying what to enter first; nothing of a tenant is shown.
  function renderCards() {
    $('locks-section').hidden = false;
    const open = state.access === 'ok';
    const needed = state.lockedOut === 'tenant' ? 'Open a PMS account at the top of the page to connect.'
      : 'Enter the API key at the top of the page to connect.';
    const items = (state.brands || []).map((b) => {
      const acct = open && state.accounts && state.accounts[b.id];
      const statusId = `card-status-${b.id}`;
      // Connect is offered once the tenant is open and the host has what it supplies;
      // a connected account can always be managed (and disconnected).
      const unconfigured = !acct && !b.configured;
      let status;
      if (!open) status = el('p', { class: 'status', id: statusId }, needed);
      else if (state.accounts === null) status = el('p', { class: 'status' }, state.accountsError || 'Status unknown');
      else if (acct) status = el('p', { class: 'status connected' }, `Connected: ${acct.name}`);
      else if (unconfigured) status = el('p', { class: 'status not-configured', id: statusId }, notConfigured(b));
      else status = el('p', { class: 'status' }, 'Not connected');
      const action = acct ? 'Manage' : 'Connect';
      const disabled = !open || unconfigured;
      return el('li', {},
        el('article', { class: 'card', 'aria-labelledby': `card-${b.id}`, 'data-provider': b.id },
          el('h3', { id: `card-${b.id}` }, b.name),
          b.lock_needs ? el('p', { class: 'needs' }, `Each lock needs ${b.lock_needs}.`) : null,
          status,
          el('button', {
            type: 'button', 'aria-label': `${action} ${b.name}`, disabled,
            'aria-describedby': disabled ? statusId : null, onclick: () => openDrawer(b.id),
          }, action)));
    });
    $('cards').replaceChildren(...items);
  }

  // ---- the brand's panel -------------------------------------------------

  async function openDrawer(id, flash) {
    state.drawer = id;
    $('drawer-title').textContent = brand(id).name;
    const dialog = $('drawer');
    if (!dialog.open) dialog.showModal();
    await renderDrawer(flash);
    const first = $('drawer-body').querySelector('input');
    (first || $('drawer-title')).focus();
  }

  async function renderDrawer(flash) {
    const b = brand(state.drawer);
    const body = $('drawer-body');
    const acct = state.accounts && state.accounts[b.id];
    if (!acct) {
      body.replaceChildren(connectView(b, flash));
      return;
    }
    body.replaceChildren(el('p', { class: 'muted', role: 'status' }, 'Loading lock assignments…'));
    const view = await connectedView(b, acct, flash);
    if (state.drawer === b.id) body.replaceChildren(view);
  }

  // The brand's connect form, built from its credential fields: the manager
  // types the fields that are not host-supplied (a secret one masked), each
  // with its label and help; the host adds the others when connecting.
  function connectView(b, flash) {
    const head = flash ? el('p', { class: flash.kind, role: 'status' }, flash.text) : null;
    if (!b.configured) return el('div', {}, head, el('p', { class: 'notice not-configured' }, notConfigured(b)));
    const fields = typedFields(b);
    const error = el('p', { class: 'error', role: 'alert', id: nextId('connect-error') });
    const rows = fields.map((f) => {
      const id = nextId(`cred-${f.name}`);
      const helpId = f.help ? `${id}-help` : null;
      const input = el('input', {
        id, name: f.name, type: f.secret ? 'password' : 'text', autocomplete: 'off',
        spellcheck: 'false', required: true, 'aria-describedby': [helpId, error.id].filter(Boolean).join(' '),
      });
      const row = el('div', { class: 'field' }, el('label', { for: id }, f.label), input,
        helpId ? el('span', { class: 'help', id: helpId }, f.help) : null);
      return { f, input, row };
    });
    const inputs = rows.map((r) => r.input);
    const hintId = nextId('connect-hint');
    const submit = el('button', { type: 'submit', disabled: true, 'aria-describedby': hintId }, `Connect ${b.name}`);
    const hint = el('p', { class: 'help', id: hintId });
    // Connect is offered once every credential is entered.
    const ready = () => {
      const missing = rows.filter((r) => !r.input.value.trim()).map((r) => r.f);
      submit.disabled = missing.length > 0;
      hint.textContent = missing.length ? `Enter ${theLabels(missing)} to connect.` : '';
    };
    inputs.forEach((i) => i.addEventListener('input', ready));
    ready();
    const supplied = hostFields(b);
    const form = el('form', { class: 'connect-form', novalidate: true, 'aria-labelledby': 'drawer-title' },
      rows.map((r) => r.row),
      supplied.length ? el('p', { class: 'help host-supplied' },
        `${theLabels(supplied).replace(/^t/, 'T')} come${supplied.length === 1 ? 's' : ''} from this host's configuration.`) : null,
      el('div', {}, submit, hint),
      error);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      inputs.forEach((i) => i.removeAttribute('aria-invalid'));
      const credentials = Object.fromEntries(inputs.map((i) => [i.name, i.value]));
      submit.disabled = true;
      submit.textContent = 'Connecting…';
      try {
        const account = await call('POST', `/accounts/${enc(b.id)}`, credentials);
        state.accounts = state.accounts || {};
        state.accounts[b.id] = account;
        renderCards();
        await renderDrawer({ kind: 'success', text: `${b.name} is connected.` });
        $('drawer-title').focus();
      } catch (e) {
        error.textContent = e.message;
        const bad = inputs.find((i) => i.name === e.field);
        if (bad) bad.setAttribute('aria-invalid', 'true');
        submit.textContent = `Connect ${b.name}`;
        ready();
        (bad || inputs[0] || submit).focus();
      }
    });
    const intro = fields.length ? `Enter ${theLabels(fields)} of your ${b.name} account.` : '';
    const needs = b.lock_needs ? ` Each lock needs ${b.lock_needs} for its codes to be managed remotely.` : '';
    return el('div', {}, head, intro || needs ? el('p', {}, `${intro}${needs}`.trim()) : null, form);
  }

  function accountRow(b, acct) {
    const disconnect = el('button', { type: 'button', class: 'danger', 'aria-label': `Disconnect ${b.name}` }, 'Disconnect');
    const row = el('div', { class: 'account' },
      el('span', {}, 'Connected account: ', el('span', { class: 'name', id: 'account-name' }, acct.name)),
      disconnect);
    disconnect.addEventListener('click', () => {
      disconnect.hidden = true;
      const error = el('p', { class: 'error', role: 'alert' });
      const yes = el('button', { type: 'button', class: 'danger solid' }, `Yes, disconnect ${b.name}`);
      const no = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const confirm = el('div', { class: 'confirm', role: 'group', 'aria-label': 'Confirm disconnection' },
        el('p', { class: 'notice' }, `Disconnecting removes every ${b.name} lock assignment and stops new codes. `
          + 'Codes already on locks stay until they expire at check-out.'),
        yes, no, error);
      row.append(confirm);
      yes.focus();
      no.addEventListener('click', () => { confirm.remove(); disconnect.hidden = false; disconnect.focus(); });
      yes.addEventListener('click', async () => {
        yes.disabled = true;
        try {
          await call('DELETE', `/accounts/${enc(b.id)}`);
          if (state.accounts) delete state.accounts[b.id];
          renderCards();
          await renderDrawer({ kind: 'success', text: `${b.name} is disconnected. Codes already on locks stay until they expire.` });
          $('drawer-title').focus();
        } catch (e) {
          error.textContent = e.message;
          yes.disabled = false;
        }
      });
    });
    return row;
  }

  async function connectedView(b, acct, flash) {
    const others = (state.brands || []).filter((x) => x.id !== b.id && state.accounts && state.accounts[x.id]);
    const [locks, props, ...otherLocks] = await Promise.all([
      call('GET', `/accounts/${enc(b.id)}/locks`).then((d) => d.locks, (e) => e),
      call('GET', '/properties').then((d) => d.properties, (e) => e),
      ...others.map((x) => call('GET', `/accounts/${enc(x.id)}/locks`).then((d) => d.locks, () => [])),
    ]);
    // Shared doors may be of any connected brand: their dropdowns list every brand's locks, in the brands' order.
    const byBrand = new Map(others.map((x, i) => [x.id, otherLocks[i]]));
    byBrand.set(b.id, locks instanceof Error ? [] : locks);
    state.doorLocks = (state.brands || []).filter((x) => byBrand.has(x.id)).map((x) => ({ brand: x, locks: byBrand.get(x.id) }));
    const view = el('div', {},
      flash ? el('p', { class: flash.kind, role: 'status' }, flash.text) : null,
      accountRow(b, acct),
      el('h3', { id: 'assign-title' }, 'Lock assignments'));
    if (locks instanceof Error) view.append(el('p', { class: 'error', role: 'alert' }, `The locks could not be loaded: ${locks.message}`));
    if (props instanceof Error) {
      view.append(el('p', { class: 'error', role: 'alert' }, `The properties could not be loaded: ${props.message}`));
      return view;
    }
    state.properties = props;
    const lockList = locks instanceof Error ? [] : locks;
    const filter = el('input', {
      type: 'search', class: 'filter', id: 'filter', placeholder: 'Filter properties...',
      'aria-label': 'Filter properties', autocomplete: 'off', 'aria-controls': 'assignment-list',
    });
    const count = el('p', { class: 'count', id: 'filter-count', role: 'status' });
    const list = el('ul', { class: 'assignments', id: 'assignment-list', 'aria-labelledby': 'assign-title' },
      props.map((p) => {
        const li = el('li', { class: 'assignment', 'data-property': p.id });
        renderAssignment(li, b, p, lockList);
        return li;
      }));
    const applyFilter = () => {
      const q = filter.value.trim().toLowerCase();
      let shown = 0;
      for (const li of list.children) {
        const p = props.find((x) => x.id === li.dataset.property);
        const match = !q || p.name.toLowerCase().includes(q) || p.id.toLowerCase().includes(q);
        li.hidden = !match;
        if (match) shown += 1;
      }
      count.textContent = q ? `${shown} of ${props.length} properties match` : `${props.length} properties`;
    };
    filter.addEventListener('input', applyFilter);
    applyFilter();
    if (!props.length) view.append(el('p', { class: 'muted' }, 'No properties yet: the PMS adds them through the API.'));
    else {
      view.append(el('p', { class: 'help' }, `Under each property, its shared doors: an entrance or gate other properties `
        + `use too, of any connected brand. Each guest also gets a code there (at most ${MAX_DOORS} per property).`));
    }
    view.append(filter, count, list);
    return view;
  }

  // What the dropdown says beside a lock: what it needs to be managed remotely,
  // whether its bridge (gateway, ...) is offline, and which other properties use it.
  // The lock list says nothing of being online yet: `online: false` (on the lock
  // or its `remote`) is read when the API gives it; meanwhile codes of this
  // tenant waiting for that lock's bridge say it does not answer.
  function lockNotes(b, lock, p) {
    const notes = [];
    if (!lock.assignable) notes.push(`needs ${lock.needs || 'remote access'}`);
    const on = (q) => q.assignment && q.assignment.provider === b.id && q.assignment.lock_id === lock.id;
    const word = linkWord(lock.remote);
    const path = word === 'lock' ? '' : `${word} `;
    const waiting = state.properties.filter(on)
      .reduce((n, q) => n + q.bookings.filter((bk) => waitingFor(q, bk.code)).length, 0);
    // R28: the plugin's own record of an outage (`unreachable_since`).
    if (lock.unreachable_since) notes.push(`${path}unreachable since ${fmtZoned(lock.unreachable_since, p.timezone)}`);
    else if (lock.online === false || (lock.remote && lock.remote.online === false)) notes.push(`${path}offline`);
    else if (waiting) notes.push(`${path}not answering, ${waiting} code${waiting === 1 ? '' : 's'} waiting`);
    const others = state.properties.filter((q) => q.id !== p.id && on(q)).map((q) => q.name);
    if (others.length) notes.push(`used by ${others.join(', ')}`);
    return notes;
  }

  // After an assignment changes, every row's dropdown says again who uses which lock.
  function relabelLocks(b, locks) {
    for (const li of document.querySelectorAll('#assignment-list li.assignment')) {
      const p = state.properties.find((q) => q.id === li.dataset.property);
      if (!p) continue;
      for (const option of li.querySelectorAll('select option[value]')) {
        const lock = locks.find((l) => l.id === option.value);
        if (!lock) continue;
        const notes = lockNotes(b, lock, p);
        option.textContent = notes.length ? `${lock.name} (${notes.join('; ')})` : lock.name;
      }
    }
  }

  function renderAssignment(li, b, p, locks, flash) {
    const a = p.assignment;
    const mine = a && a.provider === b.id;
    const selectId = nextId('lock');
    const errorId = nextId('err');
    const error = el('p', { class: 'error', role: 'alert', id: errorId });
    const ok = el('p', { class: 'success', role: 'status' }, flash || '');
    const options = [el('option', { value: '', disabled: true, selected: !mine }, `Choose a lock of ${b.name}`)];
    for (const l of locks) {
      const notes = lockNotes(b, l, p);
      const label = notes.length ? `${l.name} (${notes.join('; ')})` : l.name;
      options.push(el('option', { value: l.id, disabled: !l.assignable, selected: mine && a.lock_id === l.id }, label));
    }
    if (mine && !locks.some((l) => l.id === a.lock_id)) {
      options.push(el('option', { value: a.lock_id, selected: true }, a.lock_name));
    }
    const select = el('select', { id: selectId, 'aria-describedby': errorId }, options);
    select.addEventListener('change', async () => {
      error.textContent = '';
      ok.textContent = '';
      select.disabled = true;
      try {
        const next = await call('PUT', `/properties/${enc(p.id)}/assignment`, { provider: b.id, lock_id: select.value });
        p.assignment = next;
        renderAssignment(li, b, p, locks, `${next.lock_name} is assigned to ${p.name}.`);
        relabelLocks(b, locks);
        li.querySelector('select').focus();
      } catch (e) {
        select.value = mine ? a.lock_id : '';
        select.disabled = false;
        error.textContent = e.message;
      }
    });
    const parts = [
      el('div', { class: 'assignment-head' },
        el('label', { for: selectId, class: 'prop-name' }, p.name, ' ', el('span', { class: 'tz' }, `(${p.timezone})`)),
        select),
    ];
    // The assigned lock's marks in full (a narrow dropdown cuts its label short).
    const current = mine && locks.find((l) => l.id === a.lock_id);
    const currentNotes = current ? lockNotes(b, current, p) : [];
    if (currentNotes.length) parts.push(el('p', { class: 'lock-note' }, `${current.name}: ${currentNotes.join('; ')}.`));
    if (a && !mine) {
      const other = brand(a.provider).name;
      parts.push(el('p', { class: 'other-lock' },
        `Has the ${other} lock “${a.lock_name}”. Remove it in the ${other} panel before assigning a lock of ${b.name}.`));
    }
    if (mine) parts.push(settingsForm(li, b, p, locks, error, ok));
    parts.push(error, ok);
    const doors = el('div', { class: 'doors' });
    renderDoors(doors, p);
    parts.push(doors);
    li.replaceChildren(...parts);
  }

  // ---- shared doors (R26) -------------------------------------------------

  // A property's shared doors: locks several properties use (an entrance, a
  // gate), of any connected brand. Each has its own dropdown and a remove
  // button; at most MAX_DOORS. Every change reloads the property's doors.
  const MAX_DOORS = 4;
  const doorValue = (provider, lockId) => JSON.stringify([provider, lockId]);

  // The locks of every connected brand, grouped by brand; `door` (if any) stays
  // listed even when its brand's list no longer has it.
  function doorOptions(p, door, placeholder) {
    const chosen = door ? doorValue(door.provider, door.lock_id) : '';
    const own = p.assignment ? doorValue(p.assignment.provider, p.assignment.lock_id) : '';
    const taken = new Set((p.doors || []).map((d) => doorValue(d.provider, d.lock_id)));
    const options = [el('option', { value: '', disabled: true, selected: !chosen }, placeholder)];
    let listed = false;
    for (const g of state.doorLocks) {
      options.push(el('optgroup', { label: g.brand.name }, g.locks.map((l) => {
        const value = doorValue(g.brand.id, l.id);
        listed = listed || value === chosen;
        const notes = [];
        if (!l.assignable) notes.push(`needs ${l.needs || 'remote access'}`);
        if (value === own) notes.push(`${p.name}'s own lock`);
        else if (value !== chosen && taken.has(value)) notes.push('already a shared door here');
        return el('option', {
          value, selected: value === chosen, disabled: value !== chosen && (!l.assignable || value === own || taken.has(value)),
        }, notes.length ? `${l.name} (${notes.join('; ')})` : l.name);
      })));
    }
    if (door && !listed) {
      options.push(el('option', { value: chosen, selected: true }, `${door.lock_name} (${brand(door.provider).name})`));
    }
    return options;
  }

  function renderDoors(box, p, flash, problem) {
    const doors = p.doors || [];
    // Hidden while empty: a row's own messages stay the only ones until a door changes.
    const error = el('p', { class: 'error', role: 'alert', id: nextId('door-err'), hidden: !problem }, problem || '');
    const ok = el('p', { class: 'success', role: 'status', hidden: !flash }, flash || '');
    const reload = async (message) => {
      p.doors = (await call('GET', `/properties/${enc(p.id)}/doors`)).doors;
      renderDoors(box, p, message);
    };
    // Runs the API calls of one change; on a refusal shows what is there now, with the reason.
    const change = async (control, calls, message) => {
      error.hidden = true;
      ok.hidden = true;
      control.disabled = true;
      try {
        for (const c of calls) await c();
        await reload(message);
        const again = box.querySelector('[data-focus-door]');
        if (again) again.focus();
      } catch (e) {
        try { p.doors = (await call('GET', `/properties/${enc(p.id)}/doors`)).doors; } catch (ignored) { /* keep the rows shown */ }
        renderDoors(box, p, '', e.message);
        const again = box.querySelector('select');
        if (again) again.focus();
      }
    };
    const add = (provider, lockId) => () => call('POST', `/properties/${enc(p.id)}/doors`, { provider, lock_id: lockId });
    const remove = (d) => () => call('DELETE', `/properties/${enc(p.id)}/doors/${enc(d.provider)}/${enc(d.lock_id)}`);
    const rows = doors.map((d, i) => {
      const id = nextId('door');
      const select = el('select', { id, 'aria-describedby': error.id }, doorOptions(p, d, 'Choose a lock'));
      select.addEventListener('change', () => {
        const [provider, lockId] = JSON.parse(select.value);
        change(select, [add(provider, lockId), remove(d)], `The shared door is now ${select.selectedOptions[0].textContent}.`);
      });
      const drop = el('button', { type: 'button', class: 'danger', 'aria-label': `Remove the shared door ${d.lock_name} from ${p.name}` }, 'Remove');
      drop.addEventListener('click', () => change(drop, [remove(d)], `${d.lock_name} is no longer a shared door of ${p.name}.`));
      return el('li', { class: 'door', 'data-door': doorValue(d.provider, d.lock_id) },
        el('label', { for: id }, `Shared door ${i + 1}`), select, drop);
    });
    const list = el('ul', { class: 'door-list', 'aria-label': `Shared doors of ${p.name}` }, rows);
    const full = doors.length >= MAX_DOORS;
    const addButton = el('button', {
      type: 'button', class: 'secondary', disabled: full || !state.doorLocks.length, 'data-focus-door': '',
      'aria-label': `Add a shared door to ${p.name}`,
    }, 'Add shared door');
    addButton.addEventListener('click', () => {
      addButton.hidden = true;
      const id = nextId('door');
      const select = el('select', { id, 'aria-describedby': error.id }, doorOptions(p, null, 'Choose the door\'s lock'));
      const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
      const row = el('li', { class: 'door new' }, el('label', { for: id }, 'New shared door'), select, cancel);
      select.addEventListener('change', () => {
        const [provider, lockId] = JSON.parse(select.value);
        change(select, [add(provider, lockId)], `${select.selectedOptions[0].textContent} is a shared door of ${p.name}.`);
      });
      cancel.addEventListener('click', () => { row.remove(); addButton.hidden = false; addButton.focus(); });
      list.append(row);
      select.focus();
    });
    box.replaceChildren(
      el('div', { class: 'doors-head' }, el('span', { class: 'doors-title' }, 'Shared doors'), addButton,
        full ? el('span', { class: 'help' }, `${p.name} has ${MAX_DOORS} shared doors, the most it can have.`) : null),
      list, error, ok);
  }

  function settingsForm(li, b, p, locks, error, ok) {
    const a = p.assignment;
    const days = el('input', {
      type: 'number', name: 'days_before', min: 1, max: 14, step: 1, inputmode: 'numeric', value: a.days_before,
      'aria-describedby': error.id,
    });
    const margin = el('input', {
      type: 'number', name: 'margin_minutes', min: 0, max: 240, step: 1, inputmode: 'numeric', value: a.margin_minutes,
      'aria-describedby': error.id,
    });
    const backups = el('input', {
      type: 'number', name: 'backup_codes', min: 0, max: 5, step: 1, inputmode: 'numeric', value: a.backup_codes || 0,
      'aria-describedby': error.id,
    });
    const inputs = [days, margin, backups];
    const remove = el('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${a.lock_name} from ${p.name}` }, 'Remove');
    const save = el('button', { type: 'submit', class: 'secondary' }, 'Save settings');
    const form = el('form', { class: 'settings', novalidate: true, 'aria-label': `Code settings for ${p.name}` },
      el('label', {}, 'Generate codes', days, 'days before arrival'),
      el('label', {}, 'Access margin', margin, 'minutes'),
      el('label', { title: 'Spare codes kept on the lock for a guest whose own code could not be set in time (0 to 5)' },
        'Backup codes', backups),
      save, remove);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.textContent = '';
      ok.textContent = '';
      inputs.forEach((i) => i.removeAttribute('aria-invalid'));
      const value = (input, what) => {
        const n = input.value.trim() === '' ? NaN : Number(input.value);
        if (!Number.isInteger(n)) {
          input.setAttribute('aria-invalid', 'true');
          throw new ApiError(`Enter a whole number of ${what}.`, 0, input.name);
        }
        return n;
      };
      save.disabled = true;
      try {
        const body = {
          provider: b.id, lock_id: a.lock_id,
          days_before: value(days, 'days'), margin_minutes: value(margin, 'minutes'),
          backup_codes: value(backups, 'backup codes'),
        };
        const next = await call('PUT', `/properties/${enc(p.id)}/assignment`, body);
        p.assignment = next;
        const spare = next.backup_codes
          ? `, and ${next.backup_codes} backup code${next.backup_codes === 1 ? ' is' : 's are'} kept on the lock` : '';
        renderAssignment(li, b, p, locks,
          `Saved: codes are generated ${next.days_before} days before arrival, with a ${next.margin_minutes}-minute access margin${spare}.`);
      } catch (e) {
        error.textContent = e.message;
        const bad = inputs.find((i) => i.name === e.field);
        if (bad) {
          bad.setAttribute('aria-invalid', 'true');
          bad.focus();
        }
        save.disabled = false;
      }
    });
    remove.addEventListener('click', async () => {
      error.textContent = '';
      ok.textContent = '';
      remove.disabled = true;
      try {
        await call('DELETE', `/properties/${enc(p.id)}/assignment`);
        p.assignment = null;
        renderAssignment(li, b, p, locks, `${a.lock_name} is removed from ${p.name}.`);
        relabelLocks(b, locks);
        li.querySelector('select').focus();
      } catch (e) {
        error.textContent = e.message;
        remove.disabled = false;
      }
    });
    return form;
  }

  // ---- properties and bookings -------------------------------------------

  // How codes reach a lock, in words, from the API's `remote` alone (any kind
  // string, no brand in sight): through a device of its own when `remote.id`
  // names one ("bridge", "gateway", ...: the kind as written, `_` and `-` as
  // spaces), else the lock itself (Wi-Fi, a keypad, a cloud: "lock").
  const KIND_WORDS = { wifi: 'Wi-Fi' };
  function linkWord(remote) {
    if (!remote || !remote.id) return 'lock';
    const kind = String(remote.kind || '').trim();
    return KIND_WORDS[kind] || kind.replace(/[_-]+/g, ' ') || 'link';
  }
  // "the lock's bridge" or "the lock".
  const linkPhrase = (remote) => (linkWord(remote) === 'lock' ? 'the lock' : `the lock's ${linkWord(remote)}`);

  // What a code in a retry waits for: the word for the property's bridge (or
  // gateway, ..., or the lock itself) when its last error is about that path
  // being offline, else null.
  // The code status carries no "offline" flag yet: `offline_since`, when the
  // API gives it, settles it; otherwise the plugin's sentence does.
  function waitingFor(p, c) {
    if (!c || !['retrying', 'creating'].includes(c.state) || !c.last_error) return null;
    const a = p.assignment;
    if (!a || a.lock_id !== c.lock_id) return null;
    const word = linkWord(a.remote);
    const error = c.last_error.toLowerCase();
    return c.offline_since || error.includes(word.toLowerCase()) || error.includes('offline') ? word : null;
  }

  // The state's own next step, worded for that state (not one ambiguous "next attempt").
  function nextStep(p, bk, c) {
    const tz = p.timezone;
    if (!c) return '—';
    const at = c.next_attempt;
    switch (c.state) {
      case 'scheduled': return `Created on ${fmtZoned(c.create_at || at, tz)}`;
      case 'creating': return at ? `Checked again at ${fmtZoned(at, tz)}` : 'Being written now';
      case 'retrying': return at ? `Retry at ${fmtZoned(at, tz)}` : 'Retry soon';
      case 'on_lock': return `Removed after ${fmtZoned(at || (c.window && c.window.end), tz)}`;
      case 'moving': return at ? `Moved at ${fmtZoned(at, tz)}` : 'Being moved now';
      case 'deleting': return at ? `Deleted at ${fmtZoned(at, tz)}` : 'Being deleted now';
      case 'failed': return 'No more attempts';
      case 'left_to_expire': return `Expires at ${fmtZoned(c.window && c.window.end, tz)}`;
      default: return bk.status === 'cancelled' || !p.assignment ? '—' : (at ? `Planned on ${fmtZoned(at, tz)}` : '—');
    }
  }

  // The alert e-mail (R12) of a booking, from the outbox. The outbox entries
  // name their booking only in the text ("(booking ID)"), so that is matched.
  function alertMailFor(bk) {
    const mark = `(booking ${bk.id})`;
    return state.emails.find((m) => (m.body || '').includes(mark)) || null;
  }

  function mailView(p, mail, open) {
    return el('details', { class: 'alert-mail', open },
      el('summary', {}, `Alert e-mail to the account owner, ${fmtZoned(mail.at, p.timezone)}`),
      el('p', { class: 'mail-subject' }, el('span', { class: 'label' }, 'Subject: '), mail.subject),
      el('pre', { class: 'mail-body' }, mail.body));
  }

  // Advice on a Failed code (and the alert e-mail when the outbox has it), or
  // the alert e-mail alone for a code still tried: a row under the booking's.
  function detailRow(p, bk, c, columns) {
    if (!c || (c.state !== 'failed' && !c.alert_sent)) return null;
    const a = p.assignment;
    const mail = c.alert_sent ? alertMailFor(bk) : null;
    const parts = [];
    if (c.state === 'failed') {
      const guest = bk.guest_name || 'the guest';
      const path = a ? linkPhrase(a.remote) : 'the lock';
      parts.push(el('div', { class: 'advice' },
        el('p', {}, el('strong', {}, 'What to do: '),
          `this code never reached the lock and is no longer tried. Give ${guest} another way in: an offline code `
          + `from the lock's own app, or a key handover. Then check that ${path} is powered and online, so the next `
          + 'guests\' codes reach the lock.')));
    }
    if (mail) parts.push(mailView(p, mail, c.state === 'failed'));
    else if (c.alert_sent) parts.push(el('p', { class: 'muted' }, 'The account owner was alerted by e-mail.'));
    return el('tr', { class: 'detail' }, el('td', { colspan: columns, class: 'detail' }, parts));
  }

  const COLUMNS = ['Guest', 'Stay', 'Code', 'PIN', 'Valid', 'Next step', 'Message'];

  // One booking: its row, and a detail row when there is advice or an alert e-mail.
  function bookingRows(p, bk) {
    const c = bk.code;
    const stateName = c ? c.state : 'none';
    const waiting = waitingFor(p, c);
    let label = STATES[stateName] || stateName;
    if (bk.status === 'cancelled' && stateName === 'none') label = 'Cancelled';
    if (waiting) {
      label = c.offline_since
        ? `Waiting for the ${waiting} (offline since ${fmtZoned(c.offline_since, p.timezone)})`
        : `Waiting for the ${waiting}`;
    }
    const cell = (name, cls, ...content) => el('td', { class: cls, 'data-label': name }, ...content);
    const stateCell = cell('Code', 'code-state',
      el('span', { class: `state state-${waiting ? 'waiting' : stateName}` }, label),
      c && c.last_error ? el('div', { class: 'last-error' }, `Last error: ${c.last_error}`) : null,
      c && c.alert_sent ? el('div', { class: 'muted' }, 'Manager alerted') : null,
      // Each shared door's code (R26): its own state, and its PIN when it differs.
      ((c && c.doors) || []).map((d) => el('div', { class: 'door-code' }, `${d.door}: ${STATES[d.state] || d.state}`,
        d.pin && PIN_SHOWN.has(d.state) && d.pin !== c.pin ? `, PIN ${d.pin}` : '',
        d.alert_sent ? ' (manager alerted)' : '')));
    const pin = c && c.pin && PIN_SHOWN.has(c.state) ? c.pin : '—';
    const window = c && c.window
      ? `${fmtInstant(c.window.start, p.timezone)} → ${fmtInstant(c.window.end, p.timezone)} (${p.timezone})`
      : '—';
    const main = el('tr', { 'data-booking': bk.id },
      el('th', { scope: 'row', 'data-label': 'Guest' }, bk.guest_name || bk.id,
        bk.status === 'cancelled' ? el('div', { class: 'muted' }, 'cancelled') : null),
      cell('Stay', 'stay', `${fmtDate(bk.check_in)} → ${fmtDate(bk.check_out)}`),
      stateCell,
      cell('PIN', 'pin', pin),
      cell('Valid', 'window', window),
      cell('Next step', 'next-step', nextStep(p, bk, c)),
      cell('Message', 'message', el('button', {
        type: 'button', class: 'secondary', 'data-focus-key': `preview-${bk.id}`,
        'aria-label': `Preview message for ${bk.guest_name || bk.id}`, onclick: () => previewFor(bk.id),
      }, 'Preview')));
    return el('tbody', { class: 'booking', 'data-booking': bk.id }, main, detailRow(p, bk, c, COLUMNS.length));
  }

  function propertyContent(p) {
    const a = p.assignment;
    const lock = a ? `${brand(a.provider).name} lock “${a.lock_name}”` : 'no lock';
    const doors = (p.doors || []).length
      ? ` · shared door${p.doors.length === 1 ? '' : 's'} ${p.doors.map((d) => `“${d.lock_name}”`).join(', ')}` : '';
    const summary = el('summary', {},
      el('span', { class: 'prop-name' }, p.name),
      el('span', { class: 'meta' }, ` · ${p.timezone}, `, el('span', { class: 'tz-now', 'data-tz-now': p.timezone }),
        ` · ${lock}${doors} · ${p.bookings.length} booking${p.bookings.length === 1 ? '' : 's'}`));
    if (!p.bookings.length) return [summary, el('p', { class: 'muted' }, 'No bookings.')];
    const table = el('table', { class: 'bookings' },
      el('caption', { class: 'visually-hidden' }, `Bookings of ${p.name}, times in ${p.timezone}`),
      el('thead', {}, el('tr', {}, COLUMNS.map((h) => el('th', { scope: 'col' }, h)))),
      p.bookings.map((bk) => bookingRows(p, bk)));
    return [summary, el('div', { class: 'table-wrap' }, table)];
  }

  // Updates only the properties whose data changed, keeping open sections and focus.
  function renderProperties() {
    const root = $('properties');
    if (!state.properties.length) {
      state.rendered.clear();
      root.replaceChildren(el('p', { class: 'muted' }, 'No properties yet: the PMS adds them through the API.'));
      return;
    }
    const seen = new Set();
    const nodes = state.properties.map((p) => {
      seen.add(p.id);
      const sig = JSON.stringify([p, p.bookings.map((bk) => bk.code && bk.code.alert_sent && alertMailFor(bk))]);
      let entry = state.rendered.get(p.id);
      if (!entry) {
        entry = { node: el('details', { class: 'property', 'data-property': p.id }), sig: '' };
        state.rendered.set(p.id, entry);
      }
      if (entry.sig !== sig) {
        const focusKey = entry.node.contains(document.activeElement) && document.activeElement.dataset
          ? document.activeElement.dataset.focusKey : null;
        entry.node.replaceChildren(...propertyContent(p));
        entry.sig = sig;
        if (focusKey) {
          const again = entry.node.querySelector(`[data-focus-key="${CSS.escape(focusKey)}"]`);
          if (again) again.focus();
        }
      }
      return entry.node;
    });
    for (const id of [...state.rendered.keys()]) if (!seen.has(id)) state.rendered.delete(id);
    const current = [...root.children];
    if (current.length !== nodes.length || current.some((n, i) => n !== nodes[i])) root.replaceChildren(...nodes);
    renderClock();
  }

  // ---- message preview ---------------------------------------------------

  function renderPreviewOptions() {
    const select = $('preview-booking');
    const chosen = select.value;
    const groups = state.properties.filter((p) => p.bookings.length).map((p) => el('optgroup', { label: p.name },
      p.bookings.map((bk) => el('option', { value: bk.id, selected: bk.id === chosen },
        `${bk.guest_name || bk.id} · ${fmtDate(bk.check_in)}${bk.status === 'cancelled' ? ' (cancelled)' : ''}`))));
    const sig = JSON.stringify(state.properties.map((p) => [p.name, p.bookings.map((b) => [b.id, b.guest_name, b.check_in, b.status])]));
    if (select.dataset.sig !== sig) {
      select.replaceChildren(...groups);
      select.dataset.sig = sig;
      if (chosen) select.value = chosen;
    }
  }

  function previewFor(bookingId) {
    const select = $('preview-booking');
    select.value = bookingId;
    $('preview-template').focus();
    $('preview-title').scrollIntoView({ block: 'start' });
  }

  // The booking's own fields, filled as a PMS fills its variables before
  // sending a message: the plugin fills only the code (R19, R20).
  function bookingFields(bookingId) {
    for (const p of state.properties) {
      const bk = p.bookings.find((x) => x.id === bookingId);
      if (!bk) continue;
      const time = (own, fallback) => own || fallback || '';
      return {
        guest_name: bk.guest_name || '',
        property_name: p.name,
        check_in: fmtDate(bk.check_in),
        check_out: fmtDate(bk.check_out),
        check_in_time: time(bk.check_in_time, p.check_in_time),
        check_out_time: time(bk.check_out_time, p.check_out_time),
        booking_id: bk.id,
      };
    }
    return {};
  }

  // Fills `{{name}}` for each of the booking's fields that has a value; the rest stay as written.
  function fillBookingFields(text, fields) {
    return text.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (whole, name) => (fields[name] ? fields[name] : whole));
  }

  async function submitPreview(event) {
    event.preventDefault();
    const error = $('preview-error');
    const info = $('preview-info');
    error.hidden = true;
    info.textContent = '';
    const bookingId = $('preview-booking').value;
    if (!bookingId) {
      error.textContent = 'Choose a booking first.';
      error.hidden = false;
      return;
    }
    try {
      const template = $('preview-template').value;
      const data = await call('POST', `/bookings/${enc(bookingId)}/render`, { template });
      const wanted = /\{\{\s*(smartlock_code|nuki_code)\s*\}\}/.test(template);
      const filled = data.filled.includes('smartlock_code') || data.filled.includes('nuki_code');
      // The plugin's text first, so a guest's name can never be read as a code variable.
      $('preview-output').textContent = fillBookingFields(data.text, bookingFields(bookingId));
      if (wanted && !filled) {
        info.textContent = 'No code yet: this booking\'s code is not on the lock yet, so {{smartlock_code}} is shown '
          + 'as written. The PMS sends the message once the code is there.';
      }
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
    }
  }

  // ---- start -------------------------------------------------------------

  async function poll() {
    if (document.visibilityState !== 'visible' || state.access !== 'ok') return;
    const generation = state.generation;
    try {
      const properties = await loadProperties();
      const emails = await loadEmails(properties);
      if (generation !== state.generation) return;
      state.properties = properties;
      state.emails = emails;
      renderProperties();
      renderPreviewOptions();
      banner('');
    } catch (e) {
      if (generation !== state.generation) return;
      if (isKeyRefused(e)) lockOut('key', e.message);
      else banner(e.message);
    }
  }

  async function start() {
    // First of all, before anything can fail: the key leaves the address bar.
    keyFromFragment();
    setKey(state.key);
    $('key-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      setKey($('key').value.trim());
      await loadTenants();
      await refreshAll();
    });
    $('key-forget').addEventListener('click', async () => {
      setKey('');
      await loadTenants();
      await refreshAll();
      $('key').focus();
    });
    $('key-focus').addEventListener('click', () => $($('key-focus').dataset.target || 'key').focus());
    window.addEventListener('hashchange', async () => {
      if (!keyFromFragment()) return;
      await loadTenants();
      await refreshAll();
    });
    $('tenant-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const tenant = $('tenant').value.trim();
      if (!tenant) return;
      state.tenant = tenant;
      const url = new URL(location.href);
      url.searchParams.set('tenant', tenant);
      history.replaceState(null, '', url);
      state.rendered.clear();
      await refreshAll();
    });
    $('drawer-close').addEventListener('click', () => $('drawer').close());
    $('drawer').addEventListener('close', () => {
      const was = state.drawer;
      state.drawer = null;
      $('drawer-body').replaceChildren();
      poll();
      const card = was && document.querySelector(`.card[data-provider="${CSS.escape(was)}"] button`);
      if (card) card.focus();
    });
    $('preview-form').addEventListener('submit', submitPreview);

    try {
      await Promise.all([loadService(), loadBrands()]);
    } catch (e) {
      banner(e.message);
      return;
    }
    setInterval(renderClock, 1000);
    setInterval(() => loadService().catch(() => {}), 15000);
    const tenants = await loadTenants();
    state.tenant = new URLSearchParams(location.search).get('tenant') || state.service.default_tenant || tenants[0] || '';
    $('tenant').value = state.tenant;
    await refreshAll();
    document.body.dataset.ready = 'true';
    setInterval(poll, POLL_MS);
  }

  start();
})();

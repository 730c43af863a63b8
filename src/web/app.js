// patd console: plain ES module, no framework. Talks to the JSON API with the
// session cookie and the CSRF header; never stores a token value anywhere but
// the one dialog that shows it, and clears that dialog when it closes.

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

const state = {
  csrf: sessionStorage.getItem('patd.csrf') || '',
  user: null,
  policy: null,
  catalog: { scopes: [], sets: [] },
  tokens: [],
  editing: null, // token being edited, or null when generating
  auditBefore: null,
};

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// A change to tokens: when the policy asks for a recent password, ask for
// it once and retry.
async function change(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    if (e.status === 403 && e.body.error === 'confirmation_required') {
      if (!(await askPassword())) throw e;
      return api(method, path, body);
    }
    throw e;
  }
}

// ---- text and time ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, '');
    else if (v !== false && v != null) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c == null) continue;
    // Text nodes only: names from the server are never parsed as HTML.
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
function relative(iso) {
  const diff = (new Date(iso).getTime() - Date.now()) / 1000;
  const units = [['year', 31536000], ['month', 2592000], ['day', 86400], ['hour', 3600], ['minute', 60]];
  for (const [unit, secs] of units) {
    if (Math.abs(diff) >= secs) return rtf.format(Math.round(diff / secs), unit);
  }
  return rtf.format(Math.round(diff), 'second');
}

function localTime(iso) {
  // Local time shown, UTC on hover.
  const d = new Date(iso);
  return el('time', { datetime: iso, title: `${iso} (UTC)` }, d.toLocaleString());
}

// ---- pages ----

function show(page) {
  for (const p of $$('.page')) p.hidden = p.id !== `page-${page}`;
  for (const a of $$('#nav a')) a.classList.toggle('current', a.dataset.page === page);
}

async function route() {
  if (!state.user) {
    try {
      const who = await api('GET', '/api/v1/session');
      state.user = who.user;
    } catch {
      return signedOut();
    }
  }
  signedIn();
  const page = (location.hash.replace('#/', '') || 'tokens').split('?')[0];
  const superuser = state.user.role === 'superuser';
  if (['people', 'policy'].includes(page) && !superuser) return go('tokens');
  show(page);
  if (page === 'tokens') return loadTokens();
  if (page === 'people') return loadPeople();
  if (page === 'policy') return loadPolicy();
  if (page === 'audit') return loadAudit(true);
  return go('tokens');
}

function go(page) {
  location.hash = `#/${page}`;
}

function signedOut() {
  state.user = null;
  state.csrf = '';
  sessionStorage.removeItem('patd.csrf');
  $('#nav').hidden = true;
  $('#menu').hidden = true;
  show('signin');
  $('#signin-username').focus();
}

function signedIn() {
  $('#nav').hidden = false;
  $('#menu').hidden = false;
  $('#whoami').textContent = state.user.username;
  for (const a of $$('[data-superuser]')) a.hidden = state.user.role !== 'superuser';
}

$('#signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#signin-error').textContent = '';
  try {
    const r = await api('POST', '/api/v1/session', {
      username: $('#signin-username').value, password: $('#signin-password').value,
    });
    state.csrf = r.csrf_token;
    sessionStorage.setItem('patd.csrf', r.csrf_token);
    state.user = r.user;
    $('#signin-password').value = '';
    if (!location.hash || location.hash === '#/signin') go('tokens');
    else route();
  } catch (e) {
    $('#signin-error').textContent = e.message;
  }
});

$('#signout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch { /* gone already */ }
  $('#menu').open = false;
  signedOut();
});

// ---- tokens ----

function badge(t) {
  if (t.status === 'disabled') return el('span', { class: 'badge disabled' }, 'Disabled');
  if (t.status === 'expired') return el('span', { class: 'badge expired' }, 'Expired');
  if (t.remaining_seconds !== null && t.remaining_seconds < 7 * 86400)
    return el('span', { class: 'badge soon' }, 'Expires soon');
  return el('span', { class: 'badge active' }, 'Active');
}

function lastUsed(t) {
  if (!t.last_used) return el('span', { class: 'muted' }, 'never used');
  const u = t.last_used;
  return el('span', {}, el('span', { title: `${u.at} (UTC)` }, relative(u.at)),
    el('br'), el('code', {}, `${u.method} ${u.path}`), el('br'),
    el('span', { class: 'muted' }, u.ip));
}

function expires(t) {
  if (!t.expires_at) return el('span', {}, 'never');
  return el('span', {}, localTime(t.expires_at), el('br'),
    el('span', { class: 'muted' }, t.status === 'expired' ? 'expired' : relative(t.expires_at)));
}

async function loadTokens() {
  const q = encodeURIComponent($('#token-search').value);
  const status = encodeURIComponent($('#token-status').value);
  try {
    const r = await api('GET', `/api/v1/tokens?q=${q}&status=${status}`);
    state.tokens = r.tokens;
  } catch (e) {
    if (e.status === 401) return signedOut();
    state.tokens = [];
    $('#tokens-empty').textContent = e.message;
  }
  renderTokens();
}

function renderTokens() {
  const body = $('#token-table tbody');
  body.replaceChildren();
  for (const t of state.tokens) {
    const actions = el('div', { class: 'row-actions' },
      el('button', { type: 'button', onclick: () => openEdit(t) }, 'Edit'),
      t.status === 'disabled'
        ? el('button', { type: 'button', onclick: () => setDisabled(t, false) }, 'Enable')
        : el('button', { type: 'button', onclick: () => setDisabled(t, true) }, 'Disable'),
      el('button', { type: 'button', onclick: () => regenerate(t) }, 'Regenerate'),
      el('button', { type: 'button', onclick: () => copyToken(t) }, 'Copy'),
      el('button', { type: 'button', class: 'danger', onclick: () => removeTokens([t]) }, 'Delete'));
    body.append(el('tr', { class: t.status === 'disabled' ? 'dimmed' : '', 'data-id': t.id },
      el('td', {}, el('input', { type: 'checkbox', class: 'select', 'aria-label': `Select ${t.name}`, value: t.id })),
      el('td', {}, el('strong', { class: 'token-name' }, t.name),
        t.description ? el('div', { class: 'muted' }, t.description) : null),
      el('td', {}, el('code', {}, `${t.prefix}…`)),
      el('td', {}, t.scopes.join(', ')),
      el('td', {}, localTime(t.created_at)),
      el('td', {}, expires(t)),
      el('td', {}, badge(t)),
      el('td', {}, lastUsed(t)),
      el('td', {}, actions)));
  }
  $('#tokens-empty').hidden = state.tokens.length > 0;
  $('#select-all').checked = false;
  updateBulk();
}

function selected() {
  return $$('#token-table .select:checked').map((c) => state.tokens.find((t) => t.id === Number(c.value)));
}

function updateBulk() {
  $('#bulk-delete').disabled = selected().length === 0;
}

$('#token-table').addEventListener('change', (ev) => {
  if (ev.target.id === 'select-all') {
    for (const c of $$('#token-table .select')) c.checked = ev.target.checked;
  }
  updateBulk();
});
let searchTimer;
$('#token-search').addEventListener('input', () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadTokens, 200);
});
$('#token-status').addEventListener('change', loadTokens);
$('#refresh').addEventListener('click', loadTokens);
$('#bulk-delete').addEventListener('click', () => removeTokens(selected()));

async function confirmAction(title, text, yes = 'Confirm') {
  const d = $('#confirm-dialog');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  d.showModal();
  return new Promise((resolve) => {
    const done = (v) => { d.close(); resolve(v); };
    $('#confirm-yes').onclick = () => done(true);
    $('#confirm-no').onclick = () => done(false);
    d.oncancel = () => resolve(false);
  });
}

async function askPassword() {
  const d = $('#password-dialog');
  $('#password-error').textContent = '';
  $('#password-input').value = '';
  d.showModal();
  return new Promise((resolve) => {
    $('#password-cancel').onclick = () => { d.close(); resolve(false); };
    d.oncancel = () => resolve(false);
    $('#password-form').onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        await api('POST', '/api/v1/session/confirm', { password: $('#password-input').value });
        $('#password-input').value = '';
        d.close();
        resolve(true);
      } catch (e) {
        $('#password-error').textContent = e.message;
      }
    };
  });
}

async function setDisabled(t, disabled) {
  const ok = await confirmAction(disabled ? `Disable “${t.name}”?` : `Enable “${t.name}”?`,
    disabled ? 'Everything using this token loses access at once. You can enable it again later.'
      : 'Everything holding this token regains access at once.',
    disabled ? 'Disable' : 'Enable');
  if (!ok) return;
  try {
    await change('POST', `/api/v1/tokens/${t.id}/${disabled ? 'disable' : 'enable'}`);
  } catch (e) { alertError(e); }
  loadTokens();
}

async function regenerate(t) {
  const ok = await confirmAction(`Regenerate “${t.name}”?`,
    'A new value replaces the current one, which stops working at once. Settings stay the same.',
    'Regenerate');
  if (!ok) return;
  try {
    const r = await change('POST', `/api/v1/tokens/${t.id}/regenerate`, {});
    showValue(r);
  } catch (e) { alertError(e); }
  loadTokens();
}

async function copyToken(t) {
  const d = $('#name-dialog');
  $('#name-input').value = `${t.name} copy`.slice(0, 100);
  $('#name-error').textContent = '';
  d.showModal();
  $('#name-cancel').onclick = () => d.close();
  $('#name-form').onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const r = await change('POST', `/api/v1/tokens/${t.id}/copy`, { name: $('#name-input').value });
      d.close();
      showValue(r);
      loadTokens();
    } catch (e) {
      $('#name-error').textContent = e.message;
    }
  };
}

async function removeTokens(list) {
  if (!list.length) return;
  const names = list.map((t) => `“${t.name}”`).join(', ');
  const ok = await confirmAction(list.length === 1 ? `Delete ${names}?` : `Delete ${list.length} tokens?`,
    `Deleting is permanent: anything using ${list.length === 1 ? 'it' : 'them'} gets 401 at once. ${list.length > 1 ? names : ''}`,
    'Delete');
  if (!ok) return;
  try {
    if (list.length === 1) await change('DELETE', `/api/v1/tokens/${list[0].id}`);
    else await change('POST', '/api/v1/tokens/bulk-delete', { ids: list.map((t) => t.id) });
  } catch (e) { alertError(e); }
  loadTokens();
}

function alertError(e) {
  $('#tokens-empty').hidden = false;
  $('#tokens-empty').textContent = e.message;
}

// ---- the generate / edit dialog ----

async function loadCatalog() {
  const [catalog, policy] = await Promise.all([api('GET', '/api/v1/scopes'), api('GET', '/api/v1/policy')]);
  state.catalog = catalog;
  state.policy = policy;
}

function renderScopeChoices(checked) {
  const sel = $('#token-scope-set');
  sel.replaceChildren(el('option', { value: '' }, 'Custom selection'),
    ...state.catalog.sets.map((s) => el('option', { value: s.name }, `${s.name} (${s.scopes.join(', ')})`)));
  const list = $('#scope-list');
  list.replaceChildren(...state.catalog.scopes.filter((s) => s.grantable).map((s) =>
    el('li', { 'data-name': s.name },
      el('label', { class: 'check', title: s.description },
        el('input', { type: 'checkbox', value: s.name, checked: checked.includes(s.name) }),
        el('span', {}, el('code', {}, s.name), ' ', el('span', { class: 'muted' }, s.description))))));
  filterScopes();
}

function filterScopes() {
  const q = $('#scope-search').value.toLowerCase();
  const only = $('#scope-only-checked').checked;
  for (const li of $$('#scope-list li')) {
    const box = $('input', li);
    const text = li.textContent.toLowerCase();
    li.hidden = (q && !text.includes(q)) || (only && !box.checked);
  }
}
$('#scope-search').addEventListener('input', filterScopes);
$('#scope-only-checked').addEventListener('change', filterScopes);
$('#token-scope-set').addEventListener('change', () => {
  $('#custom-scopes').hidden = $('#token-scope-set').value !== '';
});

function durationPreview() {
  const v = $('#token-duration').value;
  const date = $('#token-date');
  date.hidden = v !== 'custom';
  $('#token-date-label').hidden = v !== 'custom';
  let text = '';
  if (v === 'never') text = 'The token will never expire.';
  else if (v === 'custom') text = date.value ? `Expires on ${new Date(`${date.value}T00:00:00Z`).toLocaleString()}.` : 'Pick a date.';
  else text = `Expires on ${new Date(Date.now() + Number(v) * 86400000).toLocaleString()}.`;
  $('#token-expiry-preview').textContent = text;
}
$('#token-duration').addEventListener('change', durationPreview);
$('#token-date').addEventListener('input', durationPreview);

function clearErrors() {
  for (const p of $$('#token-form .error')) p.textContent = '';
}

async function openGenerate() {
  await openTokenDialog(null);
}

function openEdit(t) {
  if (t.status === 'disabled') {
    return confirmAction(`“${t.name}” is disabled`, 'A disabled token cannot be edited. Enable it first.', 'OK');
  }
  return openTokenDialog(t);
}

async function openTokenDialog(t) {
  await loadCatalog();
  state.editing = t;
  clearErrors();
  $('#token-dialog-title').textContent = t ? `Edit “${t.name}”` : 'Generate token';
  $('#token-submit').textContent = t ? 'Save changes' : 'Generate token';
  $('#token-name').value = t ? t.name : '';
  $('#token-description').value = t ? t.description : '';
  const never = $('#token-duration option[value="never"]');
  never.hidden = never.disabled = !state.policy.allow_never_expires;
  const dur = $('#token-duration');
  if (t) {
    // Editing: keep, change the date, or clear to never.
    dur.value = t.expires_at ? 'custom' : 'never';
    $('#token-date').value = t.expires_at ? t.expires_at.slice(0, 10) : '';
  } else {
    dur.value = [7, 30, 60, 90].includes(state.policy.default_expires_in_days)
      ? String(state.policy.default_expires_in_days) : '7';
    const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
    $('#token-date').min = tomorrow;
    $('#token-date').value = '';
  }
  $('#scope-search').value = '';
  $('#scope-only-checked').checked = false;
  renderScopeChoices(t ? t.scopes : []);
  $('#token-scope-set').value = '';
  $('#custom-scopes').hidden = false;
  durationPreview();
  $('#token-dialog').showModal();
  $('#token-name').focus();
}

$('#generate').addEventListener('click', openGenerate);
$('#token-cancel').addEventListener('click', () => $('#token-dialog').close());

$('#token-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  clearErrors();
  const t = state.editing;
  const body = { name: $('#token-name').value, description: $('#token-description').value };
  const set = $('#token-scope-set').value;
  if (set) body.scope_set = set;
  else body.scopes = $$('#scope-list input:checked').map((c) => c.value);
  // What the person chose, as the API takes it on create and edit alike:
  // the server applies presets from its own clock and decides the rules.
  const v = $('#token-duration').value;
  if (v === 'never') body.never_expires = true;
  else if (v === 'custom') {
    if (!$('#token-date').value) {
      $('#token-form [data-field="expires_at"]').textContent = 'Pick a date.';
      return;
    }
    body.expires_at = $('#token-date').value;
  } else body.expires_in_days = Number(v);
  try {
    const r = t ? await change('PATCH', `/api/v1/tokens/${t.id}`, body)
      : await change('POST', '/api/v1/tokens', body);
    $('#token-dialog').close();
    if (!t) showValue(r);
    loadTokens();
  } catch (e) {
    const slot = e.body.field && $(`#token-form [data-field="${e.body.field}"]`);
    if (slot) slot.textContent = e.message;
    else $('#token-form-error').textContent = e.message;
  }
});

// ---- the value, shown once ----

function showValue(r) {
  $('#value-text').value = r.token;
  $('#value-curl').value = r.curl_example.replace(/http:\/\/[^/ ]+/, location.origin);
  $('#value-copied').textContent = '';
  $('#value-dialog').showModal();
}

$('#value-copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('#value-text').value);
    $('#value-copied').textContent = 'Copied';
  } catch {
    $('#value-text').select();
    $('#value-copied').textContent = 'Press Ctrl+C to copy';
  }
});

$('#value-download').addEventListener('click', () => {
  const blob = new Blob([`${$('#value-text').value}\n`], { type: 'text/plain' });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: 'patd-token.txt' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
});

function clearValue() {
  $('#value-text').value = '';
  $('#value-curl').value = '';
}
$('#value-close').addEventListener('click', () => $('#value-dialog').close());
$('#value-dialog').addEventListener('close', clearValue);

// ---- people ----

async function loadPeople() {
  const r = await api('GET', '/api/v1/users');
  const body = $('#people-table tbody');
  body.replaceChildren(...r.users.map((u) => el('tr', { class: u.disabled ? 'dimmed' : '', 'data-id': u.id },
    el('td', {}, u.username), el('td', {}, u.email), el('td', {}, u.role),
    el('td', {}, u.disabled ? 'Disabled' : 'Enabled'),
    el('td', {}, u.can_manage_tokens ? 'Allowed' : 'Withdrawn'),
    el('td', {}, el('div', { class: 'row-actions' },
      el('button', { type: 'button', onclick: () => patchPerson(u, { disabled: !u.disabled }) }, u.disabled ? 'Enable' : 'Disable'),
      el('button', { type: 'button', onclick: () => patchPerson(u, { can_manage_tokens: !u.can_manage_tokens }) },
        u.can_manage_tokens ? 'Withdraw token permission' : 'Grant token permission'),
      el('button', { type: 'button', onclick: () => personTokens(u) }, 'Tokens'),
      el('button', { type: 'button', class: 'danger', onclick: () => revokeAll(u) }, 'Revoke all tokens'))))));
}

async function patchPerson(u, change) {
  try {
    await api('PATCH', `/api/v1/users/${u.id}`, change);
  } catch (e) {
    $('#person-error').textContent = e.message;
  }
  loadPeople();
}

async function personTokens(u) {
  const r = await api('GET', `/api/v1/users/${u.id}/tokens`);
  $('#person-tokens-title').textContent = `Tokens of ${u.username}`;
  $('#person-tokens tbody').replaceChildren(...r.tokens.map((t) => el('tr', {},
    el('td', {}, t.name), el('td', {}, el('code', {}, `${t.prefix}…`)), el('td', {}, t.scopes.join(', ')),
    el('td', {}, badge(t)), el('td', {}, expires(t)), el('td', {}, lastUsed(t)))));
  $('#person-tokens').hidden = false;
}

async function revokeAll(u) {
  const ok = await confirmAction(`Revoke every token of ${u.username}?`,
    'All of their tokens are deleted for good; anything using them gets 401 at once.', 'Revoke all');
  if (!ok) return;
  try {
    await api('POST', `/api/v1/users/${u.id}/tokens/revoke-all`);
  } catch (e) { $('#person-error').textContent = e.message; }
  loadPeople();
}

$('#person-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#person-error').textContent = '';
  try {
    const body = { username: $('#person-username').value, password: $('#person-password').value,
      role: $('#person-role').value };
    if ($('#person-email').value) body.email = $('#person-email').value;
    await api('POST', '/api/v1/users', body);
    ev.target.reset();
    loadPeople();
  } catch (e) {
    $('#person-error').textContent = e.message;
  }
});

// ---- policy ----

async function loadPolicy() {
  const p = await api('GET', '/api/v1/policy');
  $('#policy-default').value = p.default_expires_in_days;
  $('#policy-max').value = p.max_lifetime_days ?? '';
  $('#policy-never').checked = p.allow_never_expires;
  $('#policy-confirm').checked = p.require_confirmation;
  $('#policy-query').checked = p.query_tokens_enabled;
  const v = await api('GET', '/api/v1/policy/violations');
  $('#violations-table tbody').replaceChildren(...v.tokens.map((t) => el('tr', {},
    el('td', {}, t.user_id), el('td', {}, t.name), el('td', {}, el('code', {}, `${t.prefix}…`)),
    el('td', {}, t.expires_at ? localTime(t.expires_at) : 'never'))));
  $('#violations-empty').hidden = v.tokens.length > 0;
}

$('#policy-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#policy-error').textContent = '';
  $('#policy-saved').textContent = '';
  try {
    await api('PUT', '/api/v1/policy', {
      default_expires_in_days: Number($('#policy-default').value),
      max_lifetime_days: $('#policy-max').value ? Number($('#policy-max').value) : null,
      allow_never_expires: $('#policy-never').checked,
      require_confirmation: $('#policy-confirm').checked,
      query_tokens_enabled: $('#policy-query').checked,
    });
    $('#policy-saved').textContent = 'Saved.';
    loadPolicy();
  } catch (e) {
    $('#policy-error').textContent = e.message;
  }
});

// ---- audit ----

async function loadAudit(fresh) {
  if (fresh) state.auditBefore = null;
  const params = new URLSearchParams();
  if ($('#audit-user').value) params.set('user', $('#audit-user').value);
  if ($('#audit-action').value) params.set('action', $('#audit-action').value);
  if ($('#audit-since').value) params.set('since', `${$('#audit-since').value}T00:00:00Z`);
  if (state.auditBefore) params.set('before', state.auditBefore);
  params.set('limit', '100');
  const body = $('#audit-table tbody');
  if (fresh) body.replaceChildren();
  try {
    const r = await api('GET', `/api/v1/audit?${params}`);
    body.append(...r.events.map((e) => el('tr', {},
      el('td', {}, localTime(e.at)),
      el('td', {}, e.actor_user_id ? `user ${e.actor_user_id}${e.actor_token_id ? ` via token ${e.actor_token_id}` : ''}` : '—'),
      el('td', {}, e.action), el('td', {}, e.target), el('td', {}, e.ip), el('td', {}, e.user_agent),
      el('td', {}, e.detail))));
    state.auditBefore = r.next_before;
    $('#audit-more').hidden = !r.next_before;
  } catch (e) {
    body.append(el('tr', {}, el('td', { colspan: 7 }, e.message)));
  }
}
$('#audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); loadAudit(true); });
$('#audit-more').addEventListener('click', () => loadAudit(false));

window.addEventListener('hashchange', route);
route();

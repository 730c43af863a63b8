// The person's own tokens: the list, its row actions and multi-select,
// the generate / edit dialog, and the value shown once.
import { $, $$, el, when, localTime } from '../dom.js';
import { api, change } from '../api.js';
import { confirmAction, askName, inform } from '../dialogs.js';
import { failed } from '../notify.js';
import { exchangeToken } from '../exchange.js';
import { myOrgs } from '../orgs.js';

let tokens = [];
let catalog = { scopes: [], sets: [] };
let policy = null;
let editing = null; // the token being edited, or null when generating
let anchor = null; // the row a Shift-click range starts from

// ---- the list ----

export function badge(t) {
  if (t.canary) return el('span', { class: 'badge canary', title: 'A decoy: never valid, reported when presented' }, 'Canary');
  if (t.status === 'disabled') return el('span', { class: 'badge disabled' }, 'Disabled');
  if (t.status === 'expired') return el('span', { class: 'badge expired' }, 'Expired');
  // "Soon" is the server's call: the last fifth of the token's life, at
  // most three days (a 7-day token is not "soon" from its first minute).
  if (t.expiring_soon) return el('span', { class: 'badge soon' }, 'Expires soon');
  return el('span', { class: 'badge active' }, 'Active');
}

export function lastUsed(t) {
  if (!t.last_used) return el('span', { class: 'muted' }, t.canary ? 'never tripped' : 'never used');
  const u = t.last_used;
  return el('span', {}, t.canary ? el('strong', { class: 'tripped' }, 'Tripped ') : null, when(u.at),
    el('br'), el('code', {}, `${u.method} ${u.path}`), el('br'),
    el('span', { class: 'muted' }, u.ip),
    u.user_agent ? [el('br'), el('span', { class: 'muted ua', title: u.user_agent }, u.user_agent)] : null);
}

export function expires(t) {
  if (!t.expires_at) return el('span', {}, 'never');
  if (t.status === 'expired') return el('span', {}, localTime(t.expires_at), el('br'), el('span', { class: 'muted' }, 'expired'));
  return when(t.expires_at);
}

export async function load() {
  const q = encodeURIComponent($('#token-search').value);
  const status = encodeURIComponent($('#token-status').value);
  try {
    tokens = (await api('GET', `/api/v1/tokens?q=${q}&status=${status}`)).tokens;
  } catch (e) {
    if (e.status === 401) throw e;
    tokens = [];
    failed('Loading your tokens', e);
  }
  render();
}

function render() {
  const body = $('#token-table tbody');
  body.replaceChildren();
  for (const t of tokens) {
    // Edit in sight, the rest in a compact menu: five buttons a row crowded
    // the table at 1280 px.
    const menu = el('details', { class: 'row-menu' },
      el('summary', { 'aria-label': `More actions for ${t.name}` }, 'More'));
    const item = (label, fn, cls) => el('button', {
      type: 'button', class: cls, onclick: () => { menu.open = false; fn(); },
    }, label);
    menu.append(el('div', { class: 'menu-items' },
      // A canary is never valid: nothing to enable, disable or exchange.
      t.canary ? null : t.status === 'disabled' ? item('Enable', () => setDisabled(t, false))
        : item('Disable', () => setDisabled(t, true)),
      item('Regenerate', () => regenerate(t)),
      item('Copy', () => copyToken(t)),
      item(t.canary ? 'Presentations' : 'Clients', () => showClients(t)),
      t.status === 'active' && !t.canary ? item('Exchange for a short-lived token',
        () => exchangeToken(t, (e) => failed(`Exchange “${t.name}”`, e))) : null,
      item('Delete', () => remove([t]), 'danger')));
    menu.addEventListener('toggle', () => {
      if (menu.open) for (const m of $$('#token-table details.row-menu[open]')) if (m !== menu) m.open = false;
    });
    const actions = el('div', { class: 'row-actions' },
      el('button', { type: 'button', onclick: () => openEdit(t) }, 'Edit'), menu);
    body.append(el('tr', { class: t.status === 'disabled' ? 'dimmed' : '', 'data-id': t.id, id: `token-${t.id}` },
      el('td', {}, el('input', { type: 'checkbox', class: 'select', 'aria-label': `Select ${t.name}`, value: t.id })),
      el('td', {}, el('strong', { class: 'token-name' }, t.name),
        t.description ? el('div', { class: 'muted' }, t.description) : null,
        t.rotation ? rotationPanel(t) : null,
        t.allowed_cidrs.length ? el('div', { class: 'muted' }, `only from ${t.allowed_cidrs.join(', ')}`) : null,
        t.organizations ? el('div', { class: 'muted orgs' }, `only in ${t.organizations.join(', ')}`) : null),
      el('td', {}, el('code', {}, `${t.prefix}…`)),
      el('td', {}, t.scopes.join(', '), t.unused_scopes.length ? unusedNote(t) : null),
      el('td', {}, when(t.created_at)),
      el('td', {}, expires(t)),
      el('td', {}, badge(t)),
      el('td', {}, lastUsed(t)),
      el('td', {}, actions)));
  }
  const filtered = $('#token-search').value || $('#token-status').value;
  $('#tokens-empty').hidden = tokens.length > 0;
  $('#tokens-empty').textContent = filtered ? 'No token matches.'
    : 'No tokens yet. A token lets a script, a CI job or a tool act as you, within the scopes you '
      + 'give it, until it expires: use it instead of your password. Generate one to get started.';
  $('#select-all').checked = false;
  anchor = null;
  updateBulk();
  // Emails link a token as #token-ID: show it.
  const linked = location.hash.startsWith('#token-') && document.getElementById(location.hash.slice(1));
  if (linked) {
    linked.classList.add('linked');
    linked.scrollIntoView({ block: 'center' });
  }
}

function boxes() {
  return $$('#token-table .select');
}

function selected() {
  return boxes().filter((c) => c.checked).map((c) => tokens.find((t) => t.id === Number(c.value)));
}

function updateBulk() {
  const n = selected().length;
  $('#bulk-delete').disabled = n === 0;
  $('#bulk-delete').textContent = n > 1 ? `Delete ${n} selected` : 'Delete selected';
}

// Seed 004's selection: a click toggles one box; Shift-click sets the
// range from the last box clicked to this one; Ctrl/Cmd-click on a row
// toggles it without reaching for its box.
function onTableClick(ev) {
  const box = ev.target.closest('.select');
  const row = ev.target.closest('tbody tr');
  if (!row) return;
  const all = boxes();
  if (box) {
    if (ev.shiftKey && anchor !== null) {
      const [from, to] = [anchor, all.indexOf(box)].sort((a, b) => a - b);
      for (let i = from; i <= to; i++) all[i].checked = box.checked;
    }
    anchor = all.indexOf(box);
  } else if ((ev.ctrlKey || ev.metaKey) && !ev.target.closest('button, a, input')) {
    const b = $('.select', row);
    b.checked = !b.checked;
    anchor = all.indexOf(b);
  } else {
    return;
  }
  updateBulk();
}

// ---- row actions ----

// Least privilege from observed use: the granted scopes this token has not
// needed lately, and one click (confirmed) to take them away.
function unusedNote(t) {
  return el('div', { class: 'unused-scopes' },
    `${t.unused_scopes.length} of ${t.scopes.length} scopes unused lately: ${t.unused_scopes.join(', ')} `,
    el('button', { type: 'button', class: 'link', onclick: () => removeUnused(t) }, 'Remove them'));
}

async function removeUnused(t) {
  const keep = t.scopes.filter((s) => !t.unused_scopes.includes(s));
  const ok = await confirmAction(`Remove unused scopes from “${t.name}”?`,
    `It keeps ${keep.join(', ') || 'no scope'}; ${t.unused_scopes.join(', ')} go. A request that needs one of them gets 403 from now on.`,
    'Remove scopes');
  if (!ok) return;
  try {
    await change('PATCH', `/api/v1/tokens/${t.id}`, { scopes: keep });
  } catch (e) { failed(`Remove unused scopes from “${t.name}”`, e); }
  load();
}

// A regenerate that kept the old value: who is still on it.
function rotationPanel(t) {
  const r = t.rotation;
  const who = (u) => [el('code', {}, u.ip), ' ', el('span', { class: 'ua', title: u.user_agent }, u.user_agent || '(no user agent)'), ' ', when(u.at)];
  return el('div', { class: 'rotation', role: 'status' },
    el('strong', {}, 'Rotation in progress'),
    el('div', {}, 'Old value: ', r.previous_last_used
      ? [`used ${r.previous_use_count} time${r.previous_use_count === 1 ? '' : 's'}, last by `, ...who(r.previous_last_used)]
      : 'not used since the regeneration'),
    el('div', {}, 'New value: ', r.current_first_used ? ['first used by ', ...who(r.current_first_used)] : 'not used yet'),
    el('div', { class: 'muted' }, 'The old value stops ', when(r.previous_valid_until),
      r.retire_when_unused_seconds ? ` or once unused for ${duration(r.retire_when_unused_seconds)}` : ''),
    el('button', { type: 'button', class: 'retire-previous', onclick: () => retirePrevious(t) }, 'Retire old value now'));
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hour${seconds === 3600 ? '' : 's'}`;
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  return `${seconds} seconds`;
}

async function retirePrevious(t) {
  const ok = await confirmAction(`Retire the old value of “${t.name}”?`,
    'Clients still using the old value get 401 at once; the new value keeps working.', 'Retire old value');
  if (!ok) return;
  try {
    await change('POST', `/api/v1/tokens/${t.id}/retire-previous`);
  } catch (e) { failed(`Retire the old value of “${t.name}”`, e); }
  load();
}

// The clients a token was used from (a canary: who presented it).
async function showClients(t) {
  let detail;
  try {
    detail = await api('GET', `/api/v1/tokens/${t.id}`);
  } catch (e) { return failed(`Clients of “${t.name}”`, e); }
  const table = el('table', { id: 'clients-table', class: 'compact' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Network'), el('th', {}, 'Last address'),
      el('th', {}, 'User agent'), el('th', {}, 'First seen'), el('th', {}, 'Last seen'))),
    el('tbody', {}, ...detail.clients.map((c) => el('tr', {},
      el('td', {}, el('code', {}, c.network)), el('td', {}, c.ip),
      el('td', { class: 'ua', title: c.user_agent }, c.user_agent || '(none)'),
      el('td', {}, when(c.first_seen)), el('td', {}, when(c.last_seen))))));
  const text = detail.clients.length
    ? `The last ${detail.clients.length} distinct clients (network and user-agent product).`
    : 'Not used yet.';
  await inform(`Clients of “${t.name}”`, text, table);
}

async function setDisabled(t, disabled) {
  const ok = await confirmAction(disabled ? `Disable “${t.name}”?` : `Enable “${t.name}”?`,
    disabled ? 'Everything using this token loses access at once. You can enable it again later.'
      : 'Everything holding this token regains access at once.',
    disabled ? 'Disable' : 'Enable');
  if (!ok) return;
  try {
    await change('POST', `/api/v1/tokens/${t.id}/${disabled ? 'disable' : 'enable'}`);
  } catch (e) { failed(`${disabled ? 'Disable' : 'Enable'} “${t.name}”`, e); }
  load();
}

const GRACE = [[0, 'at once'], [600, 'after 10 minutes'], [3600, 'after 1 hour'], [86400, 'after 1 day']];

const UNUSED = [[0, 'no'], [600, 'unused for 10 minutes'], [3600, 'unused for 1 hour'], [86400, 'unused for 1 day']];

async function regenerate(t) {
  const grace = el('select', { id: 'regenerate-grace' },
    ...GRACE.map(([s, label]) => el('option', { value: s }, label)));
  const unused = el('select', { id: 'regenerate-unused' },
    ...UNUSED.map(([s, label]) => el('option', { value: s }, label)));
  const extra = el('div', {},
    el('label', { class: 'inline' }, 'The current value stops working ', grace),
    el('label', { class: 'inline' }, '… or sooner, once ', unused));
  const ok = await confirmAction(`Regenerate “${t.name}”?`,
    'A new value replaces the current one. Settings stay the same. Keeping the old value a while '
    + 'shows which clients still use it.', 'Regenerate', extra);
  if (!ok) return;
  const body = { grace_seconds: Number(grace.value) };
  if (Number(unused.value)) body.retire_when_unused_seconds = Number(unused.value);
  try {
    const r = await change('POST', `/api/v1/tokens/${t.id}/regenerate`, body);
    showValue(r);
  } catch (e) { failed(`Regenerate “${t.name}”`, e); }
  load();
}

async function copyToken(t) {
  const r = await askName(`${t.name} copy`.slice(0, 100),
    (name) => change('POST', `/api/v1/tokens/${t.id}/copy`, { name }));
  if (!r) return;
  showValue(r);
  load();
}

async function remove(list) {
  if (!list.length) return;
  const names = list.map((t) => `“${t.name}”`).join(', ');
  const ok = await confirmAction(list.length === 1 ? `Delete ${names}?` : `Delete ${list.length} tokens?`,
    `Deleting is permanent: anything using ${list.length === 1 ? 'it' : 'them'} gets 401 at once. ${list.length > 1 ? names : ''}`,
    'Delete');
  if (!ok) return;
  try {
    if (list.length === 1) await change('DELETE', `/api/v1/tokens/${list[0].id}`);
    else await change('POST', '/api/v1/tokens/bulk-delete', { ids: list.map((t) => t.id) });
  } catch (e) { failed(list.length === 1 ? `Delete ${names}` : 'Delete the selected tokens', e); }
  load();
}

// ---- the generate / edit dialog ----

async function loadCatalog() {
  [catalog, policy] = await Promise.all([api('GET', '/api/v1/scopes'), api('GET', '/api/v1/policy')]);
}

function renderScopeChoices(checked) {
  const sel = $('#token-scope-set');
  sel.replaceChildren(el('option', { value: '' }, 'Custom selection'),
    ...catalog.sets.map((s) => el('option', { value: s.name }, `${s.name} (${s.scopes.join(', ')})`)));
  $('#scope-list').replaceChildren(...catalog.scopes.filter((s) => s.grantable).map((s) =>
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
    li.hidden = (q && !li.textContent.toLowerCase().includes(q)) || (only && !box.checked);
  }
}

// What the chosen duration means, in words; the date itself is the
// server's to compute (from its clock) when the token is saved.
function durationPreview() {
  const v = $('#token-duration').value;
  const date = $('#token-date');
  date.hidden = v !== 'custom';
  $('#token-date-label').hidden = v !== 'custom';
  let text;
  if (v === 'never') text = 'The token will never expire.';
  else if (v === 'custom') text = date.value ? `Expires at the start of ${date.value} (UTC).` : 'Pick a date.';
  else text = `Expires ${v} days after it is saved.`;
  $('#token-expiry-preview').textContent = text;
}

// A canary has no duration, network or scope to choose.
function canaryFields(canary) {
  for (const id of ['#duration-block', '#cidrs-block', '#scope-block']) $(id).hidden = canary;
}

function clearErrors() {
  for (const p of $$('#token-form .error')) p.textContent = '';
}

function openEdit(t) {
  if (t.status === 'disabled') {
    return confirmAction(`“${t.name}” is disabled`, 'A disabled token cannot be edited. Enable it first.', 'OK');
  }
  return openDialog(t);
}

async function openDialog(t) {
  try {
    await loadCatalog();
  } catch (e) {
    return failed('Loading scopes and policy', e);
  }
  editing = t;
  clearErrors();
  $('#token-dialog-title').textContent = t ? `Edit “${t.name}”` : 'Generate token';
  $('#token-submit').textContent = t ? 'Save changes' : 'Generate token';
  $('#token-name').value = t ? t.name : '';
  $('#token-description').value = t ? t.description : '';
  $('#token-cidrs').value = t ? t.allowed_cidrs.join(' ') : '';
  $('#token-canary').checked = false;
  $('#canary-block').hidden = !!t;
  $('#token-notify-new-client').checked = t ? t.notify_new_client : true;
  renderOrgChoices(t ? t.organizations : null);
  const never = $('#token-duration option[value="never"]');
  never.hidden = never.disabled = !policy.allow_never_expires;
  const dur = $('#token-duration');
  if (t) {
    dur.value = t.expires_at ? 'custom' : 'never';
    $('#token-date').value = t.expires_at ? t.expires_at.slice(0, 10) : '';
  } else {
    dur.value = [7, 30, 60, 90].includes(policy.default_expires_in_days)
      ? String(policy.default_expires_in_days) : '7';
    $('#token-date').value = '';
  }
  $('#scope-search').value = '';
  $('#scope-only-checked').checked = false;
  renderScopeChoices(t ? t.scopes : []);
  $('#token-scope-set').value = '';
  $('#custom-scopes').hidden = false;
  durationPreview();
  canaryFields(t ? t.canary : false);
  $('#token-dialog').showModal();
  $('#token-name').focus();
}

async function submit(ev) {
  ev.preventDefault();
  clearErrors();
  const t = editing;
  const body = { name: $('#token-name').value, description: $('#token-description').value };
  if (!t && $('#token-canary').checked) body.canary = true;
  // A canary has a name and a description, nothing else to choose.
  if (!body.canary && !(t && t.canary) && !fillAccess(body)) return;
  try {
    const r = t ? await change('PATCH', `/api/v1/tokens/${t.id}`, body)
      : await change('POST', '/api/v1/tokens', body);
    $('#token-dialog').close();
    if (!t) showValue(r);
    load();
  } catch (e) { fieldError(e); }
}

// Scopes, networks, alerts and expiry from the form into body; false (and
// the reason shown) when the form is not complete.
function fillAccess(body) {
  body.notify_new_client = $('#token-notify-new-client').checked;
  const set = $('#token-scope-set').value;
  if (set) body.scope_set = set;
  else body.scopes = $$('#scope-list input:checked').map((c) => c.value);
  body.allowed_cidrs = $('#token-cidrs').value.split(/[\s,]+/).filter(Boolean);
  if (!$('#orgs-block').hidden) {
    body.organizations = $('#token-orgs-all').checked ? null
      : $$('#token-org-list input:checked').map((c) => c.value);
  }
  // What the person chose, as the API takes it on create and edit alike:
  // the server applies presets from its own clock and decides the rules.
  const v = $('#token-duration').value;
  if (v === 'never') body.never_expires = true;
  else if (v === 'custom') {
    if (!$('#token-date').value) {
      $('#token-form [data-field="expires_at"]').textContent = 'Pick a date.';
      return false;
    }
    body.expires_at = $('#token-date').value;
  } else body.expires_in_days = Number(v);
  return true;
}

// Where the token may be used: all of the person's organizations, or a
// selection (offered when they belong to any).
function renderOrgChoices(chosen) {
  const mine = myOrgs();
  $('#orgs-block').hidden = mine.length === 0;
  $('#token-orgs-all').checked = !chosen;
  $('#token-orgs-some').checked = !!chosen;
  $('#token-org-list').replaceChildren(...mine.map((o) => el('li', {},
    el('label', { class: 'check' }, el('input', { type: 'checkbox', value: o.slug,
      checked: !!chosen && chosen.includes(o.slug),
      onchange: () => { $('#token-orgs-some').checked = true; } }), ` ${o.name} (${o.slug})`))));
}

// A server error next to its field, or under the form.
function fieldError(e) {
  const slot = e.body && e.body.field && $(`#token-form [data-field="${e.body.field}"]`);
  if (slot) slot.textContent = e.message;
  else $('#token-form-error').textContent = e.message;
}

// ---- the value, shown once ----

function showValue(r) {
  $('#value-text').value = r.token;
  $('#value-curl').value = r.curl_example.replace(/http:\/\/[^/ ]+/, location.origin);
  $('#value-copied').textContent = '';
  $('#value-dialog').showModal();
}

async function copyValue() {
  try {
    await navigator.clipboard.writeText($('#value-text').value);
    $('#value-copied').textContent = 'Copied';
  } catch {
    $('#value-text').select();
    $('#value-copied').textContent = 'Press Ctrl+C to copy';
  }
}

function downloadValue() {
  const blob = new Blob([`${$('#value-text').value}\n`], { type: 'text/plain' });
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: 'patd-token.txt' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

// Wires the page's controls once.
export function init() {
  $('#token-table').addEventListener('change', (ev) => {
    if (ev.target.id === 'select-all') {
      for (const c of boxes()) c.checked = ev.target.checked;
    }
    updateBulk();
  });
  $('#token-table').addEventListener('click', onTableClick);
  let searchTimer;
  $('#token-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(load, 200);
  });
  $('#token-status').addEventListener('change', load);
  $('#refresh').addEventListener('click', load);
  $('#bulk-delete').addEventListener('click', () => remove(selected()));
  $('#scope-search').addEventListener('input', filterScopes);
  $('#scope-only-checked').addEventListener('change', filterScopes);
  $('#token-scope-set').addEventListener('change', () => {
    $('#custom-scopes').hidden = $('#token-scope-set').value !== '';
  });
  $('#token-duration').addEventListener('change', durationPreview);
  $('#token-canary').addEventListener('change', () => canaryFields($('#token-canary').checked));
  $('#token-date').addEventListener('input', durationPreview);
  $('#generate').addEventListener('click', () => openDialog(null));
  $('#token-cancel').addEventListener('click', () => $('#token-dialog').close());
  $('#token-form').addEventListener('submit', submit);
  $('#value-copy').addEventListener('click', copyValue);
  $('#value-download').addEventListener('click', downloadValue);
  // The value lives only in this dialog, and only while it is open: wiped
  // as it closes, by its button or by Escape.
  const wipe = () => {
    $('#value-text').value = '';
    $('#value-curl').value = '';
  };
  $('#value-close').addEventListener('click', () => {
    wipe();
    $('#value-dialog').close();
  });
  $('#value-dialog').addEventListener('close', wipe);
}

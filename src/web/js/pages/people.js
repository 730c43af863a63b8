// Superusers: people, their token permission, their tokens.
import { $, el } from '../dom.js';
import { api, change } from '../api.js';
import { confirmAction } from '../dialogs.js';
import { failed } from '../notify.js';
import { badge, expires, lastUsed } from './tokens.js';

export async function load() {
  const r = await api('GET', '/api/v1/users');
  $('#people-table tbody').replaceChildren(...r.users.map((u) => el('tr', { class: u.disabled ? 'dimmed' : '', 'data-id': u.id },
    el('td', {}, u.username), el('td', {}, u.email), el('td', {}, u.role),
    el('td', {}, u.disabled ? 'Disabled' : 'Enabled'),
    el('td', {}, u.can_manage_tokens ? 'Allowed' : 'Withdrawn'),
    el('td', {}, el('div', { class: 'row-actions' },
      el('button', { type: 'button', onclick: () => patch(u, { disabled: !u.disabled }) }, u.disabled ? 'Enable' : 'Disable'),
      el('button', { type: 'button', onclick: () => patch(u, { can_manage_tokens: !u.can_manage_tokens }) },
        u.can_manage_tokens ? 'Withdraw token permission' : 'Grant token permission'),
      el('button', { type: 'button', onclick: () => tokensOf(u) }, 'Tokens'),
      el('button', { type: 'button', class: 'danger', onclick: () => revokeAll(u) }, 'Revoke all tokens'))))));
}

async function patch(u, body) {
  try {
    await change('PATCH', `/api/v1/users/${u.id}`, body);
  } catch (e) {
    failed(`Change ${u.username}`, e);
  }
  load();
}

async function tokensOf(u) {
  try {
    const r = await api('GET', `/api/v1/users/${u.id}/tokens`);
    $('#person-tokens-title').textContent = `Tokens of ${u.username}`;
    // The most over-granted first: least privilege from observed use.
    const tokens = r.tokens.slice().sort((a, b) => b.unused_scopes.length - a.unused_scopes.length);
    $('#person-tokens tbody').replaceChildren(...tokens.map((t) => el('tr', { 'data-id': t.id },
      el('td', {}, t.name), el('td', {}, el('code', {}, `${t.prefix}…`)), el('td', {}, t.scopes.join(', ')),
      el('td', { class: 'unused' }, t.unused_scopes.length ? `${t.unused_scopes.length} of ${t.scopes.length}: ${t.unused_scopes.join(', ')}` : '—'),
      el('td', {}, badge(t)), el('td', {}, expires(t)), el('td', {}, lastUsed(t)),
      el('td', {}, el('div', { class: 'row-actions' },
        // A superuser's hand on one token; its owner is emailed.
        t.canary ? null : el('button', { type: 'button', onclick: () => theirToken(u, t, t.status === 'disabled' ? 'enable' : 'disable') },
          t.status === 'disabled' ? 'Enable' : 'Disable'),
        el('button', { type: 'button', class: 'danger', onclick: () => theirToken(u, t, 'delete') }, 'Delete'))))));
    $('#person-tokens').hidden = false;
  } catch (e) {
    failed(`Tokens of ${u.username}`, e);
  }
}

async function theirToken(u, t, action) {
  const what = { disable: 'Disable', enable: 'Enable', delete: 'Delete' }[action];
  const ok = await confirmAction(`${what} “${t.name}” of ${u.username}?`,
    `${u.username} is emailed that you did. ${action === 'delete' ? 'Deleting is permanent.' : ''}`, what);
  if (!ok) return;
  const base = `/api/v1/users/${u.id}/tokens/${t.id}`;
  try {
    if (action === 'delete') await change('DELETE', base);
    else await change('POST', `${base}/${action}`);
  } catch (e) { failed(`${what} “${t.name}”`, e); }
  tokensOf(u);
}

async function revokeAll(u) {
  const ok = await confirmAction(`Revoke every token of ${u.username}?`,
    'All of their tokens are deleted for good; anything using them gets 401 at once.', 'Revoke all');
  if (!ok) return;
  try {
    await change('POST', `/api/v1/users/${u.id}/tokens/revoke-all`);
  } catch (e) { failed(`Revoke the tokens of ${u.username}`, e); }
  load();
}

export function init() {
  $('#person-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#person-error').textContent = '';
    try {
      const body = { username: $('#person-username').value, password: $('#person-password').value,
        role: $('#person-role').value };
      if ($('#person-email').value) body.email = $('#person-email').value;
      await api('POST', '/api/v1/users', body);
      ev.target.reset();
      load();
    } catch (e) {
      $('#person-error').textContent = e.message;
    }
  });
}

// An organization's Team page (product document 001): its members, their
// role and token permission, its policy, its audit log; for its owners
// and superusers. The organization is the one chosen in the top bar.
import { $, el, localTime } from '../dom.js';
import { api, change } from '../api.js';
import { confirmAction } from '../dialogs.js';
import { failed } from '../notify.js';
import { currentOrg, loadOrgs } from '../orgs.js';

const base = () => `/api/v1/orgs/${currentOrg().slug}`;

export async function load() {
  const org = currentOrg();
  $('#team-title').textContent = org ? `Team: ${org.name}` : 'Team';
  $('#team-body').hidden = !org;
  if (!org) return;
  const [members, policy, audit] = await Promise.all([
    api('GET', `${base()}/members`), api('GET', `${base()}/policy`),
    api('GET', `${base()}/audit?limit=50`)]);
  $('#team-table tbody').replaceChildren(...members.members.map((m) => el('tr', { 'data-user': m.username },
    el('td', {}, m.username), el('td', {}, m.role),
    el('td', { class: 'permission' }, m.can_manage_tokens ? 'Allowed' : 'Withdrawn'),
    el('td', {}, el('div', { class: 'row-actions' },
      el('button', { type: 'button', class: 'toggle-permission', onclick: () => patch(m, { can_manage_tokens: !m.can_manage_tokens }) },
        m.can_manage_tokens ? 'Withdraw token permission' : 'Grant token permission'),
      el('button', { type: 'button', onclick: () => patch(m, { role: m.role === 'owner' ? 'member' : 'owner' }) },
        m.role === 'owner' ? 'Make member' : 'Make owner'),
      el('button', { type: 'button', class: 'danger', onclick: () => revokeHere(m) }, 'Revoke tokens here'),
      el('button', { type: 'button', class: 'danger', onclick: () => removeMember(m) }, 'Remove'))))));
  $('#team-policy-default').value = policy.default_expires_in_days;
  $('#team-policy-max').value = policy.max_lifetime_days ?? '';
  $('#team-policy-never').checked = policy.allow_never_expires;
  $('#team-policy-enforcement').value = policy.enforcement;
  $('#team-audit tbody').replaceChildren(...audit.events.map((e) => el('tr', {},
    el('td', {}, localTime(e.at)), el('td', {}, e.actor_user_id ? `user ${e.actor_user_id}` : '—'),
    el('td', {}, e.action), el('td', {}, e.detail))));
}

async function patch(m, body) {
  try {
    await change('PATCH', `${base()}/members/${m.user_id}`, body);
  } catch (e) { failed(`Change ${m.username}`, e); }
  load();
}

async function removeMember(m) {
  const ok = await confirmAction(`Remove ${m.username} from ${currentOrg().name}?`,
    'Their tokens stop working in this organization; elsewhere nothing changes.', 'Remove');
  if (!ok) return;
  try {
    await change('DELETE', `${base()}/members/${m.user_id}`);
  } catch (e) { failed(`Remove ${m.username}`, e); }
  load();
}

async function revokeHere(m) {
  const ok = await confirmAction(`Revoke the tokens of ${m.username} in ${currentOrg().name}?`,
    'Tokens usable only here are deleted; the others stop being usable here and keep working elsewhere.', 'Revoke');
  if (!ok) return;
  try {
    const r = await change('POST', `${base()}/members/${m.user_id}/tokens/revoke-all`);
    $('#team-status').textContent = `${r.revoked} deleted, ${r.narrowed} no longer usable here.`;
  } catch (e) { failed(`Revoke the tokens of ${m.username}`, e); }
  load();
}

export function init() {
  $('#team-add').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#team-add-error').textContent = '';
    try {
      await change('POST', `${base()}/members`, { username: $('#team-add-username').value,
        role: $('#team-add-role').value });
      ev.target.reset();
      load();
    } catch (e) { $('#team-add-error').textContent = e.message; }
  });
  $('#team-policy').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#team-policy-error').textContent = '';
    $('#team-policy-saved').textContent = '';
    try {
      await change('PUT', `${base()}/policy`, {
        default_expires_in_days: Number($('#team-policy-default').value),
        max_lifetime_days: $('#team-policy-max').value ? Number($('#team-policy-max').value) : null,
        allow_never_expires: $('#team-policy-never').checked,
        enforcement: $('#team-policy-enforcement').value,
      });
      $('#team-policy-saved').textContent = 'Saved.';
      load();
    } catch (e) { $('#team-policy-error').textContent = e.message; }
  });
  $('#org-create').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#org-create-error').textContent = '';
    try {
      const body = { slug: $('#org-create-slug').value };
      if ($('#org-create-name').value) body.name = $('#org-create-name').value;
      await change('POST', '/api/v1/orgs', body);
      ev.target.reset();
      await loadOrgs();
      load();
    } catch (e) { $('#org-create-error').textContent = e.message; }
  });
}

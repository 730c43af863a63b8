// The audit log: filters and paging.
import { $, el, localTime } from '../dom.js';
import { api } from '../api.js';

let before = null; // the next page's cursor

export async function load(fresh = true) {
  if (fresh) before = null;
  const params = new URLSearchParams();
  if ($('#audit-user').value) params.set('user', $('#audit-user').value);
  if ($('#audit-action').value) params.set('action', $('#audit-action').value);
  if ($('#audit-since').value) params.set('since', `${$('#audit-since').value}T00:00:00Z`);
  if (before) params.set('before', before);
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
    before = r.next_before;
    $('#audit-more').hidden = !r.next_before;
  } catch (e) {
    body.append(el('tr', {}, el('td', { colspan: 7 }, e.message)));
  }
}

export function init() {
  $('#audit-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(true); });
  $('#audit-more').addEventListener('click', () => load(false));
}

// Email (superusers): what the outbox holds, whether email is configured,
// and retrying what waits.
import { $, el, localTime } from '../dom.js';
import { api, change } from '../api.js';
import { failed } from '../notify.js';

function render(r) {
  $('#email-unconfigured').hidden = r.configured;
  $('#email-counts').textContent =
    `${r.pending} pending, ${r.sent} sent, ${r.failed} failed`;
  $('#email-table tbody').replaceChildren(...r.messages.map((m) => el('tr', {},
    el('td', {}, localTime(m.created_at)), el('td', {}, m.to), el('td', {}, m.subject),
    el('td', {}, el('span', { class: `badge ${m.status}` }, m.status)),
    el('td', {}, String(m.attempts)),
    el('td', {}, m.next_attempt_at ? localTime(m.next_attempt_at) : '—'),
    el('td', { class: 'muted' }, m.last_error || ''))));
  if (!r.messages.length)
    $('#email-table tbody').append(el('tr', {}, el('td', { colspan: 7 }, 'No email yet.')));
}

export async function load() {
  render(await api('GET', '/api/v1/outbox'));
}

export function init() {
  $('#email-retry').addEventListener('click', async () => {
    try {
      render(await change('POST', '/api/v1/outbox/retry'));
    } catch (e) { failed('Retry the pending email', e); }
  });
}

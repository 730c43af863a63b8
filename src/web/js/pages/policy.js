// Superusers: the token policy and the tokens beyond it.
import { $, el, localTime } from '../dom.js';
import { api, change } from '../api.js';

export async function load() {
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

export function init() {
  $('#policy-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#policy-error').textContent = '';
    $('#policy-saved').textContent = '';
    try {
      await change('PUT', '/api/v1/policy', {
        default_expires_in_days: Number($('#policy-default').value),
        max_lifetime_days: $('#policy-max').value ? Number($('#policy-max').value) : null,
        allow_never_expires: $('#policy-never').checked,
        require_confirmation: $('#policy-confirm').checked,
        query_tokens_enabled: $('#policy-query').checked,
      });
      $('#policy-saved').textContent = 'Saved.';
      load();
    } catch (e) {
      $('#policy-error').textContent = e.message;
    }
  });
}

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
  $('#policy-enforcement').value = p.enforcement;
  preview();
  const v = await api('GET', '/api/v1/policy/violations');
  $('#violations-table tbody').replaceChildren(...v.tokens.map((t) => el('tr', {},
    el('td', {}, t.user_id), el('td', {}, t.name), el('td', {}, el('code', {}, `${t.prefix}…`)),
    el('td', {}, t.expires_at ? localTime(t.expires_at) : 'never'))));
  $('#violations-empty').hidden = v.tokens.length > 0;
}

// The policy as the form has it.
function formPolicy() {
  return {
    default_expires_in_days: Number($('#policy-default').value),
    max_lifetime_days: $('#policy-max').value ? Number($('#policy-max').value) : null,
    allow_never_expires: $('#policy-never').checked,
    require_confirmation: $('#policy-confirm').checked,
    query_tokens_enabled: $('#policy-query').checked,
    enforcement: $('#policy-enforcement').value,
  };
}

// What the form's policy would put out of bounds, before Save: the
// server's answer (POST /api/v1/policy/preview changes nothing).
let previewSeq = 0;
async function preview() {
  const seq = ++previewSeq;
  let text;
  try {
    const r = await api('POST', '/api/v1/policy/preview', formPolicy());
    text = r.tokens === 0 ? 'This policy puts no token out of bounds.'
      : `This would affect ${r.tokens} token${r.tokens === 1 ? '' : 's'} of ${r.people} `
        + `${r.people === 1 ? 'person' : 'people'}${$('#policy-enforcement').value === 'warn'
          ? ' (warn only: nothing is refused)' : ''}.`;
  } catch (e) {
    text = e.message;
  }
  if (seq === previewSeq) $('#policy-preview').textContent = text;
}

export function init() {
  let timer;
  $('#policy-form').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(preview, 250);
  });
  $('#policy-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#policy-error').textContent = '';
    $('#policy-saved').textContent = '';
    try {
      await change('PUT', '/api/v1/policy', formPolicy());
      $('#policy-saved').textContent = 'Saved.';
      load();
    } catch (e) {
      $('#policy-error').textContent = e.message;
    }
  });
}

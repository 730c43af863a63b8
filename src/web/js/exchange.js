// "Exchange for a short-lived token": a JWT for one of your tokens (the
// token exchange, #14), its decoded claims and a countdown to its expiry.
import { $, el, localTime } from './dom.js';
import { api, change } from './api.js';

let ticking = null;

// The JSON of one base64url part of a JWT.
function decodePart(part) {
  const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
  const bytes = Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)),
    (c) => c.charCodeAt(0));
  return JSON.parse(new TextDecoder().decode(bytes));
}

function countdown(exp) {
  const left = Math.round(exp - Date.now() / 1000);
  const at = localTime(new Date(exp * 1000).toISOString());
  $('#exchange-expiry').replaceChildren(left > 0
    ? `Expires in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')} (`
    : 'Expired (', at, ')');
}

function showResult(r) {
  const [header, payload] = r.access_token.split('.').slice(0, 2).map(decodePart);
  $('#exchange-form').hidden = true;
  $('#exchange-result').hidden = false;
  $('#exchange-jwt').value = r.access_token;
  $('#exchange-claims').textContent = JSON.stringify({ header, payload }, null, 2);
  countdown(payload.exp);
  clearInterval(ticking);
  ticking = setInterval(() => countdown(payload.exp), 1000);
}

export async function exchangeToken(t, onError) {
  let audiences;
  try {
    audiences = await api('GET', '/api/v1/audiences');
  } catch (e) { onError(e); return; }
  const d = $('#exchange-dialog');
  $('#exchange-title').textContent = `Exchange “${t.name}” for a short-lived token`;
  $('#exchange-error').textContent = '';
  $('#exchange-form').hidden = false;
  $('#exchange-result').hidden = true;
  $('#exchange-scopes').replaceChildren(el('legend', {}, 'Scopes'),
    ...t.scopes.map((s) => el('label', { class: 'inline' },
      el('input', { type: 'checkbox', value: s, checked: true }), ` ${s}`)));
  $('#exchange-audience').replaceChildren(
    el('option', { value: '' }, `Services behind patd (${audiences.issuer})`),
    ...audiences.audiences.map((a) => el('option', { value: a.name },
      `${a.name} (${a.uris[0]}, up to ${Math.round(a.max_lifetime_seconds / 60)} min)`)));
  $('#exchange-form').onsubmit = async (ev) => {
    ev.preventDefault();
    const scopes = [...$('#exchange-scopes').querySelectorAll('input:checked')].map((i) => i.value);
    if (!scopes.length) {
      $('#exchange-error').textContent = 'Choose at least one scope.';
      return;
    }
    const body = { scope: scopes.join(' ') };
    if ($('#exchange-audience').value) body.audience = $('#exchange-audience').value;
    try {
      showResult(await change('POST', `/api/v1/tokens/${t.id}/exchange`, body));
    } catch (e) {
      $('#exchange-error').textContent = e.message;
    }
  };
  $('#exchange-cancel').onclick = () => d.close();
  $('#exchange-close').onclick = () => d.close();
  $('#exchange-copy').onclick = () => navigator.clipboard?.writeText($('#exchange-jwt').value);
  d.onclose = () => {
    clearInterval(ticking);
    $('#exchange-jwt').value = '';
  };
  d.showModal();
}

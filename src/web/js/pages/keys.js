// Signing keys (superusers): the keys that sign exchanged JWTs, their
// state and when each leaves the JWKS, and a rotation (confirmed with the
// password, as every sensitive change). The rules of their lives are the
// server's; this page shows what it answers.
import { $, el, localTime } from '../dom.js';
import { api, change } from '../api.js';
import { confirmAction } from '../dialogs.js';
import { failed } from '../notify.js';

const stateText = { next: 'next (published, signs soon)', active: 'active (signs)', retired: 'retired' };

function render(r) {
  $('#keys-table tbody').replaceChildren(...r.keys.map((k) => el('tr', { 'data-kid': k.kid },
    el('td', {}, el('code', { title: k.kid }, `${k.kid.slice(0, 12)}…`)),
    el('td', {}, k.alg),
    el('td', {}, el('span', { class: `badge ${k.state}` }, stateText[k.state] || k.state)),
    el('td', {}, localTime(k.signs_from)),
    el('td', {}, k.retires_at ? localTime(k.retires_at) : '—'),
    el('td', {}, k.in_jwks ? 'yes' : 'no'))));
}

export async function load() {
  render(await api('GET', '/api/v1/keys'));
}

export function init() {
  $('#keys-rotate').addEventListener('click', async () => {
    const ok = await confirmAction('Rotate the signing key?',
      'A new key is published now and signs once verifiers have had time to fetch it. JWTs signed by the current key keep working until they expire.',
      'Rotate');
    if (!ok) return;
    try {
      render(await change('POST', '/api/v1/keys/rotate'));
    } catch (e) { failed('Rotate the signing key', e); }
  });
}

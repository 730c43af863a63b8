// The organizations the signed-in person belongs to (a superuser: all of
// them), and the one the console looks at. Tokens are the same list in
// every organization (product document 000): the choice changes the
// Team page, never the token list.
import { $, el } from './dom.js';
import { api } from './api.js';

let orgs = [];
let current = sessionStorage.getItem('patd.org') || '';
const listeners = [];

export const myOrgs = () => orgs.filter((o) => o.role);
export const currentOrg = () => orgs.find((o) => o.slug === current) || null;
export const onOrgChange = (fn) => listeners.push(fn);

// Whether the person may administer the current organization.
export function ownsCurrent(user) {
  const o = currentOrg();
  return !!o && (o.role === 'owner' || user.role === 'superuser');
}

export async function loadOrgs() {
  orgs = (await api('GET', '/api/v1/orgs')).orgs;
  if (!currentOrg()) current = (myOrgs()[0] || orgs[0] || { slug: '' }).slug;
  const sw = $('#org-switcher');
  sw.replaceChildren(...orgs.map((o) => el('option', { value: o.slug }, o.name === o.slug ? o.slug : `${o.name} (${o.slug})`)));
  sw.value = current;
  $('#org-switch').hidden = orgs.length === 0;
  return orgs;
}

export function forgetOrgs() {
  orgs = [];
  current = '';
  sessionStorage.removeItem('patd.org');
}

export function initOrgs() {
  $('#org-switcher').addEventListener('change', (ev) => {
    current = ev.target.value;
    sessionStorage.setItem('patd.org', current);
    for (const fn of listeners) fn(current);
  });
}

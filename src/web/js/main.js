// patd console: plain ES modules, no framework, no build step. This module
// signs in and out and routes #/page to its module; each page keeps its own
// state. A token value lives only in the dialog that shows it once.
import { $, $$ } from './dom.js';
import { api, setCsrf } from './api.js';
import { failed } from './notify.js';
import * as tokens from './pages/tokens.js';
import * as people from './pages/people.js';
import * as policy from './pages/policy.js';
import * as audit from './pages/audit.js';
import * as settings from './pages/settings.js';
import * as email from './pages/email.js';
import * as keys from './pages/keys.js';
import * as team from './pages/team.js';
import { forgetOrgs, initOrgs, loadOrgs, onOrgChange, ownsCurrent } from './orgs.js';

const pages = { tokens, people, policy, audit, settings, email, team, keys };
const superuserPages = ['people', 'policy', 'email', 'keys'];
let user = null;

function show(page) {
  for (const p of $$('.page')) p.hidden = p.id !== `page-${page}`;
  for (const a of $$('#nav a')) a.classList.toggle('current', a.dataset.page === page);
}

function go(page) {
  location.hash = `#/${page}`;
}

function signedOut() {
  user = null;
  forgetOrgs();
  setCsrf('');
  $('#nav').hidden = true;
  $('#menu').hidden = true;
  show('signin');
  $('#signin-username').focus();
}

function signedIn() {
  $('#nav').hidden = false;
  $('#menu').hidden = false;
  $('#whoami').textContent = user.username;
  for (const a of $$('[data-superuser]')) a.hidden = user.role !== 'superuser';
  $('#nav a[data-page=team]').hidden = !ownsCurrent(user);
}

async function route() {
  if (!user) {
    try {
      user = (await api('GET', '/api/v1/session')).user;
    } catch {
      return signedOut();
    }
  }
  try {
    await loadOrgs();
  } catch (e) {
    if (e.status === 401) return signedOut();
    failed('Loading your organizations', e);
  }
  signedIn();
  $('#menu').open = false; // a choice made in the menu closes it
  const page = (location.hash.replace('#/', '') || 'tokens').split('?')[0];
  if (!pages[page] || (superuserPages.includes(page) && user.role !== 'superuser')
      || (page === 'team' && !ownsCurrent(user))) return go('tokens');
  show(page);
  try {
    await pages[page].load();
  } catch (e) {
    if (e.status === 401) return signedOut();
    failed(`Loading ${page}`, e);
  }
}

$('#signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('#signin-error').textContent = '';
  try {
    const r = await api('POST', '/api/v1/session', {
      username: $('#signin-username').value, password: $('#signin-password').value,
    });
    setCsrf(r.csrf_token);
    user = r.user;
    $('#signin-password').value = '';
    if (!location.hash || location.hash === '#/signin') go('tokens');
    else route();
  } catch (e) {
    $('#signin-error').textContent = e.message;
  }
});

$('#signout').addEventListener('click', async () => {
  try { await api('DELETE', '/api/v1/session'); } catch { /* gone already */ }
  $('#menu').open = false;
  signedOut();
});

for (const p of Object.values(pages)) p.init();
initOrgs();
// Another organization: the token list stays (it is one list); the Team
// page follows, and is offered only where the person may administer.
onOrgChange(() => {
  if (!user) return;
  signedIn();
  const page = (location.hash.replace('#/', '') || 'tokens').split('?')[0];
  if (page === 'team') route();
});
window.addEventListener('hashchange', route);
route();

// The console in real headless Chromium (Debian's), against a real patd.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startPatd, ADMIN_PASSWORD } from './patd.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// Screenshots go to the test build, so make test leaves a clean clone
// clean; `make screenshots` sets SCREENSHOTS_DIR=docs/img to refresh them.
const shots = process.env.SCREENSHOTS_DIR ||
  join(here, '..', '..', 'build-test', 'screenshots');
mkdirSync(shots, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CONFIG = `
[scope projects:read]
description = Read projects and their settings
[scope projects:write]
description = Change projects
[scope deploy:prod]
description = Deploy to production
roles = superuser
[set CI]
description = What a pipeline needs
scopes = projects:read tokens
[audience billing]
uri = https://billing.example.com
max_lifetime_seconds = 120
`;

let patd, browser, context, page;
const dialogs = []; // any alert() would land here: an XSS would show up

async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

async function newPage(url) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, acceptDownloads: true });
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: url });
  const p = await ctx.newPage();
  p.setDefaultTimeout(10000);
  p.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  return { ctx, p };
}

async function signIn(p, url, username = 'admin', password = ADMIN_PASSWORD) {
  await p.goto(url + '/');
  await p.fill('#signin-username', username);
  await p.fill('#signin-password', password);
  await p.click('#signin-form button[type=submit]');
  await p.waitForSelector('#page-tokens:not([hidden])');
}

// Fills and submits the generate dialog; returns the value shown once.
async function generate(p, { name, description = '', duration = '7', date, set, scopes = ['tokens'] }) {
  await p.click('#generate');
  await p.waitForSelector('#token-dialog[open]');
  await p.fill('#token-name', name);
  await p.fill('#token-description', description);
  await p.selectOption('#token-duration', duration);
  if (date) await p.fill('#token-date', date);
  if (set) {
    await p.selectOption('#token-scope-set', set);
  } else {
    for (const s of scopes) await p.check(`#scope-list input[value="${s}"]`);
  }
  await p.click('#token-submit');
  await p.waitForSelector('#value-dialog[open]');
  const value = await p.inputValue('#value-text');
  assert.match(value, /^pat_[0-9A-Za-z]{38}$/);
  return value;
}

async function closeValue(p) {
  await p.click('#value-close');
  await p.waitForSelector('#value-dialog:not([open])', { state: 'attached' });
}

// A row action other than Edit lives in the row's "More" menu.
async function rowAction(r, label) {
  await r.locator('details.row-menu > summary').click();
  await r.locator('details.row-menu button', { hasText: label }).click();
}

function row(p, name) {
  return p.locator('#token-table tbody tr', { has: p.locator('.token-name', { hasText: name }) });
}

async function rowByName(p, name) {
  const r = row(p, name);
  await r.first().waitFor();
  return r.first();
}

before(async () => {
  mkdirSync(shots, { recursive: true });
  patd = await startPatd(CONFIG);
  browser = await launch();
  ({ ctx: context, p: page } = await newPage(patd.url));
});

after(async () => {
  await browser?.close();
  await patd?.stop();
});

test('sign in shows the person in the top bar, with safe headers', async () => {
  const res = await page.goto(patd.url + '/');
  const csp = res.headers()['content-security-policy'];
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /frame-ancestors 'none'/);
  await page.screenshot({ path: join(shots, 'signin.png') });
  await page.fill('#signin-username', 'admin');
  await page.fill('#signin-password', 'wrong-password');
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#signin-error:not(:empty)');
  await page.fill('#signin-password', ADMIN_PASSWORD);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#page-tokens:not([hidden])');
  assert.equal(await page.textContent('#whoami'), 'admin');
});

test('generate with a preset set: value shown once, copied, curl example, gone after close', async () => {
  await page.click('#generate');
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-name', 'ci-pipeline');
  await page.fill('#token-description', 'builds the app');
  await page.selectOption('#token-scope-set', 'CI');
  await page.screenshot({ path: join(shots, 'generate.png') });
  await page.click('#token-submit');
  await page.waitForSelector('#value-dialog[open]');
  const value = await page.inputValue('#value-text');
  assert.match(value, /^pat_/);
  const curl = await page.inputValue('#value-curl');
  assert.ok(curl.includes(value) && curl.includes(patd.url), curl);
  assert.match(await page.textContent('#value-dialog .warning'), /only time/);
  await page.click('#value-copy');
  await page.waitForSelector('#value-copied:has-text("Copied")');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), value);
  const download = page.waitForEvent('download');
  await page.click('#value-download');
  const file = await download;
  assert.equal(file.suggestedFilename(), 'patd-token.txt');
  await page.screenshot({ path: join(shots, 'token-value.png') });
  await closeValue(page);
  // Not in the DOM, storage or URL once the dialog is closed.
  const leftovers = await page.evaluate((v) => ({
    dom: document.documentElement.outerHTML.includes(v),
    inputs: [...document.querySelectorAll('input, textarea')].some((i) => i.value.includes(v)),
    local: JSON.stringify(localStorage).includes(v),
    session: JSON.stringify(sessionStorage).includes(v),
    url: location.href.includes(v),
  }), value);
  assert.deepEqual(leftovers, { dom: false, inputs: false, local: false, session: false, url: false });
  const r = await patd.api('GET', '/api/v1/tokens/self', { token: value });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.scopes, ['tokens', 'projects:read']);
});

test('each duration kind and a custom scope selection', async () => {
  for (const d of ['30', '60', '90']) {
    const v = await generate(page, { name: `days-${d}`, duration: d });
    await closeValue(page);
    const r = await patd.api('GET', '/api/v1/tokens/self', { token: v });
    const days = (Date.parse(r.json.expires_at) - Date.parse(r.json.created_at)) / 86400000;
    assert.equal(Math.round(days), Number(d));
  }
  const v = await generate(page, { name: 'custom-date', duration: 'custom', date: '2099-06-30' });
  await closeValue(page);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).json.expires_at, '2099-06-30T00:00:00Z');
  const n = await generate(page, { name: 'forever', duration: 'never' });
  await closeValue(page);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: n })).json.expires_at, null);
  // Custom selection with the search field and the "only checked" filter.
  await page.click('#generate');
  await page.fill('#token-name', 'custom-scopes');
  await page.fill('#scope-search', 'change');
  assert.equal(await page.isVisible('#scope-list li[data-name="projects:write"]'), true);
  assert.equal(await page.isVisible('#scope-list li[data-name="tokens"]'), false);
  await page.check('#scope-list input[value="projects:write"]');
  await page.fill('#scope-search', '');
  await page.check('#scope-list input[value="deploy:prod"]');
  await page.check('#scope-only-checked');
  assert.equal(await page.locator('#scope-list li:visible').count(), 2);
  await page.click('#token-submit');
  await page.waitForSelector('#value-dialog[open]');
  const c = await page.inputValue('#value-text');
  await closeValue(page);
  assert.deepEqual((await patd.api('GET', '/api/v1/tokens/self', { token: c })).json.scopes, ['projects:write', 'deploy:prod']);
});

test('server errors appear next to their field', async () => {
  await page.click('#generate');
  try {
    await page.fill('#token-name', 'ci-pipeline'); // taken
    await page.check('#scope-list input[value="tokens"]');
    await page.click('#token-submit');
    await page.waitForSelector('#token-form [data-field="name"]:not(:empty)');
    assert.match(await page.textContent('#token-form [data-field="name"]'), /already have a token/);
    await page.fill('#token-name', 'no-scopes');
    await page.uncheck('#scope-list input[value="tokens"]');
    await page.click('#token-submit');
    await page.waitForSelector('#token-form [data-field="scopes"]:not(:empty)');
    assert.equal(await page.textContent('#token-form [data-field="name"]'), '');
  } finally {
    await page.click('#token-cancel');
  }
});

test('the list shows prefix, status and expiry; edit', async () => {
  await page.click('#refresh');
  const r = await rowByName(page, 'days-30');
  assert.match(await r.textContent(), /pat_[0-9A-Za-z]{6}…/);
  assert.match(await r.textContent(), /Active/);
  assert.match(await r.textContent(), /in 30 days|in 4 weeks|next month/);
  assert.match(await (await rowByName(page, 'forever')).textContent(), /never/);
  await page.screenshot({ path: join(shots, 'tokens.png'), fullPage: true });
  await r.locator('button', { hasText: 'Edit' }).click();
  await page.waitForSelector('#token-dialog[open]');
  assert.equal(await page.inputValue('#token-name'), 'days-30');
  await page.fill('#token-description', 'edited in the console');
  await page.selectOption('#token-duration', 'never');
  await page.click('#token-submit');
  await page.waitForSelector('#token-dialog:not([open])', { state: 'attached' });
  const after = await rowByName(page, 'days-30');
  await after.locator('text=edited in the console').waitFor();
  assert.match(await after.textContent(), /never/);
  // A preset on edit is sent as the preset: the server counts the days
  // from its own clock (the console computes no date).
  await after.locator('button', { hasText: 'Edit' }).click();
  await page.waitForSelector('#token-dialog[open]');
  await page.selectOption('#token-duration', '60');
  const [patch] = await Promise.all([
    page.waitForRequest((req) => req.method() === 'PATCH'),
    page.click('#token-submit'),
  ]);
  const sent = patch.postDataJSON();
  assert.equal(sent.expires_in_days, 60);
  assert.equal(sent.expires_at, undefined);
  await page.waitForSelector('#token-dialog:not([open])', { state: 'attached' });
  // The list is fetched again after the dialog closes: wait for it, not
  // for the row that was there before (a loaded machine showed the old one).
  await row(page, 'days-30').filter({ hasText: /in 60 days|in 2 months|in 9 weeks/ }).first().waitFor();
});

test('disable dims the row and the token fails; enable restores', async () => {
  const v = await generate(page, { name: 'switchable' });
  await closeValue(page);
  let r = await rowByName(page, 'switchable');
  await rowAction(r, 'Disable');
  assert.match(await page.textContent('#confirm-text'), /loses access at once/);
  await page.click('#confirm-yes');
  await page.locator('#token-table tr.dimmed', { hasText: 'switchable' }).waitFor();
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 401);
  r = await rowByName(page, 'switchable');
  await r.locator('button', { hasText: 'Edit' }).click();
  assert.match(await page.textContent('#confirm-text'), /cannot be edited/);
  await page.click('#confirm-yes');
  await rowAction(r, 'Enable');
  await page.click('#confirm-yes');
  await page.locator('#token-table tr:not(.dimmed)', { hasText: 'switchable' }).waitFor();
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 200);
});

test('regenerate and copy show new values that work', async () => {
  const old = await generate(page, { name: 'rotate-me' });
  await closeValue(page);
  await rowAction(await rowByName(page, 'rotate-me'), 'Regenerate');
  await page.click('#confirm-yes');
  await page.waitForSelector('#value-dialog[open]');
  const fresh = await page.inputValue('#value-text');
  await closeValue(page);
  assert.notEqual(fresh, old);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: old })).status, 401);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: fresh })).status, 200);
  await rowAction(await rowByName(page, 'rotate-me'), 'Copy');
  await page.fill('#name-input', 'rotate-me-too');
  await page.click('#name-form button[type=submit]');
  await page.waitForSelector('#value-dialog[open]');
  const copy = await page.inputValue('#value-text');
  await closeValue(page);
  const r = await patd.api('GET', '/api/v1/tokens/self', { token: copy });
  assert.equal(r.json.name, 'rotate-me-too');
});

test('a canary: generated without scopes, its own badge, tripped when presented; clients listed', async () => {
  await page.click('#generate');
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-name', 'wiki-canary');
  await page.check('#token-canary');
  assert.equal(await page.isVisible('#scope-block'), false);
  assert.equal(await page.isVisible('#duration-block'), false);
  await page.click('#token-submit');
  await page.waitForSelector('#value-dialog[open]');
  const decoy = await page.inputValue('#value-text');
  await closeValue(page);
  let r = await rowByName(page, 'wiki-canary');
  assert.equal((await r.locator('.badge').textContent()).trim(), 'Canary');
  assert.match(await r.textContent(), /never tripped/);
  // Presented: refused like any unknown value, and the row says so.
  const res = await fetch(patd.url + '/auth', { headers: { Authorization: `Bearer ${decoy}` } });
  assert.equal(res.status, 401);
  const deadline = Date.now() + 10000;
  do {
    await page.click('#refresh');
    await page.waitForTimeout(200);
    r = await rowByName(page, 'wiki-canary');
  } while (!/Tripped/.test(await r.textContent()) && Date.now() < deadline);
  assert.match(await r.textContent(), /Tripped/);
  await r.locator('details.row-menu > summary').click();
  const labels = await r.locator('details.row-menu button').allTextContents();
  assert.ok(!labels.includes('Enable') && !labels.includes('Disable'), labels.join());
  await r.locator('details.row-menu button', { hasText: 'Presentations' }).click();
  await page.waitForSelector('#clients-table');
  assert.match(await page.textContent('#clients-table'), /127\.0\.0\.0\/24/);
  await page.screenshot({ path: join(shots, 'canary.png') });
  await page.click('#confirm-yes');
  await page.waitForSelector('#confirm-dialog:not([open])', { state: 'attached' });
});

test('a token is exchanged for a short-lived JWT: decoded claims, a countdown, it works', async () => {
  await generate(page, { name: 'exchange-me', scopes: ['tokens', 'projects:read'] });
  await closeValue(page);
  await rowAction(await rowByName(page, 'exchange-me'), 'Exchange for a short-lived token');
  await page.waitForSelector('#exchange-dialog[open]');
  await page.uncheck('#exchange-scopes input[value="tokens"]');
  await page.selectOption('#exchange-audience', 'billing');
  await page.click('#exchange-form button[type=submit]');
  await page.waitForSelector('#exchange-result:not([hidden])');
  const jwt = await page.inputValue('#exchange-jwt');
  assert.match(jwt, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/);
  await page.click('#exchange-result summary');
  const decoded = JSON.parse(await page.textContent('#exchange-claims'));
  assert.equal(decoded.header.typ, 'at+jwt');
  assert.equal(decoded.payload.scope, 'projects:read');
  assert.equal(decoded.payload.aud, 'https://billing.example.com');
  assert.match(await page.textContent('#exchange-expiry'), /^Expires in [0-2]:\d\d \(/);
  await page.screenshot({ path: join(shots, 'exchange.png') });
  const r = await fetch(patd.url + '/auth', { headers: { Authorization: `Bearer ${jwt}`,
    'X-Required-Audience': 'https://billing.example.com' } });
  assert.equal(r.status, 204);
  await page.click('#exchange-close');
  await page.waitForSelector('#exchange-dialog:not([open])', { state: 'attached' });
  assert.equal(await page.inputValue('#exchange-jwt'), ''); // not left in the page
});

test('notification settings are saved; the Email page shows mail waiting unconfigured', async () => {
  await page.click('#menu > summary');
  await page.click('#menu a[href="#/settings"]');
  await page.waitForSelector('#page-settings:not([hidden])');
  await page.fill('#me-email', 'admin@example.com');
  await page.uncheck('#me-expiry');
  await page.click('#me-form button[type=submit]');
  await page.waitForSelector('.toast.ok');
  await page.click('.toast.ok .dismiss');
  await page.click('#nav a[data-page="tokens"]');
  await page.waitForSelector('#page-tokens:not([hidden])');
  await page.click('#menu > summary');
  await page.click('#menu a[href="#/settings"]');
  await page.waitForSelector('#page-settings:not([hidden])');
  for (let i = 0; i < 100 && await page.inputValue('#me-email') !== 'admin@example.com'; i++)
    await page.waitForTimeout(50);
  assert.equal(await page.inputValue('#me-email'), 'admin@example.com');
  assert.equal(await page.isChecked('#me-expiry'), false);
  assert.equal(await page.isChecked('#me-new-client'), true);
  // A bad address is refused next to the form.
  await page.fill('#me-email', 'not-an-address');
  await page.click('#me-form button[type=submit]');
  await page.waitForSelector('#me-error:not(:empty)');
  // A token made now has its email waiting: no smtp_url in these tests.
  await page.click('#nav a[data-page="tokens"]');
  await page.waitForSelector('#page-tokens:not([hidden])');
  await generate(page, { name: 'mailed-about' });
  await closeValue(page);
  await page.click('#nav a[data-page="email"]');
  await page.waitForSelector('#page-email:not([hidden])');
  await page.waitForSelector('#email-table tbody tr td');
  assert.equal(await page.isVisible('#email-unconfigured'), true);
  const row = page.locator('#email-table tbody tr', { hasText: 'mailed-about' }).first();
  assert.match(await row.textContent(), /admin@example\.com.*pending/);
  await page.screenshot({ path: join(shots, 'email.png') });
  await page.click('#nav a[data-page="tokens"]');
  await page.waitForSelector('#page-tokens:not([hidden])');
});

test('a superuser sees the signing keys and rotates one; a ninth published key is refused in view', async () => {
  await page.click('#nav a[data-page="keys"]');
  await page.waitForSelector('#page-keys:not([hidden])');
  await page.locator('#keys-table tbody tr', { hasText: 'active' }).first().waitFor();
  const before = await page.locator('#keys-table tbody tr').count();
  await page.click('#keys-rotate');
  assert.match(await page.textContent('#confirm-text'), /published now/);
  await page.click('#confirm-yes');
  await page.locator('#keys-table tbody tr', { hasText: 'next' }).first().waitFor();
  assert.equal(await page.locator('#keys-table tbody tr').count(), before + 1);
  const s = await patd.adminSession();
  const listed = (await patd.api('GET', '/api/v1/keys', s)).json.keys;
  assert.equal(listed.length, before + 1);
  await page.screenshot({ path: join(shots, 'keys.png') });
  // Up to eight published; the refusal stays on screen until dismissed.
  for (let i = listed.length; i < 8; i++)
    assert.equal((await patd.api('POST', '/api/v1/keys/rotate', s)).status, 200);
  await page.click('#keys-rotate');
  await page.click('#confirm-yes');
  await page.locator('.toast', { hasText: 'published already' }).waitFor();
  await page.click('.toast .dismiss');
  await page.click('#nav a[data-page="tokens"]');
  await page.waitForSelector('#page-tokens:not([hidden])');
});

test('bulk delete', async () => {
  const a = await generate(page, { name: 'bulk-a' });
  await closeValue(page);
  const b = await generate(page, { name: 'bulk-b' });
  await closeValue(page);
  await (await rowByName(page, 'bulk-a')).locator('input.select').check();
  await (await rowByName(page, 'bulk-b')).locator('input.select').check();
  await page.click('#bulk-delete');
  assert.match(await page.textContent('#confirm-text'), /permanent/);
  await page.click('#confirm-yes');
  await row(page, 'bulk-a').waitFor({ state: 'detached' });
  assert.equal(await row(page, 'bulk-b').count(), 0);
  for (const v of [a, b]) assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 401);
});

test('a name with markup renders as text', async () => {
  const evil = '<img src=x onerror=alert(1)>';
  await generate(page, { name: evil });
  await closeValue(page);
  const r = await rowByName(page, evil);
  assert.equal(await r.locator('.token-name').textContent(), evil);
  assert.equal(await page.locator('#token-table img').count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, []);
});

// Polls a locator's count (page.waitForFunction would need eval, which the
// console's Content-Security-Policy rightly forbids).
async function waitCount(locator, n) {
  for (let i = 0; i < 100; i++) {
    if (await locator.count() === n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(await locator.count(), n);
}

test('search and status filter', async () => {
  const rows = page.locator('#token-table tbody tr');
  await page.fill('#token-search', 'rotate');
  await waitCount(rows, 2);
  await page.fill('#token-search', '');
  await page.selectOption('#token-status', 'disabled');
  await waitCount(rows, 0);
  await page.selectOption('#token-status', '');
  await rows.first().waitFor();
});

test('superuser withdraws a person\u2019s permission and their token fails', async () => {
  const s = await patd.adminSession();
  await patd.api('POST', '/api/v1/users', { ...s, body: { username: 'mia', password: 'mia-password-123' } });
  const { ctx, p } = await newPage(patd.url);
  await signIn(p, patd.url, 'mia', 'mia-password-123');
  const v = await generate(p, { name: 'mia-token' });
  await closeValue(p);
  await ctx.close();
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 200);
  await page.click('#nav a[data-page=people]');
  const person = page.locator('#people-table tbody tr', { hasText: 'mia' });
  await person.locator('button', { hasText: 'Withdraw token permission' }).click();
  await person.locator('text=Withdrawn').waitFor();
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 401);
  await person.locator('button', { hasText: /^Tokens$/ }).click();
  await page.locator('#person-tokens', { hasText: 'mia-token' }).waitFor();
  await page.screenshot({ path: join(shots, 'people.png'), fullPage: true });
  // A superuser's hand on one of mia's tokens.
  const tokenRow = page.locator('#person-tokens tbody tr', { hasText: 'mia-token' });
  await tokenRow.locator('button', { hasText: /^Disable$/ }).click();
  await page.click('#confirm-yes');
  await tokenRow.locator('button', { hasText: /^Enable$/ }).waitFor();
  const mia = (await patd.api('GET', '/api/v1/users', s)).json.users.find((u) => u.username === 'mia');
  const theirs = (await patd.api('GET', `/api/v1/users/${mia.id}/tokens`, s)).json.tokens;
  assert.equal(theirs.find((t) => t.name === 'mia-token').status, 'disabled');
  await page.click('#nav a[data-page=policy]');
  await page.waitForSelector('#page-policy:not([hidden])');
  // The preview follows the form before Save (a never-expiring token exists).
  await page.locator('#policy-preview', { hasText: 'no token' }).waitFor();
  await page.uncheck('#policy-never');
  await page.locator('#policy-preview', { hasText: /would affect [1-9]\d* tokens? of 1 person/ }).waitFor();
  assert.equal((await patd.api('GET', '/api/v1/policy', s)).json.allow_never_expires, true);
  await page.screenshot({ path: join(shots, 'policy.png'), fullPage: true });
  await page.check('#policy-never');
  await page.click('#nav a[data-page=audit]');
  await page.locator('#audit-table tbody tr').first().waitFor();
  await page.screenshot({ path: join(shots, 'audit.png') });
});

test('readable at 375 px', async () => {
  const ctx = await browser.newContext({ viewport: { width: 375, height: 780 } });
  const p = await ctx.newPage();
  await signIn(p, patd.url);
  const overflow = await p.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
  assert.equal(overflow, false);
  await p.screenshot({ path: join(shots, 'tokens-375.png') });
  await ctx.close();
});

test('the password confirmation step, when the window has closed', async () => {
  // Four seconds: time is kept in whole seconds, so the window lasts 3-4 s,
  // enough for the retry that follows a confirmation on a loaded machine.
  const short = await startPatd('confirm_window_seconds = 4\n');
  try {
    const { ctx, p } = await newPage(short.url);
    await signIn(p, short.url);
    await p.waitForTimeout(4500);
    await p.click('#generate');
    await p.fill('#token-name', 'after-confirm');
    await p.check('#scope-list input[value="tokens"]');
    await p.click('#token-submit');
    await p.waitForSelector('#password-dialog[open]');
    await p.fill('#password-input', 'not-my-password');
    await p.click('#password-form button[type=submit]');
    await p.waitForSelector('#password-error:not(:empty)');
    await p.fill('#password-input', ADMIN_PASSWORD);
    await p.click('#password-form button[type=submit]');
    await p.waitForSelector('#value-dialog[open]');
    await ctx.close();
  } finally {
    await short.stop();
  }
});

// ---- the console restructure (issue #18, part 1): one test per defect ----

async function toTokens(p) {
  await p.click('#nav a[data-page=tokens]');
  await p.waitForSelector('#page-tokens:not([hidden])');
}

test('the navigation is hidden while signed out', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const p = await ctx.newPage();
  await p.goto(patd.url + '/');
  await p.waitForSelector('#page-signin:not([hidden])');
  assert.equal(await p.isVisible('#nav'), false);
  assert.equal(await p.isVisible('#menu'), false);
  await ctx.close();
});

test('every console module is served by its path', async () => {
  for (const path of ['/js/main.js', '/js/api.js', '/js/pages/tokens.js', '/js/exchange.js',
    '/js/pages/settings.js', '/js/pages/email.js',
    '/style.css']) {
    const r = await fetch(patd.url + path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-security-policy'), /script-src 'self'/);
  }
  assert.equal((await fetch(patd.url + '/js/nothing.js')).status, 404);
  assert.equal((await fetch(patd.url + '/app.js')).status, 404);
});

test('a failed row action stays on screen until dismissed', async () => {
  await toTokens(page);
  await generate(page, { name: 'fails-loudly' });
  await closeValue(page);
  const r = await rowByName(page, 'fails-loudly');
  await rowAction(r, 'Disable');
  await page.click('#confirm-yes');
  await page.locator('#token-table tr.dimmed', { hasText: 'fails-loudly' }).waitFor();
  // Regenerate on a disabled token: 409, shown after the list reloads.
  await rowAction(await rowByName(page, 'fails-loudly'), 'Regenerate');
  await page.click('#confirm-yes');
  const toast = page.locator('#toasts .toast', { hasText: 'disabled' });
  await toast.waitFor();
  assert.match(await toast.textContent(), /Regenerate “fails-loudly”/);
  await page.click('#refresh');
  await page.waitForTimeout(300);
  assert.equal(await toast.isVisible(), true);
  await toast.locator('button.dismiss').click();
  await toast.waitFor({ state: 'detached' });
});

test('"expires soon" is the end of a token\u2019s life, not all of a 7-day one', async () => {
  await toTokens(page);
  await generate(page, { name: 'fresh-week', duration: '7' });
  await closeValue(page);
  const r = await rowByName(page, 'fresh-week');
  assert.match(await r.textContent(), /Active/);
  assert.doesNotMatch(await r.textContent(), /Expires soon/);
  // Times read "in 7 days", the exact local time on hover.
  const t = r.locator('td:nth-child(6) time');
  assert.match(await t.textContent(), /in 7 days|in 1 week|next week/);
  assert.match(await t.getAttribute('title'), /UTC/);
});

test('Shift-click selects a range, Ctrl-click toggles a row', async () => {
  await toTokens(page);
  for (const n of ['range-1', 'range-2', 'range-3']) {
    await generate(page, { name: n });
    await closeValue(page);
  }
  await page.fill('#token-search', 'range-');
  await waitCount(page.locator('#token-table tbody tr'), 3);
  const boxes = page.locator('#token-table tbody input.select');
  await boxes.nth(0).click();
  await boxes.nth(2).click({ modifiers: ['Shift'] });
  assert.equal(await page.locator('#token-table tbody input.select:checked').count(), 3);
  assert.equal(await page.textContent('#bulk-delete'), 'Delete 3 selected');
  await page.locator('#token-table tbody tr').nth(1).locator('td').nth(2).click({ modifiers: ['Control'] });
  assert.equal(await page.locator('#token-table tbody input.select:checked').count(), 2);
  await page.click('#bulk-delete');
  await page.click('#confirm-yes');
  await waitCount(page.locator('#token-table tbody tr'), 1);
  await page.fill('#token-search', '');
});

test('networks and the regenerate grace can be set; the last user agent shows', async () => {
  await toTokens(page);
  const v = await generate(page, { name: 'from-the-lan' });
  await closeValue(page);
  // Used once from a named client, then limited to a network on edit.
  const used = await fetch(patd.url + '/auth', { headers: { Authorization: `Bearer ${v}`, 'User-Agent': 'deploy-bot/4.2' } });
  assert.equal(used.status, 204);
  await (await rowByName(page, 'from-the-lan')).locator('button', { hasText: 'Edit' }).click();
  await page.fill('#token-cidrs', '127.0.0.0/8 10.0.0.0/8');
  await page.click('#token-submit');
  await page.waitForSelector('#token-dialog:not([open])', { state: 'attached' });
  await (await rowByName(page, 'from-the-lan')).locator('text=only from 127.0.0.0/8, 10.0.0.0/8').waitFor();
  for (let i = 0; i < 50; i++) {
    await page.click('#refresh');
    if (await (await rowByName(page, 'from-the-lan')).locator('.ua', { hasText: 'deploy-bot/4.2' }).count()) break;
    await page.waitForTimeout(200);
  }
  await (await rowByName(page, 'from-the-lan')).locator('.ua', { hasText: 'deploy-bot/4.2' }).waitFor();
  // Regenerate with an hour's grace: both values work meanwhile.
  await rowAction(await rowByName(page, 'from-the-lan'), 'Regenerate');
  await page.selectOption('#regenerate-grace', '3600');
  await page.click('#confirm-yes');
  await page.waitForSelector('#value-dialog[open]');
  const fresh = await page.inputValue('#value-text');
  await closeValue(page);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 200);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: fresh })).status, 200);
  // The rotation panel names the client still on the old value; retire it.
  for (let i = 0; i < 50; i++) {
    await page.click('#refresh');
    if (await (await rowByName(page, 'from-the-lan')).locator('.rotation', { hasText: 'used 1 time' }).count()) break;
    await page.waitForTimeout(200);
  }
  const panel = (await rowByName(page, 'from-the-lan')).locator('.rotation');
  await panel.locator('text=Rotation in progress').waitFor();
  assert.match(await panel.textContent(), /Old value: used 1 time, last by 127\.0\.0\.1/);
  assert.match(await panel.textContent(), /New value: first used by 127\.0\.0\.1/);
  await page.screenshot({ path: join(shots, 'rotation.png') });
  await panel.locator('button', { hasText: 'Retire old value now' }).click();
  await page.click('#confirm-yes');
  await (await rowByName(page, 'from-the-lan')).locator('.rotation').waitFor({ state: 'detached' });
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: v })).status, 401);
  assert.equal((await patd.api('GET', '/api/v1/tokens/self', { token: fresh })).status, 200);
});

test('scopes unused lately are shown, and removed in one confirmed click', async () => {
  const lp = await startPatd('least_privilege_seconds = 2\n[scope projects:read]\ndescription = Read\n');
  try {
    const s = await lp.adminSession();
    const t = (await lp.api('POST', '/api/v1/tokens', { ...s, body: { name: 'over-granted', scopes: ['tokens', 'projects:read'] } })).json;
    const use = () => fetch(lp.url + '/auth', { headers: { Authorization: `Bearer ${t.token}`, 'X-Required-Scope': 'projects:read' } });
    const { ctx, p } = await newPage(lp.url);
    await signIn(p, lp.url);
    let note = p.locator('#token-table .unused-scopes');
    for (let i = 0; i < 60 && !(await note.count()); i++) {
      await use();
      await p.waitForTimeout(250);
      await p.click('#refresh');
    }
    assert.match(await note.textContent(), /1 of 2 scopes unused lately: tokens/);
    await p.screenshot({ path: join(shots, 'least-privilege.png') });
    await note.locator('button', { hasText: 'Remove them' }).click();
    await p.click('#confirm-yes');
    await (await rowByName(p, 'over-granted')).locator('.unused-scopes').waitFor({ state: 'detached' });
    const after = (await lp.api('GET', `/api/v1/tokens/${t.id}`, s)).json;
    assert.deepEqual(after.scopes, ['projects:read']);
    await ctx.close();
  } finally {
    await lp.stop();
  }
});

test('an empty list says what a token is for; a cancelled password prompt is reported', async () => {
  const short = await startPatd('confirm_window_seconds = 1\n');
  try {
    const { ctx, p } = await newPage(short.url);
    await signIn(p, short.url);
    await p.locator('#tokens-empty', { hasText: 'instead of your password' }).waitFor();
    await p.waitForTimeout(1500);
    await p.click('#generate');
    await p.fill('#token-name', 'never-made');
    await p.check('#scope-list input[value="tokens"]');
    await p.click('#token-submit');
    await p.waitForSelector('#password-dialog[open]');
    await p.click('#password-cancel');
    await p.locator('#token-form-error', { hasText: 'cancelled' }).waitFor();
    await ctx.close();
  } finally {
    await short.stop();
  }
});

test('row actions are one button and a compact menu; the table fits 1280 px', async () => {
  await toTokens(page);
  await page.click('#refresh');
  const r = await rowByName(page, 'rotate-me');
  assert.equal(await r.locator('.row-actions > button').count(), 1);
  assert.equal(await r.locator('details.row-menu button').first().isVisible(), false);
  await r.locator('details.row-menu > summary').click();
  assert.equal(await r.locator('details.row-menu button', { hasText: 'Regenerate' }).isVisible(), true);
  await r.locator('details.row-menu > summary').click();
  const fits = await page.evaluate(() => {
    const w = document.querySelector('#token-table').closest('.table-wrap');
    return w.scrollWidth <= w.clientWidth + 1;
  });
  assert.equal(fits, true);
});

// ---- organizations (issue #17) ----

test('the Team page toggles the token permission, and the token fails in that organization only', async () => {
  const op = await startPatd('');
  try {
    const s = await op.adminSession();
    await op.api('POST', '/api/v1/session/confirm', { ...s, body: { password: ADMIN_PASSWORD } });
    assert.equal((await op.api('POST', '/api/v1/orgs', { ...s, body: { slug: 'acme', name: 'Acme' } })).status, 201);
    assert.equal((await op.api('POST', '/api/v1/orgs/acme/members', { ...s, body: { username: 'admin', role: 'owner' } })).status, 201);
    assert.equal((await op.api('POST', '/api/v1/users', { ...s, body: { username: 'tina', password: 'tina-password-123' } })).status, 201);
    const login = await fetch(`${op.url}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: 'tina', password: 'tina-password-123' }) });
    const tina = { cookie: login.headers.get('set-cookie').split(';')[0], csrf: (await login.json()).csrf_token };

    const { ctx, p } = await newPage(op.url);
    await signIn(p, op.url);
    await p.waitForSelector('#org-switch:not([hidden])');
    await p.selectOption('#org-switcher', 'acme');
    await p.waitForSelector('#nav a[data-page=team]:not([hidden])');
    await p.click('#nav a[data-page=team]');
    await p.waitForSelector('#page-team:not([hidden])');
    await p.locator('#team-title', { hasText: 'Team: Acme' }).waitFor();
    await p.fill('#team-add-username', 'tina');
    await p.click('#team-add button[type=submit]');
    const member = p.locator('#team-table tbody tr[data-user="tina"]');
    await member.locator('.permission', { hasText: 'Allowed' }).waitFor();

    const t = (await op.api('POST', '/api/v1/tokens', { ...tina, body: { name: 'tina-ci', scopes: ['tokens'] } })).json;
    const auth = (org) => fetch(`${op.url}/auth`, { headers: { Authorization: `Bearer ${t.token}`, 'X-Required-Org': org } });
    assert.equal((await auth('acme')).status, 204);

    await member.locator('button.toggle-permission').click();
    await member.locator('.permission', { hasText: 'Withdrawn' }).waitFor();
    assert.equal((await auth('acme')).status, 403);
    assert.equal((await auth('default')).status, 204); // elsewhere nothing changed
    await p.screenshot({ path: join(shots, 'team.png') });
    await member.locator('button.toggle-permission').click();
    await member.locator('.permission', { hasText: 'Allowed' }).waitFor();
    assert.equal((await auth('acme')).status, 204);

    // The token list is the same in every organization; the Generate
    // dialog offers all of them or a selection.
    await p.click('#nav a[data-page=tokens]');
    await p.waitForSelector('#page-tokens:not([hidden])');
    await p.click('#generate');
    await p.waitForSelector('#orgs-block:not([hidden])');
    await p.fill('#token-name', 'acme-only');
    await p.check('#scope-list input[value="tokens"]');
    await p.check('#token-org-list input[value="acme"]');
    assert.equal(await p.isChecked('#token-orgs-some'), true);
    await p.click('#token-submit');
    await p.waitForSelector('#value-dialog[open]');
    await closeValue(p);
    await (await rowByName(p, 'acme-only')).locator('.orgs', { hasText: 'only in acme' }).waitFor();
    await p.selectOption('#org-switcher', 'default');
    await rowByName(p, 'acme-only');
    const mine = (await op.api('GET', '/api/v1/tokens', s)).json.tokens;
    assert.deepEqual(mine.find((x) => x.name === 'acme-only').organizations, ['acme']);
    await ctx.close();

    // A member who owns no organization is not offered the Team page, and
    // cannot reach it by its address either.
    const other = await newPage(op.url);
    await signIn(other.p, op.url, 'tina', 'tina-password-123');
    await other.p.selectOption('#org-switcher', 'acme');
    assert.equal(await other.p.isHidden('#nav a[data-page=team]'), true);
    await other.p.goto(`${op.url}/#/team`);
    await other.p.waitForSelector('#page-tokens:not([hidden])');
    assert.equal(await other.p.isHidden('#page-team'), true);
    await other.ctx.close();
  } finally {
    await op.stop();
  }
});

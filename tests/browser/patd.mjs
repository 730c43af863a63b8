// Starts a real patd (the test build) on a free port with a temporary data
// dir, and stops it; the browser tests drive the console it serves.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const PATD = process.env.PATD_BIN || join(here, '..', '..', 'build-test', 'patd');
export const ADMIN_PASSWORD = 'correct-horse-battery-staple';

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startPatd(config = '') {
  const dir = mkdtempSync(join(tmpdir(), 'patd-browser-'));
  const port = await freePort();
  const conf = join(dir, 'patd.conf');
  writeFileSync(conf, config);
  const log = join(dir, 'patd.log');
  const env = { ...process.env, PATD_ADMIN_PASSWORD: ADMIN_PASSWORD, PATD_AUTH_FAIL_LIMIT: '100000',
    PATD_LAST_USE_FLUSH_SECONDS: '1' };
  const proc = spawn(PATD, ['--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'),
    '--config', conf], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`${url}/healthz`);
      if (r.ok) break;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    async stop() {
      proc.kill('SIGTERM');
      const code = await new Promise((r) => proc.on('exit', r));
      if (code !== 0 || /AddressSanitizer|runtime error:/.test(stderr)) {
        throw new Error(`patd exited ${code}:\n${stderr.slice(-3000)}`);
      }
    },
    log: () => stderr,
    // API helpers, as a script with a token would use them.
    async api(method, path, { token, body, cookie, csrf } = {}) {
      const headers = {};
      if (token) headers.Authorization = `Bearer ${token}`;
      if (cookie) headers.Cookie = cookie;
      if (csrf) headers['X-CSRF-Token'] = csrf;
      if (body !== undefined) headers['Content-Type'] = 'application/json';
      const r = await fetch(url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await r.text();
      return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
    },
    async adminSession() {
      const r = await fetch(`${url}/api/v1/session`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
      const j = await r.json();
      return { cookie: r.headers.get('set-cookie').split(';')[0], csrf: j.csrf_token };
    },
  };
}

export function readText(path) {
  return readFileSync(path, 'utf8');
}

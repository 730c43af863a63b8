// The API client: the one place that knows the CSRF token, turns answers
// into data or an ApiError, and asks for the password once when a change
// needs a fresh confirmation.
import { askPassword } from './dialogs.js';

let csrf = sessionStorage.getItem('patd.csrf') || '';

export function setCsrf(value) {
  csrf = value || '';
  if (csrf) sessionStorage.setItem('patd.csrf', csrf);
  else sessionStorage.removeItem('patd.csrf');
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(path, {
    method, headers, credentials: 'same-origin', cache: 'no-store',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

// A change to tokens: when the policy asks for a recent password, ask for
// it once and retry. A cancelled prompt is a failure the caller shows.
export async function change(method, path, body) {
  try {
    return await api(method, path, body);
  } catch (e) {
    if (e.status === 403 && e.body.error === 'confirmation_required') {
      if (!(await askPassword((password) => api('POST', '/api/v1/session/confirm', { password })))) {
        throw new ApiError(403, { error: 'confirmation_required',
          message: 'not changed: the password confirmation was cancelled' });
      }
      return api(method, path, body);
    }
    throw e;
  }
}

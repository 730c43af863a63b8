// Failures shown where they happened, until the person dismisses them: a
// toast in the corner for row actions (a list reload cannot hide it), or
// an inline alert next to a form. One place, one look.
import { $, el } from './dom.js';

// Shows message as a toast that stays until its × is pressed.
export function toast(message, kind = 'error') {
  const box = $('#toasts');
  const t = el('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    el('span', {}, message),
    el('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => t.remove() }, '×'));
  box.append(t);
  return t;
}

// An API failure (or a cancelled confirmation) as a toast, prefixed with
// what was being done: "Regenerate “ci”: the token is disabled; …".
export function failed(what, err) {
  return toast(`${what}: ${err.message}`);
}

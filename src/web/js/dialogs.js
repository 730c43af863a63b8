// The dialog component: modal questions that answer with a promise.
import { $ } from './dom.js';

// Opens dialog d and resolves with what settle() is given; Escape or a
// close without an answer resolves with fallback.
function ask(d, fallback, wire) {
  return new Promise((resolve) => {
    let done = false;
    const settle = (v) => {
      if (done) return;
      done = true;
      if (d.open) d.close();
      resolve(v);
    };
    d.oncancel = () => settle(fallback);
    d.onclose = () => settle(fallback);
    wire(settle);
    d.showModal();
  });
}

// Yes or no, with a title, a sentence and the word on the yes button.
export function confirmAction(title, text, yes = 'Confirm', extra = null, info = false) {
  const d = $('#confirm-dialog');
  $('#confirm-no').hidden = info;
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  const slot = $('#confirm-extra');
  slot.replaceChildren(...(extra ? [extra] : []));
  slot.hidden = !extra;
  return ask(d, false, (settle) => {
    $('#confirm-yes').onclick = () => settle(true);
    $('#confirm-no').onclick = () => settle(false);
  });
}

// Something to read, with a Close button only.
export function inform(title, text, extra = null) {
  return confirmAction(title, text, 'Close', extra, true);
}

// The password confirmation: submit(password) must succeed (else its
// error shows in the dialog); true once it did, false if cancelled.
export function askPassword(submit) {
  const d = $('#password-dialog');
  $('#password-error').textContent = '';
  $('#password-input').value = '';
  return ask(d, false, (settle) => {
    $('#password-cancel').onclick = () => settle(false);
    $('#password-form').onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        await submit($('#password-input').value);
        $('#password-input').value = '';
        settle(true);
      } catch (e) {
        $('#password-error').textContent = e.message;
      }
    };
  });
}

// A name, for a copy: submit(name) must succeed (else its error shows in
// the dialog); resolves with its result, or null if cancelled.
export function askName(initial, submit) {
  const d = $('#name-dialog');
  $('#name-input').value = initial;
  $('#name-error').textContent = '';
  return ask(d, null, (settle) => {
    $('#name-cancel').onclick = () => settle(null);
    $('#name-form').onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        settle(await submit($('#name-input').value));
      } catch (e) {
        $('#name-error').textContent = e.message;
      }
    };
  });
}

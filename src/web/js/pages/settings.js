// Your settings: the email address patd writes to and which emails you get
// (security emails cannot be turned off).
import { $ } from '../dom.js';
import { api, change } from '../api.js';
import { toast, failed } from '../notify.js';

export async function load() {
  const me = await api('GET', '/api/v1/me');
  $('#me-email').value = me.email;
  $('#me-expiry').checked = me.notifications.expiry_reminders;
  $('#me-new-client').checked = me.notifications.new_client_alerts;
  $('#me-error').textContent = '';
}

export function init() {
  $('#me-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    $('#me-error').textContent = '';
    try {
      await change('PATCH', '/api/v1/me', {
        email: $('#me-email').value.trim(),
        notifications: {
          expiry_reminders: $('#me-expiry').checked,
          new_client_alerts: $('#me-new-client').checked,
        },
      });
      toast('Notification settings saved', 'ok');
    } catch (e) {
      if (e.body.field) $('#me-error').textContent = e.message;
      else failed('Save notification settings', e);
    }
  });
}

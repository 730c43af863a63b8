"""Emails through the outbox and real SMTP (#15): a real SMTP server
(Debian's python3-aiosmtpd, writing each message to a Maildir) in front of
which patd sends what happens to people's tokens and accounts."""
import email
import email.header
import email.policy
import os
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import unittest

from harness import ADMIN_PASSWORD, Patd, free_port


class SmtpSink:
    """aiosmtpd on a loopback port, every message into a Maildir."""

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix='patd-smtp-')
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            ['/usr/bin/python3', '-m', 'aiosmtpd', '-n', '-l', '127.0.0.1:%d' % self.port,
             '-c', 'aiosmtpd.handlers.Mailbox', os.path.join(self.dir, 'mail')],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('aiosmtpd did not start')

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc = None

    def messages(self):
        out = []
        for sub in ('new', 'cur'):
            d = os.path.join(self.dir, 'mail', sub)
            if os.path.isdir(d):
                for name in sorted(os.listdir(d)):
                    with open(os.path.join(d, name), 'rb') as f:
                        out.append(email.message_from_bytes(f.read(), policy=email.policy.default))
        return out

    def wait(self, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.messages()
            if len(m) >= count:
                return m
            time.sleep(0.1)
        return self.messages()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def subject(m):
    return str(m['Subject'])


class Mail(unittest.TestCase):
    def setUp(self):
        self.smtp = SmtpSink().start()
        self.patd = Patd(env={'PATD_SMTP_URL': 'smtp://127.0.0.1:%d' % self.smtp.port,
                              'PATD_SMTP_STARTTLS': 'off', 'PATD_MAIL_FROM': 'patd@example.com',
                              'PATD_PUBLIC_URL': 'https://tokens.example.com'}).start()
        self.admin = self.patd.login()
        r = self.patd.request('PATCH', '/api/v1/users/1', {'email': 'admin@example.com'},
                              session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.values = []

    def tearDown(self):
        try:
            self.patd.stop()
        finally:
            self.smtp.cleanup()  # even when patd's stop fails

    def create(self, name, session=None, **headers):
        r = self.patd.request('POST', '/api/v1/tokens', {'name': name, 'scopes': ['tokens']},
                              session=session or self.admin, headers=headers)
        self.assertEqual(r.status, 201, r)
        self.values.append(r.json['token'])
        return r.json

    def assertNoValues(self, messages):
        for m in messages:
            text = m.as_string()
            for v in self.values:
                self.assertNotIn(v, text)
                self.assertNotIn(v[4:], text)

    def test_created_email_tells_what_when_where_and_who(self):
        t = self.create('deploy-ci', **{'X-Forwarded-For': '203.0.113.9',
                                        'User-Agent': 'curl/8.5.0'})
        [m] = self.smtp.wait(1)
        self.assertEqual(m['To'], 'admin@example.com')
        self.assertEqual(m['From'], 'patd@example.com')
        self.assertEqual(subject(m), '[patd] Your token "deploy-ci" was created')
        self.assertTrue(m['Message-ID'].endswith('@tokens.example.com>'))
        self.assertIsNotNone(m['Date'])
        body = m.get_content()
        self.assertIn('deploy-ci (%s...)' % t['prefix'], body)
        self.assertIn('203.0.113.9', body)  # the client's, through the trusted proxy
        self.assertIn('curl/8.5.0', body)
        self.assertIn('you (admin)', body)
        self.assertRegex(body, r'When: +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ')
        self.assertIn('https://tokens.example.com/', body)
        self.assertNoValues([m])

    def test_every_lifecycle_email_and_never_a_value(self):
        a = self.create('one')
        b = self.create('two')
        c = self.create('three')
        self.assertEqual(len(self.smtp.wait(3)), 3)
        r = self.patd.request('POST', '/api/v1/tokens/%d/regenerate' % a['id'], {},
                              session=self.admin)
        self.values.append(r.json['token'])
        r = self.patd.request('POST', '/api/v1/tokens/%d/copy' % a['id'], {'name': 'one-copy'},
                              session=self.admin)
        self.values.append(r.json['token'])
        self.patd.request('DELETE', '/api/v1/tokens/%d' % c['id'], session=self.admin)
        r = self.patd.request('POST', '/api/v1/tokens/bulk-delete', {'ids': [a['id'], b['id']]},
                              session=self.admin)
        self.assertEqual(r.status, 200, r)
        msgs = self.smtp.wait(7)
        subjects = [subject(m) for m in msgs]
        self.assertIn('[patd] Your token "one" was regenerated', subjects)
        self.assertIn('[patd] Your token "one-copy" was created (as a copy)', subjects)
        self.assertIn('[patd] Your token "three" was deleted', subjects)
        self.assertIn('[patd] 2 of your tokens were deleted', subjects)
        bulk = [m for m in msgs if subject(m).startswith('[patd] 2 of')][0].get_content()
        self.assertIn('one (', bulk)
        self.assertIn('two (', bulk)
        self.assertEqual(len(msgs), 7)
        self.assertNoValues(msgs)

    def test_a_superuser_acting_on_a_person(self):
        r = self.patd.request('POST', '/api/v1/users', {
            'username': 'lena', 'password': 'lena-password-123', 'email': 'lena@example.com'},
            session=self.admin)
        lena_id = r.json['id']
        lena = self.patd.login('lena', 'lena-password-123')
        self.create('lena-1', session=lena)
        self.create('lena-2', session=lena)
        self.smtp.wait(2)
        for change in ({'can_manage_tokens': False}, {'can_manage_tokens': True}):
            self.patd.request('PATCH', '/api/v1/users/%d' % lena_id, change, session=self.admin)
        self.patd.request('POST', '/api/v1/users/%d/tokens/revoke-all' % lena_id,
                          session=self.admin)
        self.patd.request('PATCH', '/api/v1/users/%d' % lena_id, {'disabled': True},
                          session=self.admin)
        msgs = [m for m in self.smtp.wait(6) if m['To'] == 'lena@example.com']
        subjects = [subject(m) for m in msgs]
        self.assertIn('[patd] Your personal access tokens were switched off', subjects)
        self.assertIn('[patd] Your personal access tokens work again', subjects)
        self.assertIn('[patd] 2 of your tokens were deleted', subjects)
        self.assertIn('[patd] Your patd account was disabled', subjects)
        off = [m for m in msgs if 'switched off' in subject(m)][0].get_content()
        self.assertIn('the superuser admin', off)
        self.assertNoValues(msgs)

    def test_an_organizations_permission_is_emailed(self):
        r = self.patd.request('POST', '/api/v1/users', {
            'username': 'orla', 'password': 'orla-password-123', 'email': 'orla@example.com'},
            session=self.admin)
        orla_id = r.json['id']
        self.patd.request('POST', '/api/v1/orgs', {'slug': 'acme', 'name': 'Acme'},
                          session=self.admin)
        r = self.patd.request('POST', '/api/v1/orgs/acme/members', {'username': 'orla'},
                              session=self.admin)
        self.assertEqual(r.status, 201, r)
        base = '/api/v1/orgs/acme/members/%d' % orla_id
        for change in ({'can_manage_tokens': False}, {'role': 'owner'},
                       {'can_manage_tokens': True}):
            r = self.patd.request('PATCH', base, change, session=self.admin)
            self.assertEqual(r.status, 200, r)
        msgs = [m for m in self.smtp.wait(2) if m['To'] == 'orla@example.com']
        self.assertEqual([subject(m) for m in msgs],
                         ['[patd] Your personal access tokens were switched off in Acme',
                          '[patd] Your personal access tokens work again in Acme'])
        self.assertIn('your other organizations', msgs[0].get_content())
        self.assertIn('the superuser admin', msgs[0].get_content())

    def test_a_superuser_hand_on_one_token(self):
        r = self.patd.request('POST', '/api/v1/users', {
            'username': 'omar', 'password': 'omar-password-123', 'email': 'omar@example.com'},
            session=self.admin)
        omar_id = r.json['id']
        omar = self.patd.login('omar', 'omar-password-123')
        t = self.create('omar-ci', session=omar)
        self.smtp.wait(1)
        base = '/api/v1/users/%d/tokens/%d' % (omar_id, t['id'])
        r = self.patd.request('POST', base + '/disable', session=self.admin,
                              headers={'X-Forwarded-For': '198.51.100.40'})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['status'], 'disabled')
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self',
                                           token=t['token']).status, 401)
        r = self.patd.request('POST', base + '/enable', session=self.admin)
        self.assertEqual(r.json['status'], 'active')
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self',
                                           token=t['token']).status, 200)
        r = self.patd.request('DELETE', base, session=self.admin)
        self.assertEqual(r.status, 204, r)
        msgs = [m for m in self.smtp.wait(4) if m['To'] == 'omar@example.com']
        subjects = [subject(m) for m in msgs]
        for verb in ('disabled', 'enabled', 'deleted'):
            self.assertIn('[patd] Your token "omar-ci" was %s' % verb, subjects)
        off = [m for m in msgs if 'disabled' in subject(m)][0].get_content()
        self.assertIn('the superuser admin', off)
        self.assertIn('198.51.100.40', off)
        self.assertNoValues(msgs)
        events = self.patd.request('GET', '/api/v1/audit?action=token.disabled',
                                   session=self.admin).json['events']
        self.assertIn('owner=%d' % omar_id, events[0]['detail'])

    def test_a_change_that_fails_sends_nothing(self):
        self.create('unique')
        self.smtp.wait(1)
        r = self.patd.request('POST', '/api/v1/tokens', {'name': 'unique', 'scopes': ['tokens']},
                              session=self.admin)
        self.assertEqual(r.status, 409, r)
        time.sleep(1.5)
        self.assertEqual(len(self.smtp.messages()), 1)

    def test_non_ascii_subjects_are_encoded(self):
        self.create('déploiement-été')
        [m] = self.smtp.wait(1)
        raw = m.as_bytes(policy=email.policy.compat32)
        self.assertIn(b'=?UTF-8?B?', raw.split(b'\n\n')[0] if b'\n\n' in raw else raw)
        self.assertEqual(subject(m), '[patd] Your token "déploiement-été" was created')

    def test_smtp_down_then_back_each_message_once(self):
        self.smtp.stop()
        t = self.create('while-down')
        time.sleep(1.5)
        r = self.patd.request('GET', '/api/v1/outbox', session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json['configured'])
        pending = [m for m in r.json['messages'] if m['status'] == 'pending']
        self.assertEqual(len(pending), 1)
        self.assertGreaterEqual(pending[0]['attempts'], 1)
        self.assertTrue(pending[0]['last_error'])
        self.assertNotIn('body', pending[0])
        self.assertIn('patd_mail_messages{status="pending"} 1',
                      self.patd.request('GET', '/metrics').body)
        self.smtp.start()
        r = self.patd.request('POST', '/api/v1/outbox/retry', session=self.admin)
        self.assertEqual(r.status, 200, r)
        msgs = self.smtp.wait(1)
        time.sleep(1.5)
        msgs = self.smtp.messages()
        self.assertEqual(len(msgs), 1)
        self.assertIn(t['prefix'], msgs[0].get_content())
        r = self.patd.request('GET', '/api/v1/outbox', session=self.admin)
        self.assertEqual(r.json['sent'], 1)
        self.assertEqual(r.json['pending'], 0)

    def test_kill_9_before_delivery_delivers_after_restart_with_the_same_message_id(self):
        self.smtp.stop()
        self.create('survivor')
        db = sqlite3.connect(os.path.join(self.patd.data_dir, 'patd.db'))
        mid = db.execute("SELECT message_id FROM outbox WHERE status = 'pending'").fetchone()[0]
        db.close()
        self.patd.proc.kill()
        self.patd.proc.wait()
        self.patd.proc = None
        self.patd.log.close()
        self.patd.out.close()
        self.smtp.start()
        self.patd.start()
        [m] = self.smtp.wait(1)
        self.assertEqual(m['Message-ID'], mid)

    def test_members_may_not_read_the_outbox(self):
        self.patd.request('POST', '/api/v1/users', {'username': 'otto',
                                                    'password': 'otto-password-123'},
                          session=self.admin)
        otto = self.patd.login('otto', 'otto-password-123')
        self.assertEqual(self.patd.request('GET', '/api/v1/outbox', session=otto).status, 403)


class MailNotConfigured(unittest.TestCase):
    def test_messages_wait_pending_and_the_outbox_says_so(self):
        with Patd() as p:
            admin = p.login()
            p.request('PATCH', '/api/v1/users/1', {'email': 'admin@example.com'}, session=admin)
            p.request('POST', '/api/v1/tokens', {'name': 'x', 'scopes': ['tokens']},
                      session=admin)
            r = p.request('GET', '/api/v1/outbox', session=admin)
            self.assertFalse(r.json['configured'])
            self.assertEqual(r.json['pending'], 1)
            self.assertEqual(r.json['messages'][0]['attempts'], 0)


if __name__ == '__main__':
    unittest.main()


class MailStartTlsAuth(unittest.TestCase):
    """STARTTLS required and AUTH, against a server that insists on both
    (a throwaway certificate the test makes)."""

    def test_delivered_over_starttls_with_auth_and_refused_with_a_wrong_password(self):
        root = tempfile.mkdtemp(prefix='patd-smtp-tls-')
        cert, key = os.path.join(root, 'cert.pem'), os.path.join(root, 'key.pem')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                        '-days', '2', '-subj', '/CN=127.0.0.1', '-addext',
                        'subjectAltName=IP:127.0.0.1'], check=True, capture_output=True,
                       timeout=60)
        port = free_port()
        maildir = os.path.join(root, 'mail')
        server = subprocess.Popen(['/usr/bin/python3', os.path.join(os.path.dirname(
            os.path.abspath(__file__)), 'smtp_tls_server.py'), str(port), maildir, cert, key,
            'patd', 'smtp-secret-1'], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        password_file = os.path.join(root, 'password')
        with open(password_file, 'w') as f:
            f.write('smtp-secret-1\n')
        try:
            import socket
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    socket.create_connection(('127.0.0.1', port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            env = {'PATD_SMTP_URL': 'smtp://127.0.0.1:%d' % port,
                   'PATD_SMTP_STARTTLS': 'required', 'PATD_SMTP_CA_FILE': cert,
                   'PATD_SMTP_USER': 'patd', 'PATD_SMTP_PASSWORD_FILE': password_file,
                   'PATD_MAIL_FROM': 'patd@example.com'}
            with Patd(env=env) as p:
                admin = p.login()
                p.request('PATCH', '/api/v1/users/1', {'email': 'admin@example.com'},
                          session=admin)
                p.request('POST', '/api/v1/tokens', {'name': 'over-tls', 'scopes': ['tokens']},
                          session=admin)
                deadline = time.time() + 15
                new = os.path.join(maildir, 'new')
                while time.time() < deadline and not (os.path.isdir(new) and os.listdir(new)):
                    time.sleep(0.1)
                self.assertTrue(os.path.isdir(new) and os.listdir(new), 'nothing delivered')
                self.assertNotIn('smtp-secret-1', p.read_log())
            with open(password_file, 'w') as f:
                f.write('wrong-password\n')
            with Patd(env=env) as p:
                admin = p.login()
                p.request('PATCH', '/api/v1/users/1', {'email': 'admin@example.com'},
                          session=admin)
                p.request('POST', '/api/v1/tokens', {'name': 'refused', 'scopes': ['tokens']},
                          session=admin)
                deadline = time.time() + 15
                while time.time() < deadline:
                    r = p.request('GET', '/api/v1/outbox', session=admin)
                    pending = [m for m in r.json['messages'] if m['status'] == 'pending']
                    if pending and pending[0]['last_error']:
                        break
                    time.sleep(0.2)
                self.assertEqual(len(pending), 1)
                self.assertTrue(pending[0]['last_error'])
                self.assertNotIn('wrong-password', r.body)
        finally:
            server.terminate()
            server.wait(timeout=10)
            shutil.rmtree(root, ignore_errors=True)


def rfc3339(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


class Reminders(unittest.TestCase):
    def setUp(self):
        self.smtp = SmtpSink().start()
        self.env = {'PATD_SMTP_URL': 'smtp://127.0.0.1:%d' % self.smtp.port,
                    'PATD_SMTP_STARTTLS': 'off', 'PATD_EXPIRY_CHECK_SECONDS': '1',
                    'PATD_EXPIRY_REMINDER_DAYS': '7 1'}
        self.patd = Patd(env=self.env).start()
        self.admin = self.patd.login()
        self.patd.request('PATCH', '/api/v1/me', {'email': 'admin@example.com'},
                          session=self.admin)

    def tearDown(self):
        try:
            self.patd.stop()
        finally:
            self.smtp.cleanup()

    def token(self, name, expires_at, session=None):
        r = self.patd.request('POST', '/api/v1/tokens', {
            'name': name, 'scopes': ['tokens'], 'expires_at': rfc3339(expires_at)},
            session=session or self.admin)
        self.assertEqual(r.status, 201, r)
        return r.json

    def reminders(self):
        return [m for m in self.smtp.messages() if 'expire' in str(m['Subject'])]

    def test_one_digest_per_person_once_per_threshold_even_across_restarts(self):
        now = time.time()
        soon = self.token('in-3-days', now + 3 * 86400)
        tomorrow = self.token('in-12-hours', now + 12 * 3600)
        self.token('in-20-days', now + 20 * 86400)
        r = self.patd.request('POST', '/api/v1/users', {
            'username': 'quiet', 'password': 'quiet-password-1', 'email': 'quiet@example.com'},
            session=self.admin)
        quiet = self.patd.login('quiet', 'quiet-password-1')
        r = self.patd.request('PATCH', '/api/v1/me',
                              {'notifications': {'expiry_reminders': False}}, session=quiet)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json['notifications']['expiry_reminders'])
        self.token('quiet-in-2-days', now + 2 * 86400, session=quiet)
        # Made a month ago, as if time had passed: only a token made to live
        # longer than a threshold is reminded at it.
        import sqlite3
        db = sqlite3.connect(os.path.join(self.patd.data_dir, 'patd.db'))
        db.execute('UPDATE tokens SET created_at = ?', (int(now) - 30 * 86400,))
        db.commit()
        db.close()
        deadline = time.time() + 15
        while time.time() < deadline and not self.reminders():
            time.sleep(0.2)
        time.sleep(2.5)  # a few more checks: nothing more may come
        [digest] = self.reminders()
        self.assertEqual(digest['To'], 'admin@example.com')
        self.assertEqual(str(digest['Subject']),
                         '[patd] 2 of your tokens expire soon or have expired')
        body = digest.get_content()
        self.assertIn('in-3-days (%s...)' % soon['prefix'], body)
        self.assertIn('in-12-hours (%s...)' % tomorrow['prefix'], body)
        self.assertNotIn('in-20-days', body)
        self.assertIn('#token-%d' % soon['id'], body)
        # Expired meanwhile (its expiry moved into the past, as time would):
        # one "has expired" email.
        db = sqlite3.connect(os.path.join(self.patd.data_dir, 'patd.db'))
        db.execute('UPDATE tokens SET expires_at = ? WHERE id = ?', (int(now) - 60, soon['id']))
        db.commit()
        db.close()
        deadline = time.time() + 15
        while time.time() < deadline and len(self.reminders()) < 2:
            time.sleep(0.2)
        expired = [m for m in self.reminders() if 'has expired' in str(m['Subject'])]
        self.assertEqual(len(expired), 1)
        self.assertEqual(str(expired[0]['Subject']), '[patd] Your token "in-3-days" has expired')
        # A restart sends nothing again.
        self.patd.stop()
        self.patd.start()
        time.sleep(3)
        self.assertEqual(len(self.reminders()), 2)
        self.assertFalse([m for m in self.smtp.messages() if m['To'] == 'quiet@example.com'
                          and 'expire' in str(m['Subject'])])


class RemindersNotAtBirth(unittest.TestCase):
    def test_a_new_7_day_token_is_not_reminded_at_once(self):
        smtp = SmtpSink().start()
        try:
            with Patd(env={'PATD_SMTP_URL': 'smtp://127.0.0.1:%d' % smtp.port,
                           'PATD_SMTP_STARTTLS': 'off', 'PATD_EXPIRY_CHECK_SECONDS': '1'}) as p:
                s = p.login()
                p.request('PATCH', '/api/v1/me', {'email': 'admin@example.com'}, session=s)
                p.request('POST', '/api/v1/tokens', {'name': 'week', 'scopes': ['tokens']},
                          session=s)
                smtp.wait(1)
                time.sleep(2.5)
                self.assertEqual([str(m['Subject']) for m in smtp.messages()],
                                 ['[patd] Your token "week" was created'])
        finally:
            smtp.cleanup()


class Me(unittest.TestCase):
    def test_me_reads_and_changes_email_and_preferences(self):
        with Patd() as p:
            s = p.login()
            r = p.request('GET', '/api/v1/me', session=s)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json['username'], 'admin')
            self.assertEqual(r.json['notifications'],
                             {'expiry_reminders': True, 'new_client_alerts': True})
            r = p.request('PATCH', '/api/v1/me', {'email': 'me@example.com', 'notifications': {
                'new_client_alerts': False}}, session=s)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json['email'], 'me@example.com')
            self.assertEqual(r.json['notifications'],
                             {'expiry_reminders': True, 'new_client_alerts': False})
            for bad, field in (({'email': 'not-an-address'}, 'email'),
                               ({'notifications': {'security': False}}, 'security'),
                               ({'notifications': {'expiry_reminders': 'no'}},
                                'expiry_reminders'),
                               ({'role': 'superuser'}, 'role')):
                r = p.request('PATCH', '/api/v1/me', bad, session=s)
                self.assertEqual(r.status, 400, (bad, r))
                self.assertEqual(r.json['field'], field, (bad, r))
            self.assertEqual(p.request('GET', '/api/v1/me').status, 401)

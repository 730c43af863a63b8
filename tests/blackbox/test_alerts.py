"""Canary tokens and new-client alerts (#15 parts 4 and 5), against a real
SMTP server (aiosmtpd): a canary answers everywhere exactly as an unknown
value and alerts its owner within seconds; a token used from a client it
has not seen emails its owner, at most once an hour."""
import time
import unittest
import urllib.parse

from harness import Patd, well_formed_token
from test_mail import SmtpSink, subject

EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
ACCESS = 'urn:ietf:params:oauth:token-type:access_token'


class AlertsBase(unittest.TestCase):
    env = {}

    def setUp(self):
        self.smtp = SmtpSink().start()
        env = {'PATD_SMTP_URL': 'smtp://127.0.0.1:%d' % self.smtp.port,
               'PATD_SMTP_STARTTLS': 'off', 'PATD_PUBLIC_URL': 'https://tokens.example.com'}
        env.update(self.env)
        self.patd = Patd(env=env).start()
        self.admin = self.patd.login()
        r = self.patd.request('PATCH', '/api/v1/me', {'email': 'admin@example.com'},
                              session=self.admin)
        self.assertEqual(r.status, 200, r)

    def tearDown(self):
        try:
            self.patd.stop()
        finally:
            self.smtp.cleanup()

    def mails(self, word):
        return [m for m in self.smtp.messages() if word in subject(m)]

    def wait_mails(self, word, count, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = self.mails(word)
            if len(found) >= count:
                return found
            time.sleep(0.05)
        return self.mails(word)

    def auth(self, token, ip, ua='curl/8.5.0', path='/api/projects'):
        return self.patd.request('GET', '/auth', headers={
            'Authorization': 'Bearer ' + token, 'X-Forwarded-For': ip, 'User-Agent': ua,
            'X-Original-URI': path, 'X-Original-Method': 'GET'})


class Canary(AlertsBase):
    def canary(self, name='planted-in-wiki'):
        r = self.patd.request('POST', '/api/v1/tokens', {'name': name, 'canary': True},
                              session=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json['canary'])
        self.assertEqual(r.json['scopes'], [])
        self.assertIsNone(r.json['expires_at'])
        return r.json

    @staticmethod
    def same(a, b):
        """Status, body and the headers a client sees, but the date."""
        drop = ('date',)
        return (a.status, a.body, sorted((k.lower(), v) for k, v in a.headers
                                         if k.lower() not in drop)) == \
            (b.status, b.body, sorted((k.lower(), v) for k, v in b.headers
                                      if k.lower() not in drop))

    def test_every_entry_point_answers_as_for_an_unknown_value(self):
        c = self.canary()
        unknown = well_formed_token()
        introspector = self.patd.create_token(self.admin, name='rs', scopes=['introspect'])
        calls = [
            lambda v: self.patd.request('GET', '/auth', headers={
                'Authorization': 'Bearer ' + v, 'X-Required-Scope': 'tokens'}),
            lambda v: self.patd.request('GET', '/api/v1/tokens/self', token=v),
            lambda v: self.patd.request('GET', '/api/v1/tokens', token=v),
            lambda v: self.patd.request('POST', '/api/v1/introspect', {'token': v},
                                        token=introspector['token']),
            lambda v: self.patd.request(
                'POST', '/oauth/token', raw=urllib.parse.urlencode({
                    'grant_type': EXCHANGE, 'subject_token': v, 'subject_token_type': ACCESS}),
                content_type='application/x-www-form-urlencoded'),
        ]
        for call in calls:
            a, b = call(c['token']), call(unknown)
            self.assertTrue(self.same(a, b), (a, b))
            self.assertIn(a.status, (400, 401, 200), a)
        introspected = calls[3](c['token'])
        self.assertEqual(introspected.json, {'active': False})

    def test_a_presentation_alerts_within_seconds_and_is_audited(self):
        c = self.canary()
        start = time.time()
        r = self.auth(c['token'], '198.51.100.23', ua='python-requests/2.31',
                      path='/api/secrets')
        self.assertEqual(r.status, 401, r)
        [m] = self.wait_mails('Canary', 1, timeout=5)
        self.assertLess(time.time() - start, 5)
        self.assertEqual(m['To'], 'admin@example.com')
        self.assertEqual(subject(m), '[patd] Canary token "planted-in-wiki" was used')
        body = m.get_content()
        for part in ('198.51.100.23', 'python-requests/2.31', 'GET /api/secrets',
                     c['prefix']):
            self.assertIn(part, body)
        self.assertNotIn(c['token'], body)
        events = self.patd.request('GET', '/api/v1/audit?action=token.canary_tripped',
                                   session=self.admin).json['events']
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]['ip'], '198.51.100.23')
        self.assertIn('path=/api/secrets', events[0]['detail'])
        # The token shows when it was last tripped.
        last = self.patd.request('GET', '/api/v1/tokens/%d' % c['id'],
                                 session=self.admin).json['last_used']
        self.assertEqual(last['ip'], '198.51.100.23')
        # A flood is counted, one email per interval (each batch audited).
        for _ in range(20):
            self.auth(c['token'], '198.51.100.23')
        time.sleep(2.5)
        self.assertEqual(len(self.mails('Canary')), 1)
        m = self.patd.request('GET', '/metrics').body
        self.assertIn('patd_canary_trips_total 21', m)

    def test_it_cannot_be_enabled_given_scopes_or_an_expiry(self):
        c = self.canary()
        for action in ('enable', 'disable'):
            r = self.patd.request('POST', '/api/v1/tokens/%d/%s' % (c['id'], action),
                                  session=self.admin)
            self.assertEqual(r.status, 409, r)
        for body, field in (({'scopes': ['tokens']}, 'scopes'),
                            ({'expires_in_days': 30}, 'expires_at'),
                            ({'allowed_cidrs': ['10.0.0.0/8']}, 'allowed_cidrs'),
                            ({'canary': False}, 'canary')):
            r = self.patd.request('PATCH', '/api/v1/tokens/%d' % c['id'], body,
                                  session=self.admin)
            self.assertEqual(r.status, 400, (body, r))
            self.assertEqual(r.json['field'], field, r)
        r = self.patd.request('POST', '/api/v1/tokens', {
            'name': 'c2', 'canary': True, 'scopes': ['tokens']}, session=self.admin)
        self.assertEqual(r.status, 400, r)
        # A rename is fine; a copy is a canary too; still refused at /auth.
        r = self.patd.request('PATCH', '/api/v1/tokens/%d' % c['id'], {'name': 'renamed'},
                              session=self.admin)
        self.assertEqual(r.status, 200, r)
        r = self.patd.request('POST', '/api/v1/tokens/%d/copy' % c['id'], {'name': 'c3'},
                              session=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json['canary'])
        self.assertEqual(self.auth(r.json['token'], '127.0.0.1').status, 401)
        # An ordinary token says it is not one.
        t = self.patd.create_token(self.admin, name='plain')
        self.assertFalse(t['canary'])
        self.assertTrue(t['notify_new_client'])

    def test_no_email_for_an_unknown_value(self):
        self.auth(well_formed_token(), '198.51.100.1')
        time.sleep(2)
        self.assertEqual(self.mails('Canary'), [])


class NewClient(AlertsBase):
    env = {'PATD_NEW_CLIENT_LEARNING_SECONDS': '0'}

    def test_first_client_learned_new_one_alerts_once_an_hour(self):
        t = self.patd.create_token(self.admin, name='deploy')
        self.assertEqual(self.auth(t['token'], '10.0.0.1').status, 204)
        self.assertEqual(self.auth(t['token'], '10.0.0.77').status, 204)  # same /24
        time.sleep(2.5)
        self.assertEqual(self.mails('new client'), [])
        self.assertEqual(self.auth(t['token'], '192.0.2.7', ua='Go-http-client/1.1',
                                   path='/api/deploy').status, 204)
        [m] = self.wait_mails('new client', 1)
        self.assertEqual(subject(m), '[patd] Your token "deploy" was used from a new client')
        body = m.get_content()
        for part in ('192.0.2.7', 'Go-http-client/1.1', 'GET /api/deploy', t['prefix'],
                     'https://tokens.example.com/#token-%d' % t['id']):
            self.assertIn(part, body)
        self.assertNotIn(t['token'], body)
        # A second new client within the hour: recorded, not emailed.
        self.assertEqual(self.auth(t['token'], '203.0.113.50').status, 204)
        time.sleep(2.5)
        self.assertEqual(len(self.mails('new client')), 1)
        got = self.patd.request('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin).json
        nets = [c['network'] for c in got['clients']]
        self.assertEqual(sorted(nets), ['10.0.0.0/24', '192.0.2.0/24', '203.0.113.0/24'], got)
        first = [c for c in got['clients'] if c['network'] == '10.0.0.0/24'][0]
        self.assertEqual(first['product'], 'curl')
        self.assertTrue(first['first_seen'] <= first['last_seen'])
        events = self.patd.request('GET', '/api/v1/audit?action=token.new_client',
                                   session=self.admin).json['events']
        self.assertEqual(len(events), 1, events)

    def test_turned_off_per_token_and_per_person(self):
        quiet = self.patd.create_token(self.admin, name='quiet', notify_new_client=False)
        self.assertFalse(quiet['notify_new_client'])
        loud = self.patd.create_token(self.admin, name='loud')
        for t in (quiet, loud):
            self.auth(t['token'], '10.0.0.1')
        time.sleep(2)
        self.auth(quiet['token'], '192.0.2.7')
        time.sleep(2.5)
        self.assertEqual(self.mails('new client'), [])
        r = self.patd.request('PATCH', '/api/v1/me',
                              {'notifications': {'new_client_alerts': False}},
                              session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.auth(loud['token'], '192.0.2.8')
        time.sleep(2.5)
        self.assertEqual(self.mails('new client'), [])
        # Back on, a token edited to alert again.
        r = self.patd.request('PATCH', '/api/v1/tokens/%d' % quiet['id'],
                              {'notify_new_client': True}, session=self.admin)
        self.assertTrue(r.json['notify_new_client'])


class NewScope(AlertsBase):
    env = {'PATD_ALERT_ON_NEW_SCOPE': 'true'}

    def test_the_first_use_of_a_scope_is_emailed_once(self):
        t = self.patd.create_token(self.admin, name='scoped', scopes=['tokens', 'introspect'])
        self.assertEqual(self.patd.request('GET', '/auth', headers={
            'Authorization': 'Bearer ' + t['token'], 'X-Required-Scope': 'tokens'}).status, 204)
        [m] = self.wait_mails('for the first time', 1)
        self.assertEqual(subject(m),
                         '[patd] Your token "scoped" used the scope tokens for the first time')
        self.assertNotIn(t['token'], m.get_content())
        for _ in range(3):
            self.patd.request('GET', '/auth', headers={
                'Authorization': 'Bearer ' + t['token'], 'X-Required-Scope': 'tokens'})
        time.sleep(2.5)
        self.assertEqual(len(self.mails('for the first time')), 1)
        self.patd.request('GET', '/auth', headers={
            'Authorization': 'Bearer ' + t['token'], 'X-Required-Scope': 'introspect'})
        found = self.wait_mails('for the first time', 2)
        self.assertEqual(len(found), 2)
        self.assertIn('introspect', subject(found[1]) + subject(found[0]))


class NewClientLearning(AlertsBase):
    """Default: clients of a token's first day are learned, not alerted."""

    def test_clients_of_the_first_day_are_learned(self):
        t = self.patd.create_token(self.admin, name='young')
        self.auth(t['token'], '10.0.0.1')
        time.sleep(1.5)
        self.auth(t['token'], '192.0.2.7', ua='wget/1.21')
        time.sleep(2.5)
        self.assertEqual(self.mails('new client'), [])
        got = self.patd.request('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin).json
        self.assertEqual(len(got['clients']), 2, got)


if __name__ == '__main__':
    unittest.main()

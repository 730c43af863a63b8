"""Leak reports (#16 part 3): POST /api/v1/credentials/revoke from a
stranger or a secret scanner kills every live value reported and emails its
owner, answers the same whatever was inside, and is rate-limited; `pat scan`
finds tokens offline and reports them."""
import os
import subprocess
import tempfile
import time

from harness import PATD, well_formed_token
from test_alerts import AlertsBase
from test_mail import subject

PAT = os.path.join(os.path.dirname(PATD), 'pat')
REVOKE = '/api/v1/credentials/revoke'


class Leaks(AlertsBase):
    def report(self, values, token=None, ip='198.51.100.99', **extra):
        body = {'credentials': values}
        body.update(extra)
        return self.patd.request('POST', REVOKE, body, token=token,
                                 headers={'X-Forwarded-For': ip})

    def alive(self, value):
        return self.patd.request('GET', '/api/v1/tokens/self', token=value).status == 200

    def member(self, name):
        r = self.patd.request('POST', '/api/v1/users', {
            'username': name, 'password': name + '-password-1', 'email': name + '@example.com'},
            session=self.admin)
        self.assertEqual(r.status, 201, r)
        return self.patd.login(name, name + '-password-1')

    def test_live_values_die_owners_hear_the_rest_is_untouched(self):
        ann = self.member('ann')
        leaked = self.patd.create_token(ann, name='leaked-ci')
        kept = self.patd.create_token(ann, name='kept')
        canary = self.patd.request('POST', '/api/v1/tokens', {'name': 'decoy', 'canary': True},
                                   session=ann).json
        bad_sum = leaked['token'][:-1] + ('A' if leaked['token'][-1] != 'A' else 'B')
        r = self.report([leaked['token'], well_formed_token(), 'not-a-token', bad_sum,
                         canary['token'], leaked['token']],
                        source='github-secret-scanning', url='https://example.com/repo/blob/x')
        self.assertEqual(r.status, 202, r)
        self.assertEqual(r.json, {'received': 6})
        self.assertFalse(self.alive(leaked['token']))
        self.assertTrue(self.alive(kept['token']))
        gone = self.patd.request('GET', '/api/v1/tokens/%d' % leaked['id'], session=ann)
        self.assertEqual(gone.status, 404)
        [m] = self.wait_mails('reported leaked', 1)
        self.assertEqual(m['To'], 'ann@example.com')
        body = m.get_content()
        for part in ('leaked-ci', leaked['prefix'], 'github-secret-scanning',
                     'https://example.com/repo/blob/x'):
            self.assertIn(part, body)
        self.assertNotIn(leaked['token'], body)
        # The canary alerts as if used.
        self.assertEqual(len(self.wait_mails('Canary', 1)), 1)
        events = self.patd.request('GET', '/api/v1/audit?action=token.leaked',
                                   session=self.admin).json['events']
        self.assertEqual(len(events), 1, events)
        self.assertIn('source=github-secret-scanning', events[0]['detail'])
        self.assertEqual(events[0]['ip'], '198.51.100.99')

    def test_the_answer_is_the_same_whatever_was_inside(self):
        t = self.patd.create_token(self.admin, name='x')
        answers = [self.report([v, well_formed_token()]) for v in
                   (t['token'], well_formed_token(), 'garbage')]
        strip = lambda r: (r.status, r.body, sorted(  # noqa: E731
            (k.lower(), v) for k, v in r.headers if k.lower() not in ('date',)))
        self.assertEqual(strip(answers[0]), strip(answers[1]))
        self.assertEqual(strip(answers[1]), strip(answers[2]))

    def test_a_value_kept_by_a_rotation_dies_alone(self):
        t = self.patd.create_token(self.admin, name='rotating')
        r = self.patd.request('POST', '/api/v1/tokens/%d/regenerate' % t['id'],
                              {'grace_seconds': 3600}, session=self.admin)
        fresh = r.json['token']
        self.assertTrue(self.alive(t['token']))
        self.assertEqual(self.report([t['token']]).status, 202)
        self.assertFalse(self.alive(t['token']))
        self.assertTrue(self.alive(fresh))
        got = self.patd.request('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin).json
        self.assertIsNone(got['previous_valid_until'])
        [m] = self.wait_mails('reported leaked', 1)
        self.assertIn('old value', subject(m))

    def test_strangers_are_limited_reporters_are_recorded(self):
        for i in range(60):
            self.assertEqual(self.report([well_formed_token()], ip='203.0.113.77').status, 202)
        r = self.report([well_formed_token()], ip='203.0.113.77')
        self.assertEqual(r.status, 429, r)
        self.assertEqual(r.json['error'], 'rate_limited')
        self.assertTrue(int(r.header('Retry-After')) > 0)
        # Another address is not held back; a scanner's token is limited apart.
        self.assertEqual(self.report([well_formed_token()], ip='203.0.113.78').status, 202)
        scanner = self.patd.create_token(self.admin, name='scanner', scopes=['leak-report'])
        victim = self.patd.create_token(self.admin, name='victim')
        r = self.report([victim['token']], token=scanner['token'], ip='203.0.113.77')
        self.assertEqual(r.status, 202, r)
        self.assertFalse(self.alive(victim['token']))
        events = self.patd.request('GET', '/api/v1/audit?action=token.leaked',
                                   session=self.admin).json['events']
        self.assertEqual(events[0]['actor_token_id'], scanner['id'], events[0])
        # A token without the scope, or a bad one, is refused rather than ignored.
        plain = self.patd.create_token(self.admin, name='plain')
        self.assertEqual(self.report(['x'], token=plain['token']).status, 403)
        self.assertEqual(self.report(['x'], token=well_formed_token()).status, 401)

    def test_bad_reports(self):
        for body, field in (({'credentials': []}, 'credentials'),
                            ({'credentials': ['x'] * 1001}, 'credentials'),
                            ({'credentials': 'pat_x'}, 'credentials'),
                            ({'credentials': [1]}, 'credentials'),
                            ({}, 'credentials'),
                            ({'credentials': ['x'], 'url': 'javascript:alert(1)'}, 'url'),
                            ({'credentials': ['x'], 'source': ''}, 'source'),
                            ({'credentials': ['x'], 'extra': 1}, 'extra')):
            r = self.patd.request('POST', REVOKE, body)
            self.assertEqual(r.status, 400, (body, r))
            self.assertEqual(r.json['field'], field, (body, r))
        r = self.patd.request('POST', REVOKE, raw='{', content_type='application/json')
        self.assertEqual(r.status, 400, r)


class Scan(AlertsBase):
    def pat(self, *args, input=None, server=True):
        env = dict(os.environ, HOME=tempfile.mkdtemp(prefix='pat-home-'))
        env.pop('PAT_TOKEN', None)
        cmd = [PAT] + (['--server', self.patd.url()] if server else []) + ['scan'] + list(args)
        return subprocess.run(cmd, input=input, capture_output=True, text=True, env=env,
                              timeout=60)

    def test_finds_tokens_offline_and_reports_them(self):
        t = self.patd.create_token(self.admin, name='committed')
        d = tempfile.mkdtemp(prefix='pat-scan-')
        os.makedirs(os.path.join(d, 'src', '.git'))
        bad = t['token'][:-1] + ('A' if t['token'][-1] != 'A' else 'B')
        with open(os.path.join(d, 'src', 'deploy.sh'), 'w') as f:
            f.write('#!/bin/sh\n\ncurl -H "Authorization: Bearer %s" x\n' % t['token'])
        with open(os.path.join(d, 'src', 'notes.txt'), 'w') as f:
            f.write('not a token: %s\n' % bad)
        with open(os.path.join(d, 'src', '.git', 'config'), 'w') as f:
            f.write(t['token'])
        r = self.pat(d, server=False)
        self.assertEqual(r.returncode, 1, r)
        self.assertEqual(r.stdout.strip(), '%s/src/deploy.sh:3: %s... (a patd token)'
                         % (d, t['prefix']))
        self.assertNotIn(t['token'], r.stdout + r.stderr)
        # Nothing found: 0; stdin works too.
        self.assertEqual(self.pat(input='nothing here %s\n' % bad).returncode, 0)
        r = self.pat('-', input='x=%s\n' % t['token'])
        self.assertEqual(r.returncode, 1)
        self.assertIn('(stdin):1:', r.stdout)
        self.assertTrue(self.patd.request('GET', '/api/v1/tokens/self',
                                          token=t['token']).status == 200)
        # --revoke reports it: dead, owner emailed.
        r = self.pat('--revoke', d)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn('reported 1 token', r.stderr)
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self',
                                           token=t['token']).status, 401)
        self.assertEqual(len(self.wait_mails('reported leaked', 1)), 1)
        self.assertEqual(self.pat('--bogus').returncode, 2)
        self.assertEqual(self.pat('--prefix', 'bad prefix!', d).returncode, 2)


if __name__ == '__main__':
    import unittest
    unittest.main()

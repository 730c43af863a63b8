"""Rotation that tracks its clients (#16 part 1): after a regenerate that
keeps the old value, the token's rotation tells where the old value was
last used and when the new one was first used; the old value retires once
unused (or at once on retire-previous), and using it never harms the new."""
import os
import subprocess
import time

from harness import PATD, PatdTestCase

PAT = os.path.join(os.path.dirname(PATD), 'pat')


class Rotation(PatdTestCase):
    def auth(self, token, ip, ua):
        return self.req('GET', '/auth', headers={
            'Authorization': 'Bearer ' + token, 'X-Forwarded-For': ip, 'User-Agent': ua,
            'X-Original-URI': '/api/x', 'X-Original-Method': 'GET'}).status

    def token(self, tid):
        return self.req('GET', '/api/v1/tokens/%d' % tid, session=self.admin).json

    def wait_for(self, tid, check, timeout=15):
        deadline = time.time() + timeout
        while True:
            t = self.token(tid)
            if check(t) or time.time() > deadline:
                return t
            time.sleep(0.2)

    def test_clients_still_on_the_old_value_then_it_retires_when_unused(self):
        t = self.patd.create_token(self.admin, name='rotating-ci')
        self.assertIsNone(t['rotation'])
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'],
                     {'grace_seconds': 3600, 'retire_when_unused_seconds': 4},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        new = r.json['token']
        self.assertEqual(r.json['rotation']['retire_when_unused_seconds'], 4)
        self.assertIsNone(r.json['rotation']['previous_last_used'])
        for _ in range(3):
            self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8.5'), 204)
        self.assertEqual(self.auth(new, '10.0.0.9', 'python-requests/2.31'), 204)
        got = self.wait_for(t['id'], lambda x: x['rotation']['previous_use_count'] >= 3 and
                            x['rotation']['current_first_used'])
        rot = got['rotation']
        self.assertEqual(rot['previous_use_count'], 3)
        self.assertEqual(rot['previous_last_used']['ip'], '10.0.0.5')
        self.assertEqual(rot['previous_last_used']['user_agent'], 'curl/8.5')
        self.assertEqual(rot['current_first_used']['ip'], '10.0.0.9')
        # The list carries it too.
        listed = [x for x in self.req('GET', '/api/v1/tokens', session=self.admin).json['tokens']
                  if x['id'] == t['id']][0]
        self.assertEqual(listed['rotation']['previous_use_count'], 3)
        # Kept alive while it is used (past its 4 s), and the new value is unharmed.
        for _ in range(7):
            self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8.5'), 204)
            self.assertEqual(self.auth(new, '10.0.0.9', 'python-requests/2.31'), 204)
            time.sleep(1)
        # Quiet: retired by itself.
        got = self.wait_for(t['id'], lambda x: x['rotation'] is None, timeout=20)
        self.assertIsNone(got['rotation'])
        self.assertIsNone(got['previous_valid_until'])
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8.5'), 401)
        self.assertEqual(self.auth(new, '10.0.0.9', 'python-requests/2.31'), 204)
        events = self.req('GET', '/api/v1/audit?action=token.previous_retired',
                          session=self.admin).json['events']
        self.assertTrue(any('why=unused' in e['detail'] and 'id=%d ' % t['id'] in e['detail']
                            for e in events), events)

    def test_retire_previous_ends_it_at_once(self):
        t = self.patd.create_token(self.admin, name='retire-now')
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], {'grace_seconds': 3600},
                     session=self.admin)
        new = r.json['token']
        self.assertIsNone(r.json['rotation']['retire_when_unused_seconds'])
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8'), 204)
        r = self.req('POST', '/api/v1/tokens/%d/retire-previous' % t['id'], session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json['rotation'])
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8'), 401)
        self.assertEqual(self.auth(new, '10.0.0.5', 'curl/8'), 204)
        r = self.req('POST', '/api/v1/tokens/%d/retire-previous' % t['id'], session=self.admin)
        self.assertError(r, 409, 'conflict')
        # Someone else's token: 404.
        self.req('POST', '/api/v1/users', {'username': 'rot-other',
                                           'password': 'rot-other-password'}, session=self.admin)
        other = self.patd.login('rot-other', 'rot-other-password')
        r = self.req('POST', '/api/v1/tokens/%d/retire-previous' % t['id'], session=other)
        self.assertError(r, 404, 'not_found')

    def test_bad_rotation_requests(self):
        t = self.patd.create_token(self.admin, name='rotation-errors')
        for body, field in (({'retire_when_unused_seconds': 1}, 'retire_when_unused_seconds'),
                            ({'retire_when_unused_seconds': -5}, 'retire_when_unused_seconds'),
                            ({'retire_when_unused_seconds': 99999999},
                             'retire_when_unused_seconds'),
                            ({'retire_when_unused_seconds': 'soon'},
                             'retire_when_unused_seconds'),
                            ({'grace_seconds': 86401}, 'grace_seconds')):
            r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], body,
                         session=self.admin)
            self.assertError(r, 400, 'invalid_request', field)
        # Only retire_when_unused: the old value lives, bounded.
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'],
                     {'retire_when_unused_seconds': 3600}, session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(r.json['previous_valid_until'])
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8'), 204)

    def test_the_cli_regenerates_with_a_rotation_and_shows_it(self):
        caller = self.patd.create_token(self.admin, name='rot-cli-caller')
        t = self.patd.create_token(self.admin, name='rot-cli')
        env = dict(os.environ, HOME=self.patd.dir, PAT_TOKEN=caller['token'])

        def pat(*args):
            return subprocess.run([PAT, '--server', self.patd.url()] + list(args), env=env,
                                  capture_output=True, text=True, timeout=30)
        r = pat('token', 'regenerate', str(t['id']), '--grace', '1h', '--retire-when-unused',
                '10m')
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8.5'), 204)
        self.wait_for(t['id'], lambda x: x['rotation']['previous_use_count'] >= 1)
        r = pat('token', 'show', str(t['id']))
        self.assertEqual(r.returncode, 0, r)
        self.assertIn('or once unused for 600s', r.stdout)
        self.assertIn('old value last used by 10.0.0.5 curl/8.5', r.stdout)
        self.assertIn('new value first used by none yet', r.stdout)
        r = pat('token', 'retire-previous', str(t['id']))
        self.assertEqual(r.returncode, 0, r)
        self.assertNotIn('rotation:', r.stdout)
        self.assertEqual(self.auth(t['token'], '10.0.0.5', 'curl/8.5'), 401)

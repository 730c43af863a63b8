"""Caller authentication: sessions, CSRF, confirmation and bearer tokens."""
import time

from harness import ADMIN_PASSWORD, PatdTestCase, Session


class Auth(PatdTestCase):

    def test_login_sets_strict_httponly_cookie(self):
        r = self.req('POST', '/api/v1/session', {'username': 'admin', 'password': ADMIN_PASSWORD})
        self.assertEqual(r.status, 200, r)
        cookie = r.header('Set-Cookie')
        self.assertIn('HttpOnly', cookie)
        self.assertIn('SameSite=Strict', cookie)
        self.assertIn('Path=/', cookie)
        self.assertTrue(r.json['csrf_token'])
        self.assertEqual(r.json['user']['username'], 'admin')
        self.assertEqual(r.json['user']['role'], 'superuser')

    def test_login_failures(self):
        for body in ({'username': 'admin', 'password': 'wrong-password!'},
                     {'username': 'nobody', 'password': ADMIN_PASSWORD}):
            r = self.req('POST', '/api/v1/session', body)
            self.assertError(r, 401, 'unauthenticated')
            self.assertIsNone(r.header('Set-Cookie'))
        self.assertError(self.req('POST', '/api/v1/session', {'username': 'admin'}), 400,
                         'invalid_request', 'password')
        self.assertError(self.req('POST', '/api/v1/session', {'username': 1, 'password': 'x'}),
                         400, 'invalid_request', 'username')

    def test_session_reaches_api_and_logout_ends_it(self):
        s = self.patd.login()
        r = self.req('GET', '/api/v1/session', session=s)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json['user']['username'], 'admin')
        r = self.req('DELETE', '/api/v1/session', session=s)
        self.assertEqual(r.status, 204)
        self.assertIn('Max-Age=0', r.header('Set-Cookie'))
        self.assertError(self.req('GET', '/api/v1/tokens', session=s), 401, 'unauthenticated')

    def test_cookie_request_without_csrf_is_forbidden(self):
        s = self.patd.login()
        no_csrf = Session(s.cookie, None)
        r = self.req('POST', '/api/v1/tokens', {'name': 'csrf', 'scopes': ['tokens']},
                     session=no_csrf)
        self.assertError(r, 403, 'forbidden')
        r = self.req('POST', '/api/v1/tokens', {'name': 'csrf', 'scopes': ['tokens']},
                     session=s, headers={'X-CSRF-Token': 'forged'})
        self.assertError(r, 403, 'forbidden')
        # Reads need no CSRF header.
        self.assertEqual(self.req('GET', '/api/v1/tokens', session=no_csrf).status, 200)
        r = self.req('POST', '/api/v1/tokens', {'name': 'csrf', 'scopes': ['tokens']}, session=s)
        self.assertEqual(r.status, 201, r)

    def test_forged_session_cookie(self):
        r = self.req('GET', '/api/v1/tokens', session=Session('forged', 'x'))
        self.assertError(r, 401, 'unauthenticated')

    def test_missing_credential(self):
        r = self.req('GET', '/api/v1/tokens')
        self.assertError(r, 401, 'unauthenticated')
        self.assertEqual(r.header('WWW-Authenticate'), 'Bearer realm="patd"')

    def test_bad_tokens_are_401_with_www_authenticate(self):
        t = self.patd.create_token(self.admin, name='to-delete')
        self.req('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        forged = t['token'][:-1] + ('A' if t['token'][-1] != 'A' else 'B')
        for value in ('pat_short', forged, t['token'], 'x' * 5000, 'pat_' + 'A' * 38):
            with self.subTest(value=value[:20]):
                r = self.req('GET', '/api/v1/tokens/self', token=value)
                self.assertError(r, 401, 'invalid_token')
                self.assertIn('error="invalid_token"', r.header('WWW-Authenticate'))
        r = self.req('GET', '/api/v1/tokens/self', headers={'Authorization': 'Basic YWRtaW4='})
        self.assertError(r, 401, 'invalid_token')

    def test_token_scheme_also_accepted(self):
        t = self.patd.create_token(self.admin, name='scheme-token')
        r = self.req('GET', '/api/v1/tokens/self',
                     headers={'Authorization': 'Token ' + t['token']})
        self.assertEqual(r.status, 200)
        r = self.req('GET', '/api/v1/tokens/self',
                     headers={'Authorization': 'bearer ' + t['token']})
        self.assertEqual(r.status, 200)

    def test_expired_token_is_401_at_its_second(self):
        at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 2))
        t = self.patd.create_token(self.admin, name='short-lived', expires_at=at)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)
        time.sleep(max(0, t['remaining_seconds']) + 0.3)
        r = self.req('GET', '/api/v1/tokens/self', token=t['token'])
        self.assertError(r, 401, 'invalid_token')
        r = self.req('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(r.json['status'], 'expired')
        self.assertEqual(r.json['remaining_seconds'], 0)

    def test_token_cannot_log_out_a_session(self):
        t = self.patd.create_token(self.admin, name='not-a-session')
        r = self.req('DELETE', '/api/v1/session', token=t['token'])
        self.assertError(r, 400, 'invalid_request')

    def test_confirm_window(self):
        s = self.patd.login()
        r = self.req('POST', '/api/v1/session/confirm', {'password': 'wrong-password!'},
                     session=s)
        self.assertError(r, 403, 'forbidden', 'password')
        r = self.req('POST', '/api/v1/session/confirm', {'password': ADMIN_PASSWORD}, session=s)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json['confirmed_until'].endswith('Z'))

    def test_server_healthy_after_abuse(self):
        for raw in (b'\x00\x01\x02', b'{' * 10000, b'"' * 100):
            self.req('POST', '/api/v1/tokens', raw=raw, session=self.admin)
        self.assertEqual(self.req('GET', '/healthz').status, 200)
        self.assertEqual(self.req('GET', '/readyz').status, 200)

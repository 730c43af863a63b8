"""The verification path for protected services: GET /auth, introspection,
last use, trusted proxies, the failure rate limit, query tokens, metrics."""
import re
import time
import unittest

from harness import ADMIN_PASSWORD, Patd, PatdTestCase, well_formed_token

CONFIG = """
route = GET /api/projects/* projects:read
route = * /api/projects/* projects:write
[scope projects:read]
description = Read projects
[scope projects:write]
description = Change projects
"""


def auth_headers(token=None, method='GET', uri='/api/projects/1', **extra):
    h = {'X-Original-Method': method, 'X-Original-URI': uri}
    if token:
        h['Authorization'] = 'Bearer ' + token
    h.update(extra)
    return h


class AuthRequest(PatdTestCase):
    config = CONFIG

    def test_allowed_with_identity_headers(self):
        t = self.patd.create_token(self.admin, name='gw-ok', scopes=['projects:read'])
        r = self.req('GET', '/auth', headers=auth_headers(t['token']))
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header('X-Auth-User'), 'admin')
        self.assertEqual(r.header('X-Auth-User-Id'), '1')
        self.assertEqual(r.header('X-Auth-Token-Id'), str(t['id']))
        self.assertEqual(r.header('X-Auth-Scopes'), 'projects:read')
        # A fresh answer, then a kept one (from the second use): neither may
        # be stored by a cache between nginx and patd.
        for _ in range(3):
            r = self.req('GET', '/auth', headers=auth_headers(t['token']))
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.header('Cache-Control'), 'no-store')
        r = self.req('GET', '/auth', headers=auth_headers('pat_' + 'x' * 38))
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.header('Cache-Control'), 'no-store')

    def test_identity_headers_follow_an_edit_at_once(self):
        # Each HTTP thread reuses the 204 it built for a token; an edit of
        # the scopes must show on the next answer of every thread.
        t = self.patd.create_token(self.admin, name='gw-edit',
                                   scopes=['projects:read', 'projects:write'])
        for _ in range(6):
            r = self.req('GET', '/auth', headers=auth_headers(t['token']))
            self.assertEqual(r.header('X-Auth-Scopes'), 'projects:read projects:write')
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'scopes': ['projects:read']},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        for _ in range(6):
            r = self.req('GET', '/auth', headers=auth_headers(t['token']))
            self.assertEqual(r.status, 204, r)
            self.assertEqual(r.header('X-Auth-Scopes'), 'projects:read')
            self.assertEqual(r.header('X-Auth-Token-Id'), str(t['id']))

    def test_header_names_in_any_case_and_only_exact_names(self):
        t = self.patd.create_token(self.admin, name='gw-case', scopes=['projects:read'])
        h = {'authorization': 'Bearer ' + t['token'], 'X-ORIGINAL-METHOD': 'DELETE',
             'x-original-uri': '/api/projects/1'}
        r = self.req('GET', '/auth', headers=h)
        self.assertEqual(r.status, 403, r)  # DELETE needs projects:write: both were read
        self.assertIn('scope="projects:write"', r.header('WWW-Authenticate'))
        h['X-Required-Scope-Extra'] = 'tokens'  # not X-Required-Scope
        h['x-original-urix'] = '/free'           # not X-Original-URI
        h['X-ORIGINAL-METHOD'] = 'GET'
        r = self.req('GET', '/auth', headers=h)
        self.assertEqual(r.status, 204, r)
        r = self.req('GET', '/auth', headers=dict(h, **{'x-required-scope': 'tokens'}))
        self.assertEqual(r.status, 403, r)
        self.assertIn('scope="tokens"', r.header('WWW-Authenticate'))

    def test_large_headers_within_the_connection_buffer(self):
        # Connection buffers are 16 KiB: a long original URI and a large
        # header next to the token still verify.
        t = self.patd.create_token(self.admin, name='gw-big', scopes=['projects:read'])
        h = auth_headers(t['token'], uri='/api/projects/1?' + 'q=x&' * 900,
                         **{'X-Padding': 'p' * 6000})
        r = self.req('GET', '/auth', headers=h)
        self.assertEqual(r.status, 204, r)

    def test_no_credential_is_401_without_error(self):
        r = self.req('GET', '/auth', headers=auth_headers())
        self.assertEqual(r.status, 401)
        self.assertEqual(r.header('WWW-Authenticate'), 'Bearer realm="patd"')

    def test_bad_token_is_401_invalid_token(self):
        for value in ('nonsense', 'pat_' + 'A' * 38):
            r = self.req('GET', '/auth', headers=auth_headers(value))
            self.assertEqual(r.status, 401)
            self.assertIn('error="invalid_token"', r.header('WWW-Authenticate'))

    def test_insufficient_scope_from_route_rules_and_header(self):
        t = self.patd.create_token(self.admin, name='gw-read', scopes=['projects:read'])
        r = self.req('GET', '/auth', headers=auth_headers(t['token'], method='DELETE'))
        self.assertEqual(r.status, 403, r)
        www = r.header('WWW-Authenticate')
        self.assertIn('error="insufficient_scope"', www)
        self.assertIn('scope="projects:write"', www)
        r = self.req('GET', '/auth', headers=auth_headers(t['token'], uri='/elsewhere',
                                                          **{'X-Required-Scope': 'tokens'}))
        self.assertEqual(r.status, 403)
        self.assertIn('scope="tokens"', r.header('WWW-Authenticate'))
        # No rule, no header: any valid token will do.
        r = self.req('GET', '/auth', headers=auth_headers(t['token'], uri='/free'))
        self.assertEqual(r.status, 204)

    def test_revocation_is_effective_on_the_very_next_request(self):
        for i in range(30):
            t = self.patd.create_token(self.admin, name='loop-%d' % i, scopes=['projects:read'])
            h = auth_headers(t['token'])
            self.assertEqual(self.req('GET', '/auth', headers=h).status, 204)
            self.assertEqual(self.req('GET', '/auth', headers=h).status, 204)
            action = i % 3
            if action == 0:
                self.req('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
            elif action == 1:
                self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], session=self.admin)
            else:
                self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], session=self.admin)
            self.assertEqual(self.req('GET', '/auth', headers=h).status, 401, (i, action))

    def test_regenerated_old_value_works_during_grace_only(self):
        t = self.patd.create_token(self.admin, name='gw-grace', scopes=['projects:read'])
        old = auth_headers(t['token'])
        self.assertEqual(self.req('GET', '/auth', headers=old).status, 204)
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], {'grace_seconds': 2},
                     session=self.admin)
        new = auth_headers(r.json['token'])
        self.assertEqual(self.req('GET', '/auth', headers=old).status, 204)
        self.assertEqual(self.req('GET', '/auth', headers=new).status, 204)
        time.sleep(2.2)
        self.assertEqual(self.req('GET', '/auth', headers=old).status, 401)
        self.assertEqual(self.req('GET', '/auth', headers=new).status, 204)

    def test_expired_at_exactly_expires_at(self):
        at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 2))
        t = self.patd.create_token(self.admin, name='gw-exp', scopes=['projects:read'],
                                   expires_at=at)
        h = auth_headers(t['token'])
        self.assertEqual(self.req('GET', '/auth', headers=h).status, 204)
        deadline = time.time() + 4
        while time.time() < deadline and self.req('GET', '/auth', headers=h).status == 204:
            time.sleep(0.05)
        now = time.time()
        exp = time.mktime(time.strptime(at, '%Y-%m-%dT%H:%M:%SZ')) - time.timezone
        self.assertGreaterEqual(now, exp)
        self.assertLess(now, exp + 1.0)

    def test_last_use_recorded_after_flush_with_original_request(self):
        t = self.patd.create_token(self.admin, name='gw-used', scopes=['projects:read'])
        r = self.req('GET', '/auth', headers=auth_headers(
            t['token'], uri='/api/projects/42?secret=x', **{'X-Real-IP': '198.51.100.23',
                                                            'User-Agent': 'deploy-bot/2'}))
        self.assertEqual(r.status, 204)
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertIsNotNone(last)
        self.assertEqual(last['method'], 'GET')
        self.assertEqual(last['path'], '/api/projects/42')
        self.assertEqual(last['ip'], '198.51.100.23')
        self.assertEqual(last['user_agent'], 'deploy-bot/2')
        self.assertRegex(last['at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')

    def test_client_text_that_is_not_utf8_is_recorded_cleaned(self):
        # Bytes no store's text type or JSON takes: recorded, never a lost
        # use or a failed sign-in (PostgreSQL refuses invalid UTF-8).
        t = self.patd.create_token(self.admin, name='odd-agent', scopes=['projects:read'])
        r = self.req('GET', '/auth', headers=auth_headers(
            t['token'], uri='/api/x', **{'User-Agent': 'bot\xff\xfe/1 caf\xc3'}))
        self.assertEqual(r.status, 204)
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertIsNotNone(last)
        self.assertEqual(last['user_agent'], 'bot??/1 caf?')
        r = self.req('POST', '/api/v1/session', {'username': 'admin', 'password': ADMIN_PASSWORD},
                     headers={'User-Agent': 'odd\xff'})
        self.assertEqual(r.status, 200, r)
        r = self.req('GET', '/api/v1/audit?action=session.created', session=self.admin)
        self.assertEqual(r.json['events'][0]['user_agent'], 'odd?')

    def test_api_use_is_recorded_too(self):
        t = self.patd.create_token(self.admin, name='api-used', scopes=['tokens'])
        self.req('GET', '/api/v1/tokens/self', token=t['token'])
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertEqual(last['path'], '/api/v1/tokens/self')
        self.assertEqual(last['ip'], '127.0.0.1')
        r = self.req('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertGreaterEqual(r.json['use_count'], 1)

    def test_query_tokens_refused_by_default_then_allowed_and_never_logged(self):
        t = self.patd.create_token(self.admin, name='gw-query', scopes=['projects:read'])
        uri = '/api/projects/1?access_token=' + t['token']
        r = self.req('GET', '/auth', headers=auth_headers(uri=uri))
        self.assertEqual(r.status, 401)
        r = self.req('GET', '/api/v1/tokens/self?access_token=' + t['token'])
        self.assertEqual(r.status, 401)
        r = self.req('PUT', '/api/v1/policy', {'query_tokens_enabled': True}, session=self.admin)
        self.assertEqual(r.status, 200, r)
        try:
            self.assertEqual(self.req('GET', '/auth', headers=auth_headers(uri=uri)).status, 204)
            uri2 = '/api/projects/1?x=1&session=' + t['token']
            self.assertEqual(self.req('GET', '/auth', headers=auth_headers(uri=uri2)).status, 204)
        finally:
            self.req('PUT', '/api/v1/policy', {'query_tokens_enabled': False},
                     session=self.admin)
        self.assertEqual(self.req('GET', '/auth', headers=auth_headers(uri=uri)).status, 401)
        deadline = time.time() + 5  # the log is pushed out every second or two
        while 'GET /auth 204' not in self.patd.read_log() and time.time() < deadline:
            time.sleep(0.1)
        log = self.patd.read_log()
        self.assertIn('GET /auth 204', log)
        self.assertNotIn(t['token'], log)

    def test_metrics_parse_as_prometheus_text(self):
        self.req('GET', '/auth', headers=auth_headers('garbage'))
        r = self.req('GET', '/metrics')
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header('Content-Type').startswith('text/plain'))
        line_re = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
                             r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.e+Inf-]+$')
        names = set()
        for line in r.body.strip().split('\n'):
            if line.startswith('#'):
                self.assertRegex(line, r'^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$')
                continue
            self.assertRegex(line, line_re)
            names.add(line.split('{')[0].split(' ')[0])
        for name in ('patd_requests_total', 'patd_request_duration_seconds_bucket',
                     'patd_verify_total', 'patd_cache_hits_total', 'patd_cache_misses_total',
                     'patd_cache_entries', 'patd_last_use_flush_age_seconds',
                     'patd_store_writes_total'):
            self.assertIn(name, names)
        self.assertRegex(r.body, r'patd_verify_total\{outcome="malformed"\} [1-9]')
        self.assertRegex(r.body, r'patd_requests_total\{route="/auth",status="401"\} [1-9]')


class Introspection(PatdTestCase):
    config = CONFIG

    def setUp(self):
        self.caller = self.patd.create_token(self.admin, name='rs-%f' % time.time(),
                                             scopes=['introspect'])['token']

    def test_active_token(self):
        t = self.patd.create_token(self.admin, name='subject-%f' % time.time(),
                                   scopes=['projects:read', 'projects:write'],
                                   expires_in_days=30)
        r = self.req('POST', '/api/v1/introspect', raw='token=' + t['token'],
                     content_type='application/x-www-form-urlencoded', token=self.caller)
        self.assertEqual(r.status, 200, r)
        j = r.json
        self.assertIs(j['active'], True)
        self.assertEqual(j['sub'], '1')
        self.assertEqual(j['username'], 'admin')
        self.assertEqual(j['scope'], 'projects:read projects:write')
        self.assertEqual(j['token_id'], t['id'])
        self.assertEqual(j['token_type'], 'pat')
        self.assertGreater(j['exp'], j['iat'])
        r = self.req('POST', '/api/v1/introspect', {'token': t['token']}, token=self.caller)
        self.assertIs(r.json['active'], True)

    def test_inactive_is_exactly_active_false(self):
        t = self.patd.create_token(self.admin, name='gone-%f' % time.time())
        self.req('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        for body in ('token=' + t['token'], 'token=nonsense', 'token=' + 'x' * 600):
            r = self.req('POST', '/api/v1/introspect', raw=body,
                         content_type='application/x-www-form-urlencoded', token=self.caller)
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json, {'active': False})

    def test_caller_needs_introspect_scope(self):
        plain = self.patd.create_token(self.admin, name='plain-%f' % time.time())
        r = self.req('POST', '/api/v1/introspect', {'token': plain['token']},
                     token=plain['token'])
        self.assertError(r, 401, 'invalid_token')
        r = self.req('POST', '/api/v1/introspect', {'token': plain['token']})
        self.assertError(r, 401, 'unauthenticated')
        r = self.req('POST', '/api/v1/introspect', {'token': plain['token']},
                     session=self.admin)
        self.assertEqual(r.status, 401)

    def test_missing_token_field(self):
        r = self.req('POST', '/api/v1/introspect', {}, token=self.caller)
        self.assertError(r, 400, 'invalid_request', 'token')


class TrustedProxies(unittest.TestCase):

    def test_untrusted_peer_cannot_spoof_forwarded_for(self):
        with Patd(config='trusted_proxies = 10.9.9.9/32\n') as p:
            s = p.login()
            t = p.create_token(s, name='spoof')
            p.request('GET', '/api/v1/tokens/self', token=t['token'],
                      headers={'X-Forwarded-For': '6.6.6.6', 'X-Real-IP': '7.7.7.7'})
            self.assertEqual(p.wait_last_used(s, t['id'])['ip'], '127.0.0.1')

    def test_trusted_proxy_forwarded_for(self):
        with Patd(config='trusted_proxies = 127.0.0.1/32\n') as p:
            s = p.login()
            t = p.create_token(s, name='fwd')
            p.request('GET', '/api/v1/tokens/self', token=t['token'],
                      headers={'X-Forwarded-For': '6.6.6.6, 203.0.113.8'})
            self.assertEqual(p.wait_last_used(s, t['id'])['ip'], '203.0.113.8')


class RateLimit(unittest.TestCase):

    def test_engages_and_releases_per_address(self):
        config = 'auth_fail_window_seconds = 2\n'
        with Patd(env={'PATD_AUTH_FAIL_LIMIT': '5'}, config=config) as p:
            s = p.login()
            good = p.create_token(s, name='owner')['token']
            bad = 'pat_' + 'B' * 38
            for _ in range(5):
                r = p.request('GET', '/auth', headers=auth_headers(bad, **{'X-Real-IP': '203.0.113.1'}))
                self.assertEqual(r.status, 401)
            r = p.request('GET', '/auth', headers=auth_headers(bad, **{'X-Real-IP': '203.0.113.1'}))
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json['error'], 'rate_limited')
            self.assertTrue(1 <= int(r.header('Retry-After')) <= 2)
            # A valid token from the blocked address is served all the same
            # (one stale client behind a NAT must not lock out the rest)...
            r = p.request('GET', '/auth', headers=auth_headers(good, **{'X-Real-IP': '203.0.113.1'}))
            self.assertEqual(r.status, 204)
            # ...and its success does not lift the block for the bad value.
            r = p.request('GET', '/auth', headers=auth_headers(bad, **{'X-Real-IP': '203.0.113.1'}))
            self.assertEqual(r.status, 429)
            # Its owner elsewhere is not blocked either.
            r = p.request('GET', '/auth', headers=auth_headers(good, **{'X-Real-IP': '198.51.100.1'}))
            self.assertEqual(r.status, 204)
            time.sleep(2.1)
            r = p.request('GET', '/auth', headers=auth_headers(good, **{'X-Real-IP': '203.0.113.1'}))
            self.assertEqual(r.status, 204)

    def test_stale_client_never_locks_out_valid_tokens(self):
        # Issue #12's report: 100 uses of a revoked token from one address,
        # then a valid token from the same address.
        with Patd(env={'PATD_AUTH_FAIL_LIMIT': '20'}) as p:
            s = p.login()
            revoked = p.create_token(s, name='revoked')
            good = p.create_token(s, name='good')['token']
            p.request('DELETE', '/api/v1/tokens/%d' % revoked['id'], session=s)
            statuses = [p.request('GET', '/auth', headers=auth_headers(revoked['token'])).status
                        for _ in range(100)]
            self.assertEqual(statuses, [401] * 20 + [429] * 80)
            self.assertEqual(p.request('GET', '/auth', headers=auth_headers(good)).status, 204)
            self.assertEqual(p.request('GET', '/api/v1/tokens/self', token=good).status, 200)
            # Unknown values over the limit are 429 without a store lookup:
            # the live filter answers them (patd_live_filter_rejected_total).
            before = metric(p, 'patd_live_filter_rejected_total')
            unknown = well_formed_token()
            r = p.request('GET', '/auth', headers=auth_headers(unknown))
            self.assertEqual(r.status, 429)
            self.assertEqual(metric(p, 'patd_live_filter_rejected_total'), before + 1)

    def test_exempt_networks_are_never_limited(self):
        with Patd(env={'PATD_AUTH_FAIL_LIMIT': '3',
                       'PATD_AUTH_FAIL_EXEMPT': '203.0.113.0/24'}) as p:
            bad = 'pat_' + 'C' * 38
            for _ in range(10):
                r = p.request('GET', '/auth', headers=auth_headers(bad, **{'X-Real-IP':
                                                                           '203.0.113.9'}))
                self.assertEqual(r.status, 401)
            for expected in (401, 401, 401, 429):
                r = p.request('GET', '/auth', headers=auth_headers(bad, **{'X-Real-IP':
                                                                           '198.51.100.9'}))
                self.assertEqual(r.status, expected)


def metric(p, name):
    for line in p.request('GET', '/metrics').body.splitlines():
        if line.startswith(name + ' '):
            return int(float(line.split()[1]))
    raise AssertionError('no metric ' + name)


class KeptFailureAnswers(PatdTestCase):
    def test_repeated_failures_answer_the_same_whole(self):
        # Kept per thread after the first: every repeat must still carry
        # the body, the reason and the challenge of its own failure.
        unknown = well_formed_token()
        seen = set()
        for value, reason in ((unknown, 'the token is not valid'),
                              ('pat_' + 'Z' * 38, 'the token is malformed')):
            for _ in range(6):
                r = self.req('GET', '/auth', headers=auth_headers(value))
                self.assertEqual(r.status, 401)
                self.assertEqual(r.json, {'error': 'invalid_token', 'message': reason})
                self.assertIn('error="invalid_token"', r.header('WWW-Authenticate'))
                self.assertIn(reason, r.header('WWW-Authenticate'))
                self.assertEqual(r.header('Cache-Control'), 'no-store')
                seen.add(r.body)
        self.assertEqual(len(seen), 2)

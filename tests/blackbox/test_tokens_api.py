"""Every own-token endpoint of API.md, and its errors, over real HTTP."""
import datetime
import time

from harness import PatdTestCase

CONFIG = """
[scope repo:read]
description = Read repositories
[scope env.Stop]
description = Stop environments
roles = superuser
[set CI]
description = What a pipeline needs
scopes = repo:read tokens
"""


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        '%Y-%m-%dT%H:%M:%SZ')


def parse(s):
    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


class TokensApi(PatdTestCase):
    config = CONFIG

    def create(self, **fields):
        return self.patd.create_token(self.admin, **fields)

    def test_create_default_is_seven_days_and_value_shown_once(self):
        t = self.create(name='default-expiry', description='d')
        self.assertTrue(t['token'].startswith('pat_'))
        self.assertEqual(len(t['token']), 42)
        self.assertEqual(t['prefix'], t['token'][:10])
        self.assertEqual(t['status'], 'active')
        self.assertEqual(t['scopes'], ['tokens'])
        self.assertIsNone(t['last_used'])
        self.assertEqual(t['allowed_cidrs'], [])
        self.assertAlmostEqual(parse(t['expires_at']) - parse(t['created_at']), 7 * 86400,
                               delta=2)
        self.assertAlmostEqual(t['remaining_seconds'], 7 * 86400, delta=5)
        self.assertIn(t['token'], t['curl_example'])
        self.assertIn(self.patd.url('/api/v1/tokens/self'), t['curl_example'])
        # Never again: get, list, self.
        g = self.req('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(g.status, 200)
        self.assertNotIn('token', g.json)
        self.assertNotIn(t['token'], g.body)
        lst = self.req('GET', '/api/v1/tokens', session=self.admin)
        self.assertNotIn(t['token'], lst.body)
        s = self.req('GET', '/api/v1/tokens/self', token=t['token'])
        self.assertEqual(s.status, 200)
        self.assertEqual(s.json['id'], t['id'])
        self.assertNotIn(t['token'], s.body)

    def test_create_presets_custom_and_never(self):
        for days in (7, 30, 60, 90):
            t = self.create(name='preset-%d' % days, expires_in_days=days)
            self.assertAlmostEqual(parse(t['expires_at']) - parse(t['created_at']),
                                   days * 86400, delta=2)
        at = iso(time.time() + 3 * 86400)
        t = self.create(name='custom', expires_at=at)
        self.assertEqual(t['expires_at'], at)
        t = self.create(name='date-only', expires_at='2099-01-02')
        self.assertEqual(t['expires_at'], '2099-01-02T00:00:00Z')
        t = self.create(name='forever', never_expires=True)
        self.assertIsNone(t['expires_at'])
        self.assertIsNone(t['remaining_seconds'])

    def test_create_with_scope_set_and_operator_scope(self):
        t = self.create(name='ci-set', scopes=None, scope_set='CI')
        self.assertEqual(t['scopes'], ['tokens', 'repo:read'])
        t = self.create(name='op-scope', scopes=['env.Stop', 'repo:read', 'repo:read'])
        self.assertEqual(t['scopes'], ['repo:read', 'env.Stop'])

    def test_create_errors(self):
        cases = [
            ({'scopes': ['tokens']}, 'name'),
            ({'name': '', 'scopes': ['tokens']}, 'name'),
            ({'name': 'x' * 101, 'scopes': ['tokens']}, 'name'),
            ({'name': 'ok', 'description': 'd' * 1001, 'scopes': ['tokens']}, 'description'),
            ({'name': 'ok', 'expires_in_days': -7, 'scopes': ['tokens']}, 'expires_in_days'),
            ({'name': 'ok', 'expires_in_days': 0, 'scopes': ['tokens']}, 'expires_in_days'),
            ({'name': 'ok', 'expires_in_days': 45, 'scopes': ['tokens']}, 'expires_in_days'),
            ({'name': 'ok', 'expires_in_days': '30', 'scopes': ['tokens']}, 'expires_in_days'),
            ({'name': 'ok', 'expires_in_days': 7.5, 'scopes': ['tokens']}, 'expires_in_days'),
            ({'name': 'ok', 'expires_at': '2001-01-01T00:00:00Z', 'scopes': ['tokens']},
             'expires_at'),
            ({'name': 'ok', 'expires_at': 'next week', 'scopes': ['tokens']}, 'expires_at'),
            ({'name': 'ok', 'expires_at': 12, 'scopes': ['tokens']}, 'expires_at'),
            ({'name': 'ok', 'expires_in_days': 7, 'never_expires': True, 'scopes': ['tokens']},
             'expires_at'),
            ({'name': 'ok', 'never_expires': 'yes', 'scopes': ['tokens']}, 'never_expires'),
            ({'name': 'ok', 'scopes': ['nope']}, 'scopes'),
            ({'name': 'ok', 'scopes': 'tokens'}, 'scopes'),
            ({'name': 'ok', 'scopes': [1]}, 'scopes'),
            ({'name': 'ok', 'scopes': []}, 'scopes'),
            ({'name': 'ok'}, 'scopes'),
            ({'name': 'ok', 'scopes': ['s%d' % i for i in range(101)]}, 'scopes'),
            ({'name': 'ok', 'scope_set': 'nope'}, 'scope_set'),
            ({'name': 'ok', 'scope_set': 'CI', 'scopes': ['tokens']}, 'scope_set'),
            ({'name': 'ok', 'scopes': ['tokens'], 'allowed_cidrs': ['nope']}, 'allowed_cidrs'),
            ({'name': 'ok', 'scopes': ['tokens'], 'colour': 'red'}, 'colour'),
            ({'name': 5, 'scopes': ['tokens']}, 'name'),
            ({'name': 'a\u0001b', 'scopes': ['tokens']}, 'name'),
        ]
        for body, field in cases:
            with self.subTest(body=str(body)[:80]):
                r = self.req('POST', '/api/v1/tokens', body, session=self.admin)
                self.assertError(r, 400, 'invalid_request', field)
        # Nothing half-made: no token called "ok" exists.
        lst = self.req('GET', '/api/v1/tokens?q=ok', session=self.admin)
        self.assertEqual([t for t in lst.json['tokens'] if t['name'] == 'ok'], [])

    def test_name_of_100_characters_is_fine(self):
        t = self.create(name='\u00e9' * 100)
        self.assertEqual(t['name'], '\u00e9' * 100)

    def test_duplicate_name_conflicts(self):
        self.create(name='dup')
        r = self.req('POST', '/api/v1/tokens', {'name': 'dup', 'scopes': ['tokens']},
                     session=self.admin)
        self.assertError(r, 409, 'conflict')

    def test_malformed_bodies(self):
        bad = [
            (b'{"name": "x",', 400, 'invalid_request'),
            (b'{"name": "a", "name": "b", "scopes": ["tokens"]}', 400, 'invalid_request'),
            (b'["name"]', 400, 'invalid_request'),
            (b'{"name": "\xff\xfe", "scopes": ["tokens"]}', 400, 'invalid_request'),
            (b'{"name": "x"} trailing', 400, 'invalid_request'),
            (b'{"a":' * 40 + b'1' + b'}' * 40, 400, 'invalid_request'),
            (b'{"name": "nul\\u0000", "scopes": ["tokens"]}', 400, 'invalid_request'),
        ]
        for raw, status, code in bad:
            with self.subTest(raw=raw[:40]):
                r = self.req('POST', '/api/v1/tokens', raw=raw, session=self.admin)
                self.assertError(r, status, code)

    def test_body_over_64k_is_413(self):
        raw = '{"name": "big", "description": "' + 'x' * (65 * 1024) + '"}'
        r = self.req('POST', '/api/v1/tokens', raw=raw, session=self.admin)
        self.assertError(r, 413, 'payload_too_large')

    def test_text_plain_is_415(self):
        r = self.req('POST', '/api/v1/tokens', raw='{"name": "t"}', session=self.admin,
                     content_type='text/plain')
        self.assertError(r, 415, 'unsupported_media_type')

    def test_list_filters_by_status_and_q(self):
        a = self.create(name='filter-Alpha', description='first')
        b = self.create(name='filter-beta', description='SECOND one')
        self.req('POST', '/api/v1/tokens/%d/disable' % b['id'], session=self.admin)
        r = self.req('GET', '/api/v1/tokens?q=filter-', session=self.admin)
        names = {t['name'] for t in r.json['tokens']}
        self.assertEqual(names, {'filter-Alpha', 'filter-beta'})
        r = self.req('GET', '/api/v1/tokens?q=second', session=self.admin)
        self.assertEqual([t['id'] for t in r.json['tokens']], [b['id']])
        r = self.req('GET', '/api/v1/tokens?status=disabled&q=filter', session=self.admin)
        self.assertEqual([t['id'] for t in r.json['tokens']], [b['id']])
        r = self.req('GET', '/api/v1/tokens?status=active&q=filter', session=self.admin)
        self.assertEqual([t['id'] for t in r.json['tokens']], [a['id']])
        r = self.req('GET', '/api/v1/tokens?status=weird', session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'status')

    def test_get_unknown_and_bad_ids(self):
        self.assertError(self.req('GET', '/api/v1/tokens/999999', session=self.admin), 404,
                         'not_found')
        self.assertError(self.req('GET', '/api/v1/tokens/abc', session=self.admin), 404,
                         'not_found')
        self.assertError(self.req('GET', '/api/v1/tokens/0', session=self.admin), 404,
                         'not_found')

    def test_patch_fields_and_clear_expiry(self):
        t = self.create(name='editable')
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'],
                     {'name': 'edited', 'description': 'new', 'scopes': ['tokens', 'repo:read']},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['name'], 'edited')
        self.assertEqual(r.json['description'], 'new')
        self.assertEqual(r.json['scopes'], ['tokens', 'repo:read'])
        at = iso(time.time() + 10 * 86400)
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'expires_at': at},
                     session=self.admin)
        self.assertEqual(r.json['expires_at'], at)
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'expires_at': None},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.json['expires_at'])
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'],
                     {'expires_at': '2000-01-01T00:00:00Z'}, session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'expires_at')
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'scopes': ['bogus']},
                     session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'scopes')
        r = self.req('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(r.json['scopes'], ['tokens', 'repo:read'])  # unchanged by the refusals

    def test_patch_rename_to_taken_name_conflicts(self):
        self.create(name='taken-name')
        t = self.create(name='other-name')
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'name': 'taken-name'},
                     session=self.admin)
        self.assertError(r, 409, 'conflict')

    def test_disable_enable_and_edit_of_disabled(self):
        t = self.create(name='switch')
        r = self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['status'], 'disabled')
        r = self.req('GET', '/api/v1/tokens/self', token=t['token'])
        self.assertError(r, 401, 'invalid_token')
        self.assertIn('invalid_token', r.header('WWW-Authenticate'))
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'name': 'x'}, session=self.admin)
        self.assertError(r, 409, 'conflict')
        r = self.req('POST', '/api/v1/tokens/%d/enable' % t['id'], session=self.admin)
        self.assertEqual(r.json['status'], 'active')
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)
        r = self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], {'x': 1}, session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'x')

    def test_regenerate_without_and_with_grace(self):
        t = self.create(name='rotate')
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], session=self.admin)
        self.assertEqual(r.status, 200, r)
        new = r.json['token']
        self.assertNotEqual(new, t['token'])
        self.assertEqual(r.json['scopes'], t['scopes'])
        self.assertEqual(r.json['expires_at'], t['expires_at'])
        self.assertError(self.req('GET', '/api/v1/tokens/self', token=t['token']), 401,
                         'invalid_token')
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=new).status, 200)
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], {'grace_seconds': 2},
                     session=self.admin)
        newer = r.json['token']
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=new).status, 200)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=newer).status, 200)
        time.sleep(2.2)
        self.assertError(self.req('GET', '/api/v1/tokens/self', token=new), 401,
                         'invalid_token')
        for bad in (-1, 86401, 'ten', 1.5):
            r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'],
                         {'grace_seconds': bad}, session=self.admin)
            self.assertError(r, 400, 'invalid_request', 'grace_seconds')
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=newer).status, 200)

    def test_copy(self):
        t = self.create(name='template', description='tmpl', scope_set='CI', scopes=None,
                        expires_in_days=30)
        r = self.req('POST', '/api/v1/tokens/%d/copy' % t['id'], {'name': 'from-template'},
                     session=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['scopes'], t['scopes'])
        self.assertEqual(r.json['description'], 'tmpl')
        self.assertNotEqual(r.json['token'], t['token'])
        self.assertIn('curl_example', r.json)
        self.assertAlmostEqual(parse(r.json['expires_at']) - parse(r.json['created_at']),
                               30 * 86400, delta=2)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=r.json['token']).status,
                         200)
        r = self.req('POST', '/api/v1/tokens/%d/copy' % t['id'], {'name': 'template'},
                     session=self.admin)
        self.assertError(r, 409, 'conflict')
        r = self.req('POST', '/api/v1/tokens/%d/copy' % t['id'], {}, session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'name')

    def test_delete_and_bulk_delete(self):
        a = self.create(name='del-a')
        b = self.create(name='del-b')
        c = self.create(name='del-c')
        r = self.req('DELETE', '/api/v1/tokens/%d' % a['id'], session=self.admin)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, '')
        self.assertError(self.req('GET', '/api/v1/tokens/self', token=a['token']), 401,
                         'invalid_token')
        self.assertError(self.req('DELETE', '/api/v1/tokens/%d' % a['id'], session=self.admin),
                         404, 'not_found')
        r = self.req('POST', '/api/v1/tokens/bulk-delete',
                     {'ids': [b['id'], c['id'], a['id'], 999999]}, session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(sorted(r.json['deleted']), sorted([b['id'], c['id']]))
        for t in (b, c):
            self.assertError(self.req('GET', '/api/v1/tokens/self', token=t['token']), 401,
                             'invalid_token')
        for body in ({'ids': 'x'}, {'ids': [0]}, {'ids': ['1']}, {'ids': []}, {},
                     {'ids': list(range(1, 1002))}):
            with self.subTest(body=str(body)[:40]):
                r = self.req('POST', '/api/v1/tokens/bulk-delete', body, session=self.admin)
                self.assertError(r, 400, 'invalid_request', 'ids')

    def test_scopes_catalog(self):
        r = self.req('GET', '/api/v1/scopes', session=self.admin)
        self.assertEqual(r.status, 200)
        names = [s['name'] for s in r.json['scopes']]
        self.assertEqual(names[:3], ['tokens', 'introspect', 'admin'])
        self.assertIn('repo:read', names)
        for s in r.json['scopes']:
            self.assertIn('description', s)
        self.assertEqual(r.json['sets'], [{'name': 'CI', 'description': 'What a pipeline needs',
                                           'scopes': ['tokens', 'repo:read']}])

    def test_token_auth_manages_with_tokens_scope_only(self):
        full = self.create(name='api-full', scopes=['tokens', 'repo:read'])
        narrow = self.create(name='api-narrow', scopes=['repo:read'])
        r = self.req('POST', '/api/v1/tokens', {'name': 'via-token', 'scopes': ['repo:read']},
                     token=full['token'])
        self.assertEqual(r.status, 201, r)
        r = self.req('POST', '/api/v1/tokens', {'name': 'too-wide', 'scopes': ['env.Stop']},
                     token=full['token'])
        self.assertError(r, 403, 'forbidden')
        r = self.req('POST', '/api/v1/tokens', {'name': 'too-long', 'scopes': ['repo:read'],
                                                'expires_in_days': 90}, token=full['token'])
        self.assertError(r, 403, 'forbidden')
        r = self.req('GET', '/api/v1/tokens', token=narrow['token'])
        self.assertError(r, 403, 'insufficient_scope')
        self.assertIn('insufficient_scope', r.header('WWW-Authenticate'))
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=narrow['token']).status,
                         200)
        # Token callers need no CSRF header and no password confirmation.
        r = self.req('DELETE', '/api/v1/tokens/%d' % narrow['id'], token=full['token'])
        self.assertEqual(r.status, 204)

    def test_unknown_route_and_method(self):
        self.assertError(self.req('GET', '/api/v1/nothing', session=self.admin), 404,
                         'not_found')
        r = self.req('PUT', '/api/v1/tokens', session=self.admin)
        self.assertEqual(r.status, 405)
        self.assertEqual(r.json['error'], 'method_not_allowed')

    def test_responses_are_not_cached(self):
        r = self.req('GET', '/api/v1/tokens', session=self.admin)
        self.assertEqual(r.header('Cache-Control'), 'no-store')
        self.assertTrue(r.header('Content-Type').startswith('application/json'))

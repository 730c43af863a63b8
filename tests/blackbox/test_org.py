"""The organization: people, the token permission, accounts, policy,
password confirmation, role ceilings, the audit log, sign-in limits."""
import time
import unittest

from harness import ADMIN_PASSWORD, Patd, PatdTestCase

CONFIG = """
confirm_window_seconds = 4
[scope projects:read]
description = Read
[scope deploy:prod]
description = Deploy to production
roles = superuser
"""
# The window is counted in whole seconds, so it lasts between 3 and 4 s:
# long enough that a loaded machine's request after a confirmation is
# still inside it.
WINDOW_WAIT = 4.2
MEMBER_PASSWORD = 'member-password-123'


class Org(PatdTestCase):
    config = CONFIG

    def setUp(self):
        # This class's confirmation window is short; open it for each test.
        self.confirm(self.admin)

    def make_member(self, name, **extra):
        body = {'username': name, 'email': name + '@example.com', 'password': MEMBER_PASSWORD}
        body.update(extra)
        r = self.req('POST', '/api/v1/users', body, session=self.admin)
        self.assertEqual(r.status, 201, r)
        return r.json

    def member_session(self, name):
        return self.patd.login(name, MEMBER_PASSWORD)

    def confirm(self, session, password=ADMIN_PASSWORD):
        r = self.req('POST', '/api/v1/session/confirm', {'password': password}, session=session)
        self.assertEqual(r.status, 200, r)

    def test_create_list_get_people(self):
        u = self.make_member('ann', role='member')
        self.assertEqual(u['role'], 'member')
        self.assertTrue(u['can_manage_tokens'])
        self.assertFalse(u['disabled'])
        self.assertNotIn('password', str(u))
        r = self.req('GET', '/api/v1/users', session=self.admin)
        self.assertIn('ann', [x['username'] for x in r.json['users']])
        r = self.req('GET', '/api/v1/users/%d' % u['id'], session=self.admin)
        self.assertEqual(r.json['email'], 'ann@example.com')
        self.assertError(self.req('GET', '/api/v1/users/99999', session=self.admin), 404,
                         'not_found')

    def test_create_people_errors(self):
        cases = [
            ({'username': 'shortpw', 'password': 'short'}, 'password'),
            ({'username': 'bad name', 'password': MEMBER_PASSWORD}, 'username'),
            ({'password': MEMBER_PASSWORD}, 'username'),
            ({'username': 'nopw'}, 'password'),
            ({'username': 'r', 'password': MEMBER_PASSWORD, 'role': 'king'}, 'role'),
            ({'username': 'e', 'password': MEMBER_PASSWORD, 'email': 'not-an-email'}, 'email'),
            ({'username': 'x', 'password': MEMBER_PASSWORD, 'extra': 1}, 'extra'),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                r = self.req('POST', '/api/v1/users', body, session=self.admin)
                self.assertError(r, 400, 'invalid_request', field)
        self.make_member('dupe')
        r = self.req('POST', '/api/v1/users', {'username': 'dupe', 'password': MEMBER_PASSWORD},
                     session=self.admin)
        self.assertError(r, 409, 'conflict')

    def test_other_persons_token_is_404_on_every_route(self):
        self.make_member('bob')
        bob = self.member_session('bob')
        t = self.patd.create_token(self.admin, name='admins-own')
        tid = t['id']
        routes = [('GET', '/api/v1/tokens/%d' % tid, None),
                  ('PATCH', '/api/v1/tokens/%d' % tid, {'name': 'x'}),
                  ('DELETE', '/api/v1/tokens/%d' % tid, None),
                  ('POST', '/api/v1/tokens/%d/disable' % tid, None),
                  ('POST', '/api/v1/tokens/%d/enable' % tid, None),
                  ('POST', '/api/v1/tokens/%d/regenerate' % tid, None),
                  ('POST', '/api/v1/tokens/%d/copy' % tid, {'name': 'stolen'})]
        for method, path, body in routes:
            with self.subTest(method=method, path=path):
                r = self.req(method, path, body, session=bob)
                self.assertError(r, 404, 'not_found')
        r = self.req('POST', '/api/v1/tokens/bulk-delete', {'ids': [tid]}, session=bob)
        self.assertEqual(r.json['deleted'], [])
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)

    def test_member_cannot_reach_superuser_routes(self):
        u = self.make_member('carl')
        carl = self.member_session('carl')
        for method, path, body in [
                ('GET', '/api/v1/users', None), ('POST', '/api/v1/users',
                                                 {'username': 'z', 'password': 'x' * 12}),
                ('GET', '/api/v1/users/%d' % u['id'], None),
                ('PATCH', '/api/v1/users/%d' % u['id'], {'role': 'superuser'}),
                ('GET', '/api/v1/users/1/tokens', None),
                ('POST', '/api/v1/users/1/tokens/revoke-all', None),
                ('PUT', '/api/v1/policy', {'allow_never_expires': False}),
                ('GET', '/api/v1/policy/violations', None)]:
            with self.subTest(method=method, path=path):
                self.assertError(self.req(method, path, body, session=carl), 403, 'forbidden')
        self.assertEqual(self.req('GET', '/api/v1/users/1', session=self.admin).json['role'],
                         'superuser')

    def test_superuser_api_through_a_token_needs_admin_scope(self):
        plain = self.patd.create_token(self.admin, name='no-admin', scopes=['tokens'])
        admin = self.patd.create_token(self.admin, name='with-admin', scopes=['admin'])
        self.assertError(self.req('GET', '/api/v1/users', token=plain['token']), 403,
                         'insufficient_scope')
        self.assertEqual(self.req('GET', '/api/v1/users', token=admin['token']).status, 200)

    def test_permission_withdrawn_and_granted(self):
        u = self.make_member('dora')
        dora = self.member_session('dora')
        t = self.patd.create_token(dora, name='dora-ci')
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)
        r = self.req('PATCH', '/api/v1/users/%d' % u['id'], {'can_manage_tokens': False},
                     session=self.admin)
        self.assertFalse(r.json['can_manage_tokens'])
        self.assertError(self.req('GET', '/api/v1/tokens/self', token=t['token']), 401,
                         'invalid_token')
        self.assertError(self.req('GET', '/api/v1/tokens', session=dora), 403, 'forbidden')
        r = self.req('POST', '/api/v1/tokens', {'name': 'n', 'scopes': ['tokens']}, session=dora)
        self.assertError(r, 403, 'forbidden')
        # Kept, visible to the superuser.
        r = self.req('GET', '/api/v1/users/%d/tokens' % u['id'], session=self.admin)
        self.assertEqual([x['name'] for x in r.json['tokens']], ['dora-ci'])
        self.assertNotIn(t['token'], r.body)
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'can_manage_tokens': True},
                 session=self.admin)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)

    def test_new_members_get_the_permission_unless_told(self):
        u = self.make_member('eve', can_manage_tokens=False)
        self.assertFalse(u['can_manage_tokens'])

    def test_disabled_account_stops_tokens_and_sessions(self):
        u = self.make_member('finn')
        finn = self.member_session('finn')
        t = self.patd.create_token(finn, name='finn-ci')
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'disabled': True}, session=self.admin)
        self.assertError(self.req('GET', '/api/v1/tokens/self', token=t['token']), 401,
                         'invalid_token')
        self.assertError(self.req('GET', '/api/v1/tokens', session=finn), 401,
                         'unauthenticated')
        r = self.req('POST', '/api/v1/session', {'username': 'finn', 'password': MEMBER_PASSWORD})
        self.assertError(r, 401, 'unauthenticated')
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'disabled': False}, session=self.admin)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self', token=t['token']).status, 200)

    def test_revoke_all_is_for_good(self):
        u = self.make_member('gus')
        gus = self.member_session('gus')
        tokens = [self.patd.create_token(gus, name='gus-%d' % i) for i in range(3)]
        r = self.req('POST', '/api/v1/users/%d/tokens/revoke-all' % u['id'], session=self.admin)
        self.assertEqual(r.json['revoked'], 3)
        for t in tokens:
            self.assertError(self.req('GET', '/api/v1/tokens/self', token=t['token']), 401,
                             'invalid_token')
        r = self.req('GET', '/api/v1/users/%d/tokens' % u['id'], session=self.admin)
        self.assertEqual(r.json['tokens'], [])

    def test_last_superuser_cannot_be_demoted_or_disabled(self):
        r = self.req('PATCH', '/api/v1/users/1', {'role': 'member'}, session=self.admin)
        self.assertError(r, 409, 'conflict')
        r = self.req('PATCH', '/api/v1/users/1', {'disabled': True}, session=self.admin)
        self.assertError(r, 409, 'conflict')

    def test_role_ceiling(self):
        self.make_member('hal')
        hal = self.member_session('hal')
        for scope in ('admin', 'deploy:prod'):
            r = self.req('POST', '/api/v1/tokens', {'name': 'up-' + scope, 'scopes': [scope]},
                         session=hal)
            self.assertError(r, 403, 'forbidden')
            self.assertIn(scope, r.json['message'])
        t = self.patd.create_token(hal, name='ok', scopes=['projects:read'])
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'scopes': ['deploy:prod']},
                     session=hal)
        self.assertError(r, 403, 'forbidden')
        self.assertEqual(self.patd.create_token(self.admin, name='su-deploy',
                                                scopes=['deploy:prod'])['scopes'],
                         ['deploy:prod'])

    def test_policy_limits_refused_then_accepted(self):
        try:
            r = self.req('PUT', '/api/v1/policy', {'max_lifetime_days': 30,
                                                  'allow_never_expires': False},
                         session=self.admin)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json['max_lifetime_days'], 30)
            r = self.req('POST', '/api/v1/tokens', {'name': 'long', 'scopes': ['tokens'],
                                                    'expires_in_days': 90}, session=self.admin)
            self.assertError(r, 400, 'invalid_request', 'expires_in_days')
            self.assertIn('maximum of 30 days', r.json['message'])
            r = self.req('POST', '/api/v1/tokens', {'name': 'never', 'scopes': ['tokens'],
                                                    'never_expires': True}, session=self.admin)
            self.assertError(r, 400, 'invalid_request', 'never_expires')
            r = self.req('GET', '/api/v1/policy/violations', session=self.admin)
            self.assertEqual(r.status, 200)
            self.assertIsInstance(r.json['tokens'], list)
        finally:
            self.confirm(self.admin)
            r = self.req('PUT', '/api/v1/policy', {'max_lifetime_days': None,
                                                  'allow_never_expires': True},
                         session=self.admin)
        self.assertIsNone(r.json['max_lifetime_days'])
        self.patd.create_token(self.admin, name='long-ok', expires_in_days=90)

    def test_policy_preview_changes_nothing_and_lists_what_put_would(self):
        m = self.make_member('preview-owner')
        ms = self.member_session('preview-owner')
        forever = self.patd.create_token(ms, name='pv-forever', never_expires=True)
        long = self.patd.create_token(ms, name='pv-90', expires_in_days=90)
        short = self.patd.create_token(ms, name='pv-7', expires_in_days=7)
        canary = self.req('POST', '/api/v1/tokens', {'name': 'pv-canary', 'canary': True},
                          session=ms).json
        before = self.req('GET', '/api/v1/policy', session=self.admin).json
        tight = {'max_lifetime_days': 30, 'allow_never_expires': False}
        try:
            r = self.req('POST', '/api/v1/policy/preview', tight, session=self.admin)
            self.assertEqual(r.status, 200, r)
            mine = {v['token_id']: v for v in r.json['violations']}
            self.assertIn(forever['id'], mine)
            self.assertIn(long['id'], mine)
            self.assertNotIn(short['id'], mine)
            self.assertNotIn(canary['id'], mine)
            self.assertEqual(mine[forever['id']]['reason'], 'never expires')
            self.assertIn('beyond the maximum of 30 days', mine[long['id']]['reason'])
            self.assertEqual(mine[long['id']]['username'], 'preview-owner')
            self.assertEqual(mine[long['id']]['user_id'], m['id'])
            self.assertEqual(r.json['tokens'], len(r.json['violations']))
            self.assertEqual(r.json['people'],
                             len({v['user_id'] for v in r.json['violations']}))
            # Nothing changed.
            self.assertEqual(self.req('GET', '/api/v1/policy', session=self.admin).json, before)
            # Enforced, the violations are exactly those.
            self.assertEqual(self.req('PUT', '/api/v1/policy', tight,
                                      session=self.admin).status, 200)
            listed = self.req('GET', '/api/v1/policy/violations', session=self.admin).json
            self.assertEqual(sorted(t['id'] for t in listed['tokens']), sorted(mine))
        finally:
            self.confirm(self.admin)
            self.req('PUT', '/api/v1/policy', {'max_lifetime_days': None,
                                               'allow_never_expires': True},
                     session=self.admin)
        # A policy PUT would refuse, and members, are refused.
        r = self.req('POST', '/api/v1/policy/preview', {'max_lifetime_days': -1},
                     session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'max_lifetime_days')
        r = self.req('POST', '/api/v1/policy/preview', {'enforcement': 'maybe'},
                     session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'enforcement')
        self.assertError(self.req('POST', '/api/v1/policy/preview', tight, session=ms), 403,
                         'forbidden')

    def test_warn_mode_lets_through_with_a_warning_then_enforce_refuses(self):
        try:
            r = self.req('PUT', '/api/v1/policy', {'max_lifetime_days': 30,
                                                  'enforcement': 'warn'}, session=self.admin)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json['enforcement'], 'warn')
            r = self.req('POST', '/api/v1/tokens', {'name': 'warned-90', 'scopes': ['tokens'],
                                                    'expires_in_days': 90}, session=self.admin)
            self.assertEqual(r.status, 201, r)
            [w] = r.json['warnings']
            self.assertEqual(w['field'], 'expires_in_days')
            self.assertIn('maximum of 30 days', w['message'])
            self.assertGreater(r.json['remaining_seconds'], 80 * 86400)
            events = self.req('GET', '/api/v1/audit?action=policy.warned',
                              session=self.admin).json['events']
            self.assertIn('expires_in_days', events[0]['detail'])
            # An edit too; within the limits, no warning.
            r = self.req('PATCH', '/api/v1/tokens/%d' % r.json['id'], {'never_expires': True},
                         session=self.admin)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json['warnings'][0]['field'], 'never_expires')
            r = self.req('POST', '/api/v1/tokens', {'name': 'fine-7', 'scopes': ['tokens'],
                                                    'expires_in_days': 7}, session=self.admin)
            self.assertNotIn('warnings', r.json)
            r = self.req('PUT', '/api/v1/policy', {'enforcement': 'enforce'}, session=self.admin)
            self.assertEqual(r.json['enforcement'], 'enforce')
            self.assertEqual(r.json['max_lifetime_days'], 30)
            r = self.req('POST', '/api/v1/tokens', {'name': 'refused-90', 'scopes': ['tokens'],
                                                    'expires_in_days': 90}, session=self.admin)
            self.assertError(r, 400, 'invalid_request', 'expires_in_days')
        finally:
            self.confirm(self.admin)
            self.req('PUT', '/api/v1/policy', {'max_lifetime_days': None,
                                               'enforcement': 'enforce'}, session=self.admin)

    def test_violations_list_tokens_beyond_a_tightened_policy(self):
        t = self.patd.create_token(self.admin, name='forever-token', never_expires=True)
        try:
            self.req('PUT', '/api/v1/policy', {'allow_never_expires': False}, session=self.admin)
            r = self.req('GET', '/api/v1/policy/violations', session=self.admin)
            self.assertIn(t['id'], [x['id'] for x in r.json['tokens']])
            # Tightening did not change the token itself.
            r = self.req('GET', '/api/v1/tokens/%d' % t['id'], session=self.admin)
            self.assertIsNone(r.json['expires_at'])
        finally:
            self.req('PUT', '/api/v1/policy', {'allow_never_expires': True}, session=self.admin)

    def test_policy_validation(self):
        for body, field in [({'default_expires_in_days': 0}, 'default_expires_in_days'),
                            ({'default_expires_in_days': 'x'}, 'default_expires_in_days'),
                            ({'max_lifetime_days': -1}, 'max_lifetime_days'),
                            ({'require_confirmation': 1}, 'require_confirmation'),
                            ({'bogus': True}, 'bogus')]:
            r = self.req('PUT', '/api/v1/policy', body, session=self.admin)
            self.assertError(r, 400, 'invalid_request', field)

    def test_confirmation_window(self):
        s = self.patd.login()
        # Signing in opens the window; wait it out.
        time.sleep(WINDOW_WAIT)
        r = self.req('POST', '/api/v1/tokens', {'name': 'needs-confirm', 'scopes': ['tokens']},
                     session=s)
        self.assertError(r, 403, 'confirmation_required')
        r = self.req('POST', '/api/v1/session/confirm', {'password': 'not-the-password'},
                     session=s)
        self.assertError(r, 403, 'forbidden')
        self.confirm(s)
        r = self.req('POST', '/api/v1/tokens', {'name': 'needs-confirm', 'scopes': ['tokens']},
                     session=s)
        self.assertEqual(r.status, 201)
        time.sleep(WINDOW_WAIT)
        r = self.req('DELETE', '/api/v1/tokens/%d' % r.json['id'], session=s)
        self.assertError(r, 403, 'confirmation_required')
        # A token caller is never asked.
        t = self.patd.create_token(self.admin_confirmed(), name='api-caller')
        r = self.req('POST', '/api/v1/tokens', {'name': 'via-api', 'scopes': ['tokens']},
                     token=t['token'])
        self.assertEqual(r.status, 201)

    def test_a_superuser_hand_on_one_token_of_a_person(self):
        m = self.make_member('tariq')
        other = self.make_member('ulla')
        t = self.patd.create_token(self.member_session('tariq'), name='tariq-1')
        base = '/api/v1/users/%d/tokens/%d' % (m['id'], t['id'])
        # Under the wrong person, or no such token: 404 as for any unknown id.
        for path in ('/api/v1/users/%d/tokens/%d/disable' % (other['id'], t['id']),
                     '/api/v1/users/%d/tokens/999999/disable' % m['id'],
                     '/api/v1/users/999999/tokens/%d/disable' % t['id']):
            self.assertError(self.req('POST', path, session=self.admin), 404, 'not_found')
        # A member cannot reach them, not even for their own token.
        s = self.member_session('tariq')
        self.assertError(self.req('POST', base + '/disable', session=s), 403, 'forbidden')
        self.assertError(self.req('DELETE', base, session=s), 403, 'forbidden')
        r = self.req('POST', base + '/disable', {'bogus': 1}, session=self.admin)
        self.assertError(r, 400, 'invalid_request', 'bogus')
        r = self.req('POST', base + '/disable', session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['status'], 'disabled')
        # The whole token object, as everywhere else.
        for field in ('rotation', 'scopes_used', 'unused_scopes', 'canary'):
            self.assertIn(field, r.json)
        self.assertEqual(self.req('POST', base + '/enable', session=self.admin).json['status'],
                         'active')
        self.assertEqual(self.req('DELETE', base, session=self.admin).status, 204)
        self.assertError(self.req('DELETE', base, session=self.admin), 404, 'not_found')

    def test_sensitive_administration_needs_the_password_too(self):
        m = self.make_member('vera')
        t = self.patd.create_token(self.member_session('vera'), name='vera-1')
        s = self.patd.login()
        time.sleep(WINDOW_WAIT)  # past the window
        sensitive = [
            ('PUT', '/api/v1/policy', {'require_confirmation': False}),
            ('PATCH', '/api/v1/users/%d' % m['id'], {'role': 'superuser'}),
            ('PATCH', '/api/v1/users/%d' % m['id'], {'can_manage_tokens': False}),
            ('PATCH', '/api/v1/users/%d' % m['id'], {'disabled': True}),
            ('PATCH', '/api/v1/users/%d' % m['id'], {'password': 'another-password-1'}),
            ('POST', '/api/v1/users/%d/tokens/%d/disable' % (m['id'], t['id']), None),
            ('DELETE', '/api/v1/users/%d/tokens/%d' % (m['id'], t['id']), None),
            ('POST', '/api/v1/users/%d/tokens/revoke-all' % m['id'], None),
            ('POST', '/api/v1/keys/rotate', None),
        ]
        for method, path, body in sensitive:
            r = self.req(method, path, body, session=s)
            self.assertError(r, 403, 'confirmation_required')
        # Nothing changed.
        self.assertTrue(self.req('GET', '/api/v1/policy', session=s).json['require_confirmation'])
        u = self.req('GET', '/api/v1/users/%d' % m['id'], session=s).json
        self.assertEqual((u['role'], u['disabled'], u['can_manage_tokens']),
                         ('member', False, True))
        # An email is not sensitive; reading never is.
        r = self.req('PATCH', '/api/v1/users/%d' % m['id'], {'email': 'v@example.com'}, session=s)
        self.assertEqual(r.status, 200, r)
        self.confirm(s)
        r = self.req('PATCH', '/api/v1/users/%d' % m['id'], {'can_manage_tokens': False},
                     session=s)
        self.assertEqual(r.status, 200, r)

    def admin_confirmed(self):
        self.confirm(self.admin)
        return self.admin

    def test_audit_records_events_without_secrets(self):
        u = self.make_member('ivy')
        ivy = self.member_session('ivy')
        t = self.patd.create_token(ivy, name='ivy-tok')
        self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'description': 'd'}, session=ivy)
        self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], session=ivy)
        self.req('POST', '/api/v1/tokens/%d/enable' % t['id'], session=ivy)
        r = self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], session=ivy)
        new = r.json['token']
        c = self.req('POST', '/api/v1/tokens/%d/copy' % t['id'], {'name': 'ivy-copy'},
                     session=ivy).json
        self.req('DELETE', '/api/v1/tokens/%d' % c['id'], session=ivy)
        self.req('POST', '/api/v1/session', {'username': 'ivy', 'password': 'wrong-password'})
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'can_manage_tokens': False},
                 session=self.admin)
        self.admin_confirmed()
        r = self.req('GET', '/api/v1/audit?limit=500', session=self.admin,
                     headers={'User-Agent': 'audit-test'})
        self.assertEqual(r.status, 200)
        events = r.json['events']
        actions = [e['action'] for e in events]
        for a in ('token.created', 'token.updated', 'token.disabled', 'token.enabled',
                  'token.regenerated', 'token.copied', 'token.deleted', 'session.created',
                  'session.failed', 'user.created', 'user.permission_withdrawn',
                  'session.confirmed'):
            self.assertIn(a, actions)
        mine = [e for e in events if e['actor_user_id'] == u['id']]
        self.assertTrue(mine)
        for e in mine:
            self.assertEqual(e['ip'], '127.0.0.1')
            self.assertTrue(e['user_agent'].startswith('Python-urllib') or e['user_agent'] == ''
                            or 'python' in e['user_agent'].lower() or e['user_agent'])
        for secret in (t['token'], new, c['token'], MEMBER_PASSWORD, 'wrong-password'):
            self.assertNotIn(secret, r.body)
        # A member sees their own events only.
        r = self.req('GET', '/api/v1/audit', session=self.member_session_again('ivy', u))
        self.assertTrue(all(e['actor_user_id'] == u['id'] for e in r.json['events']))
        # Filters.
        r = self.req('GET', '/api/v1/audit?action=token.disabled&user=%d' % u['id'],
                     session=self.admin)
        self.assertEqual([e['action'] for e in r.json['events']], ['token.disabled'])
        r = self.req('GET', '/api/v1/audit?since=2999-01-01T00:00:00Z', session=self.admin)
        self.assertEqual(r.json['events'], [])
        r = self.req('GET', '/api/v1/audit?limit=2', session=self.admin)
        self.assertEqual(len(r.json['events']), 2)
        nxt = r.json['next_before']
        r2 = self.req('GET', '/api/v1/audit?limit=2&before=%d' % nxt, session=self.admin)
        self.assertTrue(all(e['id'] < nxt for e in r2.json['events']))
        for q in ('limit=0', 'limit=x', 'since=yesterday', 'user=abc', 'before=-1'):
            self.assertError(self.req('GET', '/api/v1/audit?' + q, session=self.admin), 400,
                             'invalid_request')

    def member_session_again(self, name, u):
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'can_manage_tokens': True},
                 session=self.admin)
        return self.member_session(name)

    def test_change_own_password_ends_other_sessions(self):
        self.make_member('jo')
        one = self.member_session('jo')
        two = self.member_session('jo')
        r = self.req('PUT', '/api/v1/session/password',
                     {'current_password': 'wrong-password', 'new_password': 'new-password-456'},
                     session=one)
        self.assertError(r, 403, 'forbidden', 'current_password')
        r = self.req('PUT', '/api/v1/session/password',
                     {'current_password': MEMBER_PASSWORD, 'new_password': 'short'},
                     session=one)
        self.assertError(r, 400, 'invalid_request', 'password')
        r = self.req('PUT', '/api/v1/session/password',
                     {'current_password': MEMBER_PASSWORD, 'new_password': 'new-password-456'},
                     session=one)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.req('GET', '/api/v1/session', session=one).status, 200)
        self.assertError(self.req('GET', '/api/v1/session', session=two), 401, 'unauthenticated')
        self.patd.login('jo', 'new-password-456')

    def test_superuser_resets_password(self):
        u = self.make_member('kim')
        kim = self.member_session('kim')
        self.req('PATCH', '/api/v1/users/%d' % u['id'], {'password': 'reset-password-789'},
                 session=self.admin)
        self.assertError(self.req('GET', '/api/v1/session', session=kim), 401, 'unauthenticated')
        self.patd.login('kim', 'reset-password-789')


class SignInLimit(unittest.TestCase):

    def test_sign_in_rate_limit_per_account(self):
        with Patd() as p:
            s = p.login()
            p.request('POST', '/api/v1/users', {'username': 'lea', 'password': MEMBER_PASSWORD},
                      session=s)
            for _ in range(10):
                r = p.request('POST', '/api/v1/session', {'username': 'lea',
                                                          'password': 'guess-guess-guess'})
                self.assertEqual(r.status, 401)
            r = p.request('POST', '/api/v1/session', {'username': 'lea',
                                                      'password': MEMBER_PASSWORD})
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json['error'], 'rate_limited')
            self.assertTrue(r.header('Retry-After'))
            # Another account from the same address is not locked.
            p.login()

    def test_a_success_resets_the_accounts_count(self):
        with Patd() as p:
            s = p.login()
            p.request('POST', '/api/v1/users', {'username': 'mo', 'password': MEMBER_PASSWORD},
                      session=s)
            for _ in range(2):
                for _ in range(9):
                    r = p.request('POST', '/api/v1/session', {'username': 'mo',
                                                              'password': 'guess-guess-guess'})
                    self.assertEqual(r.status, 401)
                # Eighteen failures in all, but a success between the nines.
                p.login('mo', MEMBER_PASSWORD)

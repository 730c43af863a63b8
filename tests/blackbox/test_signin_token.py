"""POST /api/v1/session/cli-token: the CLI's sign-in token as one use case."""
import datetime

from harness import PatdTestCase

CONFIG = """
[scope repo:read]
description = Read repositories
[scope env.Stop]
description = Stop environments
roles = superuser
"""


def parse(s):
    return datetime.datetime.strptime(s, '%Y-%m-%dT%H:%M:%SZ').replace(
        tzinfo=datetime.timezone.utc).timestamp()


class SigninToken(PatdTestCase):
    config = CONFIG

    def issue(self, session, name='cli@build-host'):
        return self.req('POST', '/api/v1/session/cli-token', {'name': name}, session=session)

    def test_created_then_rotated_with_every_grantable_scope(self):
        first = self.issue(self.admin)
        self.assertEqual(first.status, 201, first)
        self.assertEqual(sorted(first.json['scopes']),
                         sorted(['tokens', 'introspect', 'admin', 'leak-report', 'repo:read',
                                 'env.Stop']))
        self.assertAlmostEqual(parse(first.json['expires_at']) - parse(first.json['created_at']),
                               30 * 86400, delta=2)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self',
                                  token=first.json['token']).status, 200)
        self.req('POST', '/api/v1/tokens/%d/disable' % first.json['id'], {}, session=self.admin)
        again = self.issue(self.admin)
        self.assertEqual(again.status, 200, again)
        self.assertEqual(again.json['id'], first.json['id'])
        self.assertEqual(again.json['status'], 'active')
        self.assertNotEqual(again.json['token'], first.json['token'])
        self.assertEqual(self.req('GET', '/api/v1/tokens/self',
                                  token=first.json['token']).status, 401)
        self.assertEqual(self.req('GET', '/api/v1/tokens/self',
                                  token=again.json['token']).status, 200)

    def test_a_member_gets_only_what_members_may_grant(self):
        r = self.req('POST', '/api/v1/users', {'username': 'member-cli',
                                               'password': 'a-long-enough-password'},
                     session=self.admin)
        self.assertEqual(r.status, 201, r)
        member = self.patd.login('member-cli', 'a-long-enough-password')
        t = self.issue(member, 'cli@laptop')
        self.assertEqual(t.status, 201, t)
        self.assertEqual(sorted(t.json['scopes']),
                         ['introspect', 'leak-report', 'repo:read', 'tokens'])

    def test_errors(self):
        token = self.patd.create_token(self.admin, name='not-a-session')['token']
        r = self.req('POST', '/api/v1/session/cli-token', {'name': 'cli@x'}, token=token)
        self.assertError(r, 403, 'forbidden')
        self.assertError(self.req('POST', '/api/v1/session/cli-token', {}, session=self.admin),
                         400, 'invalid_request', 'name')
        self.assertError(self.req('POST', '/api/v1/session/cli-token', {'name': 7},
                                  session=self.admin), 400, 'invalid_request', 'name')
        self.assertError(self.req('POST', '/api/v1/session/cli-token',
                                  {'name': 'x', 'scopes': ['tokens']}, session=self.admin),
                         400, 'invalid_request')
        self.assertError(self.req('POST', '/api/v1/session/cli-token', {'name': 'cli@x'}),
                         401, 'unauthenticated')

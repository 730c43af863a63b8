"""Least privilege from observed use (#16 part 2): the scopes each token
actually needed and got, counted behind the request path (no store write
per request), and the granted scopes it has not used for the window while
it was in use, which the owner can then remove."""
import http.client
import re
import time

from harness import PatdTestCase

CONFIG = """
least_privilege_seconds = 4
route = GET /api/projects/* projects:read
[scope projects:read]
description = Read projects
[scope projects:write]
description = Change projects
"""


class LeastPrivilege(PatdTestCase):
    config = CONFIG

    def auth(self, token, **headers):
        h = {'Authorization': 'Bearer ' + token, 'X-Original-Method': 'GET'}
        h.update(headers)
        return self.req('GET', '/auth', headers=h).status

    def token(self, tid):
        return self.req('GET', '/api/v1/tokens/%d' % tid, session=self.admin).json

    def used(self, t):
        return {u['scope']: u for u in t['scopes_used']}

    def test_scopes_used_are_counted_and_unused_ones_found(self):
        t = self.patd.create_token(self.admin, name='lp-ci',
                                   scopes=['tokens', 'projects:read', 'projects:write'])
        self.assertEqual(t['scopes_used'], [])
        self.assertEqual(t['unused_scopes'], [])
        for _ in range(3):  # a named scope, as nginx asks
            self.assertEqual(self.auth(t['token'], **{'X-Required-Scope': 'projects:read'}), 204)
        # a route rule
        self.assertEqual(self.auth(t['token'], **{'X-Original-URI': '/api/projects/7'}), 204)
        # the API's own check
        self.assertEqual(self.req('GET', '/api/v1/tokens', token=t['token']).status, 200)
        # refused for lack of a scope: not a use of it
        self.assertEqual(self.auth(t['token'], **{'X-Required-Scope': 'admin'}), 403)
        deadline = time.time() + 10
        while time.time() < deadline:
            got = self.token(t['id'])
            if self.used(got).get('projects:read', {}).get('uses') == 4 and \
                    'tokens' in self.used(got):
                break
            time.sleep(0.2)
        used = self.used(got)
        self.assertEqual(used['projects:read']['uses'], 4, got['scopes_used'])
        self.assertGreaterEqual(used['tokens']['uses'], 1)
        self.assertNotIn('admin', used)
        self.assertNotIn('projects:write', used)
        # Younger than the window: nothing judged yet.
        self.assertEqual(got['unused_scopes'], [])
        # Past the window (4 s here), still in use: projects:write never used,
        # tokens not used lately.
        time.sleep(4.5)
        deadline = time.time() + 10
        while time.time() < deadline:
            # Kept in use all along: idle tokens are not judged.
            self.assertEqual(self.auth(t['token'], **{'X-Required-Scope': 'projects:read'}), 204)
            got = self.token(t['id'])
            if sorted(got['unused_scopes']) == ['projects:write', 'tokens']:
                break
            time.sleep(0.2)
        self.assertEqual(sorted(got['unused_scopes']), ['projects:write', 'tokens'], got)
        listed = [x for x in self.req('GET', '/api/v1/tokens', session=self.admin).json['tokens']
                  if x['id'] == t['id']][0]
        self.assertEqual(sorted(listed['unused_scopes']), ['projects:write', 'tokens'])
        # A superuser sees it on the person's tokens.
        theirs = self.req('GET', '/api/v1/users/1/tokens', session=self.admin).json['tokens']
        self.assertEqual(sorted([x for x in theirs if x['id'] == t['id']][0]['unused_scopes']),
                         ['projects:write', 'tokens'])
        # Removing them is an edit.
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'scopes': ['projects:read']},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['unused_scopes'], [])
        self.assertEqual(self.auth(t['token'], **{'X-Required-Scope': 'projects:read'}), 204)

    def test_no_store_write_per_request(self):
        t = self.patd.create_token(self.admin, name='lp-busy', scopes=['projects:read'])

        def writes():
            m = self.req('GET', '/metrics').body
            return int(re.search(r'^patd_store_writes_total (\d+)', m, re.M).group(1))
        before = writes()
        c = http.client.HTTPConnection('127.0.0.1', self.patd.port, timeout=30)
        try:
            for _ in range(10000):
                c.request('GET', '/auth', headers={
                    'Authorization': 'Bearer ' + t['token'], 'X-Required-Scope': 'projects:read',
                    'X-Original-Method': 'GET', 'X-Original-URI': '/api/x'})
                r = c.getresponse()
                r.read()
                self.assertEqual(r.status, 204)
        finally:
            c.close()
        time.sleep(2.5)  # a flush or two
        # A handful per flush (last use, clients, scopes), never one per request.
        self.assertLess(writes() - before, 100)
        got = self.token(t['id'])
        self.assertEqual(self.used(got)['projects:read']['uses'], 10000)

"""What every gateway in front of patd must do, whatever it is (nginx,
Caddy): the cases a gateway's test class runs by inheriting GatewayCases
and giving it a class-level patd, admin session and get(path, token,
method) -> (status, headers dict, body) through the gateway. The upstream
answers "upstream user=… id=… token=… scopes=… auth=…"."""
import os
import re

from harness import well_formed_token

DOCS = os.path.join(os.path.dirname(__file__), '..', '..', 'docs')

# patd's configuration behind every gateway: route rules give the scopes.
CONFIG = """
route = DELETE /api/* projects:write
route = * /api/* projects:read
[scope projects:read]
description = Read
[scope projects:write]
description = Write
"""


def doc_snippet(doc, lang):
    """The first ```lang block of docs/doc: the tests run what the docs show."""
    with open(os.path.join(DOCS, doc)) as f:
        return re.search(r'```%s\n(.*?)```' % lang, f.read(), re.S).group(1)


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name.lower():
            return v
    return None


class GatewayCases:
    prefix = 'gw'

    def test_allowed_request_reaches_upstream_with_identity(self):
        t = self.patd.create_token(self.admin, name=self.prefix + '-ok', scopes=['projects:read'])
        status, _, body = self.get('/api/projects', t['token'])
        self.assertEqual(status, 200, body)
        self.assertIn('user=admin id=1 token=%d scopes=projects:read' % t['id'], body)
        self.assertIn('auth=\n', body)  # the token itself never reaches the upstream

    def test_no_credential(self):
        status, headers, body = self.get('/api/projects')
        self.assertEqual(status, 401)
        self.assertEqual(header(headers, 'WWW-Authenticate'), 'Bearer realm="patd"')
        self.assertNotIn('upstream', body)

    def test_bad_token(self):
        for value in (well_formed_token(), 'pat_' + 'C' * 38):
            status, headers, body = self.get('/api/projects', value)
            self.assertEqual(status, 401)
            self.assertIn('error="invalid_token"', header(headers, 'WWW-Authenticate') or '')
            self.assertNotIn('upstream', body)

    def test_insufficient_scope(self):
        t = self.patd.create_token(self.admin, name=self.prefix + '-read',
                                   scopes=['projects:read'])
        status, headers, body = self.get('/api/projects/1', t['token'], method='DELETE')
        self.assertEqual(status, 403)
        self.assertIn('insufficient_scope', header(headers, 'WWW-Authenticate') or '')
        self.assertNotIn('upstream', body)

    def test_revoked_then_denied(self):
        t = self.patd.create_token(self.admin, name=self.prefix + '-revoke',
                                   scopes=['projects:read'])
        self.assertEqual(self.get('/api/projects', t['token'])[0], 200)
        self.patd.request('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(self.get('/api/projects', t['token'])[0], 401)

    def test_last_use_carries_the_original_request(self):
        t = self.patd.create_token(self.admin, name=self.prefix + '-used',
                                   scopes=['projects:write'])
        self.get('/api/projects/9?x=1', t['token'], method='DELETE')
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertEqual(last['method'], 'DELETE')
        self.assertEqual(last['path'], '/api/projects/9')
        self.assertEqual(last['ip'], '127.0.0.1')

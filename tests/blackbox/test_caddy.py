"""A real Caddy (Debian's) with forward_auth in front of an upstream,
configured with the snippet of docs/caddy.md."""
import http.client
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import Patd, free_port, well_formed_token

DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'caddy.md')
CADDY = shutil.which('caddy') or '/usr/bin/caddy'

CONFIG = """
route = DELETE /api/* projects:write
route = * /api/* projects:read
[scope projects:read]
description = Read
[scope projects:write]
description = Write
"""


def snippet():
    with open(DOC) as f:
        return re.search(r'```caddyfile\n(.*?)```', f.read(), re.S).group(1)


class Caddy(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config=CONFIG).start()
        cls.admin = cls.patd.login()
        cls.port = free_port()
        upstream = free_port()
        d = cls.patd.dir
        conf = snippet()
        conf = conf.replace('127.0.0.1:8080', '127.0.0.1:%d' % cls.patd.port)
        conf = conf.replace('127.0.0.1:9000', '127.0.0.1:%d' % upstream)
        conf = conf.replace('127.0.0.1:8000', '127.0.0.1:%d' % cls.port)
        full = """{
	admin off
	auto_https off
}
http://127.0.0.1:%(upstream)d {
	respond "upstream user={http.request.header.X-Auth-User} id={http.request.header.X-Auth-User-Id} token={http.request.header.X-Auth-Token-Id} scopes={http.request.header.X-Auth-Scopes} auth={http.request.header.Authorization}
"
}
%(conf)s
""" % {'upstream': upstream, 'conf': conf}
        path = os.path.join(d, 'Caddyfile')
        with open(path, 'w') as f:
            f.write(full)
        env = dict(os.environ, HOME=d, XDG_DATA_HOME=d, XDG_CONFIG_HOME=d)
        cls.log = open(os.path.join(d, 'caddy.log'), 'wb')
        cls.caddy = subprocess.Popen([CADDY, 'run', '--config', path, '--adapter', 'caddyfile'],
                                     stdout=cls.log, stderr=cls.log, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                cls.get('/nothing')
                return
            except OSError:
                if cls.caddy.poll() is not None:
                    break
                time.sleep(0.1)
        cls.log.close()
        with open(os.path.join(d, 'caddy.log')) as f:
            raise RuntimeError('caddy failed: ' + f.read()[-3000:])

    @classmethod
    def tearDownClass(cls):
        cls.caddy.terminate()
        cls.caddy.wait(timeout=10)
        cls.log.close()
        cls.patd.stop()

    @classmethod
    def get(cls, path, token=None, method='GET', headers=None):
        conn = http.client.HTTPConnection('127.0.0.1', cls.port, timeout=10)
        try:
            h = dict(headers or {})
            if token:
                h['Authorization'] = 'Bearer ' + token
            conn.request(method, path, headers=h)
            r = conn.getresponse()
            return r.status, dict(r.getheaders()), r.read().decode()
        finally:
            conn.close()

    def test_allowed_request_reaches_upstream_with_identity(self):
        t = self.patd.create_token(self.admin, name='cd-ok', scopes=['projects:read'])
        status, _, body = self.get('/api/projects', t['token'],
                                   headers={'X-Auth-User': 'forged'})
        self.assertEqual(status, 200, body)
        self.assertIn('user=admin id=1 token=%d scopes=projects:read' % t['id'], body)
        self.assertIn('auth=\n', body)  # the token itself never reaches the upstream

    def test_no_credential(self):
        status, headers, body = self.get('/api/projects')
        self.assertEqual(status, 401)
        self.assertEqual(headers.get('Www-Authenticate'), 'Bearer realm="patd"')
        self.assertNotIn('upstream', body)

    def test_bad_token(self):
        status, headers, body = self.get('/api/projects', well_formed_token())
        self.assertEqual(status, 401)
        self.assertIn('error="invalid_token"', headers.get('Www-Authenticate', ''))
        self.assertNotIn('upstream', body)

    def test_insufficient_scope(self):
        t = self.patd.create_token(self.admin, name='cd-read', scopes=['projects:read'])
        status, headers, body = self.get('/api/projects/1', t['token'], method='DELETE')
        self.assertEqual(status, 403)
        self.assertIn('insufficient_scope', headers.get('Www-Authenticate', ''))
        self.assertNotIn('upstream', body)

    def test_revoked_then_denied(self):
        t = self.patd.create_token(self.admin, name='cd-revoke', scopes=['projects:read'])
        self.assertEqual(self.get('/api/projects', t['token'])[0], 200)
        self.patd.request('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(self.get('/api/projects', t['token'])[0], 401)

    def test_last_use_carries_the_forwarded_request(self):
        t = self.patd.create_token(self.admin, name='cd-used', scopes=['projects:write'])
        self.get('/api/projects/9?x=1', t['token'], method='DELETE')
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertEqual(last['method'], 'DELETE')
        self.assertEqual(last['path'], '/api/projects/9')
        self.assertEqual(last['ip'], '127.0.0.1')

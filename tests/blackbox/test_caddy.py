"""A real Caddy (Debian's) with forward_auth in front of an upstream,
configured with the snippet of docs/caddy.md."""
import http.client
import os
import shutil
import subprocess
import time
import unittest

from gateway_cases import CONFIG, GatewayCases, doc_snippet
from harness import Patd, free_port

CADDY = shutil.which('caddy') or '/usr/bin/caddy'


class Caddy(GatewayCases, unittest.TestCase):
    prefix = 'cd'

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config=CONFIG).start()
        cls.admin = cls.patd.login()
        cls.port = free_port()
        upstream = free_port()
        d = cls.patd.dir
        conf = doc_snippet('caddy.md', 'caddyfile')
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

    def test_forged_identity_headers_are_replaced(self):
        t = self.patd.create_token(self.admin, name='cd-forged', scopes=['projects:read'])
        status, _, body = self.get('/api/projects', t['token'],
                                   headers={'X-Auth-User': 'forged'})
        self.assertEqual(status, 200, body)
        self.assertIn('user=admin ', body)

"""A real nginx with auth_request in front of a tiny upstream, configured
with the snippet of docs/nginx.md."""
import http.client
import os
import re
import shutil
import subprocess
import time
import unittest

from harness import Patd, free_port

DOC = os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'nginx.md')
NGINX = shutil.which('nginx') or '/usr/sbin/nginx'

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
        text = f.read()
    return re.search(r'```nginx\n(.*?)```', text, re.S).group(1)


class Nginx(unittest.TestCase):

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
        os.makedirs(os.path.join(d, 'nginx-tmp'), exist_ok=True)
        temp = ''.join('%s_temp_path %s/nginx-tmp/%s;\n' % (k, d, k)
                       for k in ('client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'))
        full = """
daemon off;
master_process off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/nginx-error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    %(temp)s
    server {
        listen 127.0.0.1:%(upstream)d;
        location / {
            return 200 "upstream user=$http_x_auth_user id=$http_x_auth_user_id token=$http_x_auth_token_id scopes=$http_x_auth_scopes auth=$http_authorization\\n";
        }
    }
    %(conf)s
}
""" % {'d': d, 'temp': temp, 'upstream': upstream, 'conf': conf}
        path = os.path.join(d, 'nginx.conf')
        with open(path, 'w') as f:
            f.write(full)
        cls.nginx = subprocess.Popen([NGINX, '-c', path, '-p', d],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                cls.get('/healthz-of-nothing')
                break
            except OSError:
                if cls.nginx.poll() is not None:
                    raise RuntimeError('nginx failed: ' + cls.nginx.stderr.read().decode())
                time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        cls.nginx.terminate()
        cls.nginx.wait(timeout=10)
        cls.patd.stop()

    @classmethod
    def get(cls, path, token=None, method='GET', all_headers=False):
        conn = http.client.HTTPConnection('127.0.0.1', cls.port, timeout=10)
        try:
            h = {'Authorization': 'Bearer ' + token} if token else {}
            conn.request(method, path, headers=h)
            r = conn.getresponse()
            headers = r.getheaders() if all_headers else dict(r.getheaders())
            return r.status, headers, r.read().decode()
        finally:
            conn.close()

    def test_challenge_sent_once(self):
        t = self.patd.create_token(self.admin, name='ng-once', scopes=['projects:read'])
        for token, method, status in ((None, 'GET', 401), ('pat_' + 'C' * 38, 'GET', 401),
                                      (t['token'], 'DELETE', 403)):
            got, headers, _ = self.get('/api/projects/1', token, method, all_headers=True)
            self.assertEqual(got, status)
            challenges = [v for k, v in headers if k.lower() == 'www-authenticate']
            self.assertEqual(len(challenges), 1, challenges)

    def test_allowed_request_reaches_upstream_with_identity(self):
        t = self.patd.create_token(self.admin, name='ng-ok', scopes=['projects:read'])
        status, headers, body = self.get('/api/projects', t['token'])
        self.assertEqual(status, 200, body)
        self.assertIn('user=admin id=1 token=%d scopes=projects:read' % t['id'], body)
        self.assertIn('auth=\n', body)  # the token itself never reaches the upstream

    def test_no_credential(self):
        status, headers, body = self.get('/api/projects')
        self.assertEqual(status, 401)
        self.assertEqual(headers.get('WWW-Authenticate'), 'Bearer realm="patd"')
        self.assertNotIn('upstream', body)

    def test_bad_token(self):
        status, headers, body = self.get('/api/projects', 'pat_' + 'C' * 38)
        self.assertEqual(status, 401)
        self.assertIn('error="invalid_token"', headers.get('WWW-Authenticate', ''))
        self.assertNotIn('upstream', body)

    def test_insufficient_scope(self):
        t = self.patd.create_token(self.admin, name='ng-read', scopes=['projects:read'])
        status, headers, body = self.get('/api/projects/1', t['token'], method='DELETE')
        self.assertEqual(status, 403)
        self.assertIn('insufficient_scope', headers.get('WWW-Authenticate', ''))
        self.assertNotIn('upstream', body)

    def test_revoked_then_denied(self):
        t = self.patd.create_token(self.admin, name='ng-revoke', scopes=['projects:read'])
        self.assertEqual(self.get('/api/projects', t['token'])[0], 200)
        self.patd.request('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(self.get('/api/projects', t['token'])[0], 401)

    def test_last_use_carries_original_request(self):
        t = self.patd.create_token(self.admin, name='ng-used', scopes=['projects:read'])
        self.get('/api/projects/77?page=2', t['token'])
        deadline = time.time() + 5
        last = None
        while time.time() < deadline and not last:
            time.sleep(0.2)
            last = self.patd.request('GET', '/api/v1/tokens/%d' % t['id'],
                                     session=self.admin).json['last_used']
        self.assertEqual(last['method'], 'GET')
        self.assertEqual(last['path'], '/api/projects/77')
        self.assertEqual(last['ip'], '127.0.0.1')

"""A real nginx with auth_request in front of a tiny upstream, configured
with the snippet of docs/nginx.md."""
import http.client
import os
import shutil
import subprocess
import time
import unittest

from gateway_cases import CONFIG, GatewayCases, doc_snippet
from harness import Patd, free_port

NGINX = shutil.which('nginx') or '/usr/sbin/nginx'


class Nginx(GatewayCases, unittest.TestCase):
    prefix = 'ng'

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config=CONFIG).start()
        cls.admin = cls.patd.login()
        cls.port = free_port()
        upstream = free_port()
        d = cls.patd.dir
        conf = doc_snippet('nginx.md', 'nginx')
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

"""Apache httpd with Debian's mod_oauth2 (liboauth2) as a resource server in
front of a location, checking patd's tokens two ways (#14, #18): JWTs from
the token exchange against patd's JWKS (OAuth2TokenVerify jwks_uri), and
any token through patd's introspection (OAuth2TokenVerify introspect,
authenticating with HTTP Basic and a token holding the introspect scope as
the password). The snippets are those of docs/exchange.md; the gateway in
front of a real upstream is docs/apache.md's."""
import http.server
import json
import os
import threading
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.parse

import gateway_cases
from harness import Patd, free_port

APACHE = '/usr/sbin/apache2'
MODULES = '/usr/lib/apache2/modules'
EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
ACCESS = 'urn:ietf:params:oauth:token-type:access_token'


def apache_conf(root, port, patd_port, introspect_token, doc='exchange.md', upstream=0):
    snippet = gateway_cases.doc_snippet(doc, 'apache') \
        .replace('PATD', 'http://127.0.0.1:%d' % patd_port) \
        .replace('INTROSPECT_TOKEN', introspect_token) \
        .replace('UPSTREAM', 'http://127.0.0.1:%d' % upstream)
    return """
ServerRoot %(root)s
ServerName localhost
Listen 127.0.0.1:%(port)d
PidFile %(root)s/httpd.pid
ErrorLog %(root)s/error.log
LogLevel warn oauth2:info
User www-data
Group www-data
LoadModule mpm_event_module %(mod)s/mod_mpm_event.so
LoadModule authn_core_module %(mod)s/mod_authn_core.so
LoadModule authz_core_module %(mod)s/mod_authz_core.so
LoadModule authz_user_module %(mod)s/mod_authz_user.so
LoadModule oauth2_module %(mod)s/mod_oauth2.so
LoadModule headers_module %(mod)s/mod_headers.so
LoadModule proxy_module %(mod)s/mod_proxy.so
LoadModule proxy_http_module %(mod)s/mod_proxy_http.so
DocumentRoot %(root)s/htdocs
<Directory %(root)s/htdocs>
    Require all granted
</Directory>
%(snippet)s
""" % {'root': root, 'port': port, 'mod': MODULES, 'snippet': snippet}


class Echo(http.server.BaseHTTPRequestHandler):
    """The protected service: answers with the headers it received."""

    def do_GET(self):
        body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_apache(root, conf_text, port):
    conf = os.path.join(root, 'httpd.conf')
    with open(conf, 'w') as f:
        f.write(conf_text)
    proc = subprocess.Popen([APACHE, '-f', conf, '-DFOREGROUND'],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    import socket
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=1).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError('apache exited: ' + proc.stderr.read().decode())
            time.sleep(0.1)
    raise RuntimeError('apache did not start')


class ApacheGateway(unittest.TestCase):
    """docs/apache.md: introspection in front of a real upstream."""

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config=gateway_cases.CONFIG).start()
        cls.admin = cls.patd.login()
        cls.rs = cls.patd.create_token(cls.admin, name='apache-gw', scopes=['introspect'])
        cls.upstream = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Echo)
        threading.Thread(target=cls.upstream.serve_forever, daemon=True).start()
        cls.root = tempfile.mkdtemp(prefix='patd-apache-gw-')
        os.chmod(cls.root, 0o755)
        os.makedirs(os.path.join(cls.root, 'htdocs'))
        cls.port = free_port()
        cls.proc = start_apache(cls.root, apache_conf(
            cls.root, cls.port, cls.patd.port, cls.rs['token'], doc='apache.md',
            upstream=cls.upstream.server_address[1]), cls.port)

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=30)
        cls.upstream.shutdown()
        cls.patd.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def get(self, token=None, **headers):
        import http.client
        c = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        if token:
            headers['Authorization'] = 'Bearer ' + token
        c.request('GET', '/api/projects', headers=headers)
        r = c.getresponse()
        body = r.read().decode('utf-8', 'replace')
        c.close()
        return r.status, dict(r.getheaders()), body

    def test_the_person_reaches_the_upstream_and_cannot_be_forged(self):
        t = self.patd.create_token(self.admin, name='apache-ok',
                                   scopes=['projects:read', 'tokens'])
        status, _, body = self.get(t['token'], **{'X-Auth-username': 'mallory',
                                                  'X-Auth-sub': '999'})
        self.assertEqual(status, 200, body)
        seen = json.loads(body)
        self.assertEqual(seen.get('x-auth-username'), 'admin', seen)
        self.assertEqual(seen.get('x-auth-sub'), '1', seen)
        self.assertEqual(seen.get('x-auth-token_id'), str(t['id']), seen)
        self.assertEqual(seen.get('x-auth-scope'), 'tokens projects:read', seen)
        self.assertNotIn('authorization', seen)  # the token never reaches the service

    def test_refusals(self):
        status, headers, body = self.get()
        self.assertEqual(status, 401, body)
        self.assertTrue(headers.get('WWW-Authenticate', '').startswith('Bearer'), headers)
        self.assertEqual(self.get('pat_' + 'C' * 38)[0], 401)
        self.assertEqual(self.get(gateway_cases.well_formed_token())[0], 401)
        writer = self.patd.create_token(self.admin, name='apache-write',
                                        scopes=['projects:write'])
        status, headers, body = self.get(writer['token'])
        self.assertEqual(status, 401, body)
        self.assertIn('insufficient_scope', headers.get('WWW-Authenticate', ''), headers)
        self.assertNotIn('x-auth', body)

    def test_revoked_then_denied(self):
        t = self.patd.create_token(self.admin, name='apache-revoke', scopes=['projects:read'])
        self.assertEqual(self.get(t['token'])[0], 200)
        self.patd.request('DELETE', '/api/v1/tokens/%d' % t['id'], session=self.admin)
        self.assertEqual(self.get(t['token'])[0], 401)


class Apache(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config='[audience api]\nuri = https://api.example.com\n').start()
        admin = cls.patd.login()
        cls.pat = cls.patd.create_token(admin, name='apache-client', scopes=['tokens'])
        cls.rs = cls.patd.create_token(admin, name='apache-rs', scopes=['introspect'])
        cls.root = tempfile.mkdtemp(prefix='patd-apache-')
        os.chmod(cls.root, 0o755)
        os.makedirs(os.path.join(cls.root, 'htdocs'))
        for name in ('jwt', 'introspected'):
            with open(os.path.join(cls.root, 'htdocs', name), 'w') as f:
                f.write('behind apache: ' + name + '\n')
        cls.port = free_port()
        conf = os.path.join(cls.root, 'httpd.conf')
        with open(conf, 'w') as f:
            f.write(apache_conf(cls.root, cls.port, cls.patd.port, cls.rs['token']))
        cls.proc = subprocess.Popen([APACHE, '-f', conf, '-DFOREGROUND'],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                cls.get('/jwt')
                return
            except OSError:
                if cls.proc.poll() is not None:
                    raise RuntimeError('apache exited: ' + cls.proc.stderr.read().decode())
                time.sleep(0.1)
        raise RuntimeError('apache did not start')

    @classmethod
    def tearDownClass(cls):
        cls.proc.send_signal(signal.SIGTERM)
        cls.proc.wait(timeout=30)
        cls.patd.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    @classmethod
    def get(cls, path, token=None):
        import http.client
        c = http.client.HTTPConnection('127.0.0.1', cls.port, timeout=30)
        h = {'Authorization': 'Bearer ' + token} if token else {}
        c.request('GET', path, headers=h)
        r = c.getresponse()
        body = r.read().decode('utf-8', 'replace')
        c.close()
        return r.status, body

    def exchange(self, **extra):
        form = {'grant_type': EXCHANGE, 'subject_token': self.pat['token'],
                'subject_token_type': ACCESS}
        form.update(extra)
        r = self.patd.request('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                              content_type='application/x-www-form-urlencoded')
        self.assertEqual(r.status, 200, r)
        return r.json['access_token']

    def test_jwt_passes_a_tampered_or_foreign_one_does_not(self):
        jwt = self.exchange(audience='api')
        status, body = self.get('/jwt', jwt)
        self.assertEqual(status, 200, body)
        self.assertIn('behind apache: jwt', body)
        self.assertEqual(self.get('/jwt')[0], 401)
        h, c, s = jwt.split('.')
        tampered = h + '.' + c[:-2] + ('AA' if not c.endswith('AA') else 'BB') + '.' + s
        self.assertEqual(self.get('/jwt', tampered)[0], 401)
        self.assertEqual(self.get('/jwt', jwt[:-6])[0], 401)
        # A PAT is no JWT: the JWKS location refuses it.
        self.assertEqual(self.get('/jwt', self.pat['token'])[0], 401)

    def test_introspection_passes_live_tokens_only(self):
        status, body = self.get('/introspected', self.pat['token'])
        self.assertEqual(status, 200, body)
        self.assertIn('behind apache: introspected', body)
        self.assertEqual(self.get('/introspected', self.exchange())[0], 200)
        admin = self.patd.login()
        gone = self.patd.create_token(admin, name='apache-gone', scopes=['tokens'])
        self.assertEqual(self.get('/introspected', gone['token'])[0], 200)
        self.patd.request('DELETE', '/api/v1/tokens/%d' % gone['id'], session=admin)
        time.sleep(0.1)
        # mod_oauth2 caches verdicts (300 s by default); the snippet's
        # expiry=0 asks patd every time, so revocation holds at once.
        self.assertEqual(self.get('/introspected', gone['token'])[0], 401)
        self.assertEqual(self.get('/introspected', 'pat_not_a_token')[0], 401)


if __name__ == '__main__':
    unittest.main()

"""Apache httpd with Debian's mod_oauth2 (liboauth2) as a resource server in
front of a location, checking patd's tokens two ways (#14, #18): JWTs from
the token exchange against patd's JWKS (OAuth2TokenVerify jwks_uri), and
any token through patd's introspection (OAuth2TokenVerify introspect,
authenticating with HTTP Basic and a token holding the introspect scope as
the password). The snippets are those of docs/exchange.md."""
import os
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


def apache_conf(root, port, patd_port, introspect_token):
    snippet = gateway_cases.doc_snippet('exchange.md', 'apache') \
        .replace('PATD', 'http://127.0.0.1:%d' % patd_port) \
        .replace('INTROSPECT_TOKEN', introspect_token)
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
DocumentRoot %(root)s/htdocs
<Directory %(root)s/htdocs>
    Require all granted
</Directory>
%(snippet)s
""" % {'root': root, 'port': port, 'mod': MODULES, 'snippet': snippet}


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

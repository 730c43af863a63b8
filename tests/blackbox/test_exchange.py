"""The token exchange (#14): POST /oauth/token, the JWKS and metadata, patd
accepting its own JWTs strictly, keys and their rotation. JWTs are checked
by independent verifiers: PyJWT (Debian's python3-jwt, under
/usr/bin/python3) and node's jose (npm, tests/browser's lockfile)."""
import base64
import json
import os
import subprocess
import time
import unittest
import urllib.parse

import gateway_cases
from harness import ADMIN_PASSWORD, Patd, PatdTestCase, well_formed_token

HERE = os.path.dirname(os.path.abspath(__file__))
EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
ACCESS = 'urn:ietf:params:oauth:token-type:access_token'
CONFIG = """
jwks_publish_ahead_seconds = 2
[audience billing]
uri = https://billing.example.com
scopes = tokens
max_lifetime_seconds = 120
[audience reports]
uri = https://reports.example.com urn:reports
"""


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + '=' * (-len(s) % 4))


def parts(jwt):
    h, c, s = jwt.split('.')
    return json.loads(unb64(h)), json.loads(unb64(c)), s


class Exchange(PatdTestCase):
    config = CONFIG

    def exchange(self, token, **extra):
        form = {'grant_type': EXCHANGE, 'subject_token': token, 'subject_token_type': ACCESS}
        form.update(extra)
        return self.req('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                        content_type='application/x-www-form-urlencoded')

    def auth(self, jwt, audience=None):
        h = {'Authorization': 'Bearer ' + jwt}
        if audience:
            h['X-Required-Audience'] = audience
        return self.req('GET', '/auth', headers=h)

    def pat(self, name, scopes=('tokens',)):
        return self.patd.create_token(self.admin, name=name, scopes=list(scopes))

    def test_exchange_answer_and_claims(self):
        t = self.pat('ex-claims', ['tokens', 'introspect'])
        r = self.exchange(t['token'], scope='tokens', audience='billing')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.header('Cache-Control'), 'no-store')
        self.assertEqual(r.json['token_type'], 'Bearer')
        self.assertEqual(r.json['issued_token_type'], 'urn:ietf:params:oauth:token-type:jwt')
        self.assertEqual(r.json['scope'], 'tokens')
        self.assertEqual(r.json['expires_in'], 120)  # the audience's cap
        header, claims, _ = parts(r.json['access_token'])
        self.assertEqual(header['typ'], 'at+jwt')
        self.assertEqual(header['alg'], 'ES256')
        self.assertEqual(claims['iss'], self.patd.url())
        self.assertEqual(claims['aud'], 'https://billing.example.com')
        self.assertEqual(claims['sub'], '1')
        self.assertEqual(claims['pat_id'], t['id'])
        self.assertEqual(claims['client_id'], 'patd')
        self.assertEqual(claims['username'], 'admin')
        self.assertEqual(claims['exp'] - claims['iat'], 120)
        self.assertNotIn(t['token'], r.json['access_token'])
        # Default: every scope of the PAT, for patd's own audience, 300 s.
        r = self.exchange(t['token'])
        self.assertEqual(set(r.json['scope'].split()), {'introspect', 'tokens'})
        self.assertEqual(r.json['expires_in'], 300)
        self.assertEqual(parts(r.json['access_token'])[1]['aud'], self.patd.url())
        # resource by URI, the second URI of an audience.
        r = self.exchange(t['token'], resource='urn:reports')
        self.assertEqual(r.status, 200, r)
        self.assertEqual(parts(r.json['access_token'])[1]['aud'], 'https://reports.example.com')

    def test_errors(self):
        t = self.pat('ex-errors')
        cases = [
            ({'grant_type': 'client_credentials'}, 'unsupported_grant_type'),
            ({'grant_type': None}, 'invalid_request'),
            ({'subject_token_type': None}, 'invalid_request'),
            ({'subject_token_type': 'urn:ietf:params:oauth:token-type:id_token'},
             'invalid_request'),
            ({'subject_token': None}, 'invalid_request'),
            ({'subject_token': well_formed_token()}, 'invalid_request'),
            ({'subject_token': 'garbage'}, 'invalid_request'),
            ({'requested_token_type': 'urn:ietf:params:oauth:token-type:saml2'},
             'invalid_request'),
            ({'scope': 'admin'}, 'invalid_scope'),
            ({'scope': 'tokens nosuchscope'}, 'invalid_scope'),
            ({'audience': 'nowhere'}, 'invalid_target'),
            ({'resource': 'not a uri'}, 'invalid_target'),
            ({'resource': 'https://elsewhere.example.com'}, 'invalid_target'),
            ({'audience': 'billing', 'resource': 'urn:reports'}, 'invalid_target'),
        ]
        for change, code in cases:
            form = {'grant_type': EXCHANGE, 'subject_token': t['token'],
                    'subject_token_type': ACCESS}
            form.update(change)
            form = {k: v for k, v in form.items() if v is not None}
            r = self.req('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                         content_type='application/x-www-form-urlencoded')
            self.assertEqual(r.status, 400, (change, r))
            self.assertEqual(r.json['error'], code, (change, r))
            self.assertTrue(r.json['error_description'], r)
            self.assertEqual(r.header('Cache-Control'), 'no-store')
        # A JSON body is not a form.
        r = self.req('POST', '/oauth/token', {'grant_type': EXCHANGE})
        self.assertEqual(r.status, 415, r)
        self.assertEqual(r.json['error'], 'invalid_request')
        # A disabled PAT, then its JWT is refused too.
        d = self.pat('ex-disabled')
        self.req('POST', '/api/v1/tokens/%d/disable' % d['id'], session=self.admin)
        r = self.exchange(d['token'])
        self.assertEqual(r.json['error'], 'invalid_request')
        # A JWT cannot be exchanged for another.
        jwt = self.exchange(t['token']).json['access_token']
        self.assertEqual(self.exchange(jwt).json['error'], 'invalid_request')

    def test_patd_accepts_its_jwt_until_the_pat_goes(self):
        t = self.pat('ex-revoke')
        jwt = self.exchange(t['token']).json['access_token']
        r = self.auth(jwt)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header('X-Auth-User'), 'admin')
        self.assertEqual(r.header('X-Auth-Token-Id'), str(t['id']))
        # Scopes are the JWT's, not the PAT's.
        narrow = self.pat('ex-narrow', ['tokens', 'introspect'])
        only = self.exchange(narrow['token'], scope='introspect').json['access_token']
        r = self.req('GET', '/auth', headers={'Authorization': 'Bearer ' + only,
                                              'X-Required-Scope': 'tokens'})
        self.assertEqual(r.status, 403, r)
        # Disabled, then enabled: refused, then accepted, at once.
        self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], session=self.admin)
        self.assertEqual(self.auth(jwt).status, 401)
        self.req('POST', '/api/v1/tokens/%d/enable' % t['id'], session=self.admin)
        self.assertEqual(self.auth(jwt).status, 204)
        # Regenerated: the old value's JWT dies with it.
        self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], session=self.admin)
        self.assertEqual(self.auth(jwt).status, 401)
        # Deleted.
        u = self.pat('ex-delete')
        jwt = self.exchange(u['token']).json['access_token']
        self.assertEqual(self.auth(jwt).status, 204)
        self.assertEqual(self.req('DELETE', '/api/v1/tokens/%d' % u['id'],
                                  session=self.admin).status, 204)
        self.assertEqual(self.auth(jwt).status, 401)

    def test_audience_is_checked_at_auth_and_told_by_introspection(self):
        t = self.pat('ex-aud', ['tokens', 'introspect'])
        jwt = self.exchange(t['token'], audience='billing').json['access_token']
        self.assertEqual(self.auth(jwt).status, 401)  # not for patd's own services
        self.assertEqual(self.auth(jwt, 'https://billing.example.com').status, 204)
        self.assertEqual(self.auth(jwt, 'https://reports.example.com').status, 401)
        r = self.req('POST', '/api/v1/introspect', {'token': jwt}, token=t['token'])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json['active'])
        self.assertEqual(r.json['token_type'], 'jwt')
        self.assertEqual(r.json['aud'], 'https://billing.example.com')
        self.assertEqual(r.json['scope'], 'tokens')

    def test_hostile_jwts_are_refused(self):
        t = self.pat('ex-hostile')
        jwt = self.exchange(t['token']).json['access_token']
        header, claims, sig = parts(jwt)
        jwks = self.req('GET', '/.well-known/jwks.json').json['keys']
        hs_key = json.dumps(jwks[0]).encode()

        def forge(h, c, s=None):
            head = b64(json.dumps(h).encode()) + '.' + b64(json.dumps(c).encode())
            return head + '.' + (sig if s is None else s)
        import hmac
        import hashlib
        hs_head = b64(json.dumps(dict(header, alg='HS256')).encode()) + '.' + \
            b64(json.dumps(claims).encode())
        hs = hs_head + '.' + b64(hmac.new(hs_key, hs_head.encode(), hashlib.sha256).digest())
        later = dict(claims, exp=claims['exp'] + 3600)
        hostile = {
            'alg none': forge(dict(header, alg='none'), claims, ''),
            'HS256 keyed with the public key': hs,
            'unknown kid': forge(dict(header, kid='nosuchkey'), claims),
            'kid with a path': forge(dict(header, kid='../../etc/passwd'), claims),
            'jku': forge(dict(header, jku='http://127.0.0.1:1/jwks'), claims),
            'jwk': forge(dict(header, jwk=jwks[0]), claims),
            'x5u': forge(dict(header, x5u='http://127.0.0.1:1/cert'), claims),
            'wrong typ': forge(dict(header, typ='JWT'), claims),
            'changed claims': forge(header, later),
            'wrong iss': forge(header, dict(claims, iss='https://evil.example.com')),
            'wrong aud': forge(header, dict(claims, aud='https://evil.example.com')),
            'expired': forge(header, dict(claims, exp=1000)),
            'not yet valid': forge(header, dict(claims, nbf=claims['iat'] + 3600)),
            'truncated': jwt[:-5],
            'a part dropped': '.'.join(jwt.split('.')[:2]),
            're-encoded with padding': jwt + '=',
            'over 8 KB': jwt + 'A' * 9000,
        }
        for name, value in hostile.items():
            r = self.auth(value)
            self.assertEqual(r.status, 401, (name, r))
            r = self.req('POST', '/api/v1/introspect', {'token': value}, token=self.pat(
                'ex-i-' + name.replace(' ', '-')[:40], ['introspect'])['token'])
            self.assertEqual(r.status, 200, (name, r))
            self.assertEqual(r.json, {'active': False}, name)
        # 100 KB never reaches patd's parser: libmicrohttpd refuses the header.
        self.assertIn(self.auth(jwt + 'A' * 100000).status, (400, 401, 431))
        self.assertEqual(self.auth(jwt).status, 204)  # the genuine one still works

    def test_a_signature_of_another_key_is_refused(self):
        t = self.pat('ex-other-key')
        jwt = self.exchange(t['token']).json['access_token']
        header, claims, _ = parts(jwt)
        script = r'''
import json, sys, jwt
from cryptography.hazmat.primitives.asymmetric import ec
h, c = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(jwt.encode(c, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256",
                 headers={"kid": h["kid"], "typ": "at+jwt"}))
'''
        out = subprocess.run(['/usr/bin/python3', '-c', script, json.dumps(header),
                              json.dumps(claims)], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(self.auth(out.stdout.strip()).status, 401)

    def doc(self, lang):
        """docs/exchange.md's snippet, pointed at this patd."""
        return gateway_cases.doc_snippet('exchange.md', lang).replace(
            'https://tokens.example.com', self.patd.url())

    def test_pyjwt_verifies_against_the_jwks_over_http(self):
        t = self.pat('ex-pyjwt')
        jwt = self.exchange(t['token'], audience='billing').json['access_token']
        script = 'import sys\ntoken = sys.argv[1]\n' + self.doc('python') + \
            'print(claims["scope"])\n'
        out = subprocess.run(['/usr/bin/python3', '-c', script, jwt], capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), 'tokens')
        # Tampered: PyJWT refuses it too.
        tampered = jwt[:-4] + ('AAAA' if not jwt.endswith('AAAA') else 'BBBB')
        out = subprocess.run(['/usr/bin/python3', '-c', script, tampered], capture_output=True,
                             text=True, timeout=60)
        self.assertNotEqual(out.returncode, 0)

    def test_node_jose_verifies_with_typ_enforced(self):
        t = self.pat('ex-jose')
        jwt = self.exchange(t['token'], audience='billing').json['access_token']
        script = self.doc('js').replace("import { createRemoteJWKSet, jwtVerify } from 'jose';",
                                        "import { createRemoteJWKSet, jwtVerify } from 'jose';\n"
                                        "const token = process.argv[2];")
        script += 'console.log(payload.scope);\n'
        # Beside tests/browser/node_modules, where node finds jose.
        path = os.path.join(HERE, '..', 'browser', 'verify_jose.mjs')
        with open(path, 'w') as f:
            f.write(script)
        try:
            out = subprocess.run(['node', path, jwt], capture_output=True, text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertEqual(out.stdout.strip(), 'tokens')
            # A JWT for patd's own audience is not one for billing.
            other = self.exchange(t['token']).json['access_token']
            out = subprocess.run(['node', path, other], capture_output=True, text=True,
                                 timeout=60)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn('aud', out.stderr)
        finally:
            os.remove(path)

    def test_metadata_and_jwks(self):
        r = self.req('GET', '/.well-known/oauth-authorization-server')
        self.assertEqual(r.status, 200, r)
        m = r.json
        self.assertEqual(m['issuer'], self.patd.url())
        self.assertEqual(m['token_endpoint'], self.patd.url('/oauth/token'))
        self.assertEqual(m['jwks_uri'], self.patd.url('/.well-known/jwks.json'))
        self.assertEqual(m['grant_types_supported'], [EXCHANGE])
        self.assertIn('response_types_supported', m)
        self.assertIn('tokens', m['scopes_supported'])
        r = self.req('GET', '/.well-known/jwks.json')
        self.assertEqual(r.header('Cache-Control'), 'public, max-age=300')
        for k in r.json['keys']:
            self.assertEqual(set(k), {'kty', 'crv', 'x', 'y', 'kid', 'alg', 'use'})
            self.assertNotIn('d', k)

    def test_exchange_is_audited_and_counted_as_a_use(self):
        t = self.pat('ex-audit')
        jwt = self.exchange(t['token']).json['access_token']
        # Written with the next batch, within a second or so.
        deadline = time.time() + 10
        events = []
        while time.time() < deadline and not events:
            r = self.req('GET', '/api/v1/audit?action=token.exchanged', session=self.admin)
            events = [e for e in r.json['events'] if 'id=%d ' % t['id'] in e['detail']]
            time.sleep(0.1)
        self.assertEqual(len(events), 1)
        self.assertNotIn(jwt, r.body)
        self.assertNotIn(jwt.split('.')[2], r.body)
        last = self.patd.wait_last_used(self.admin, t['id'])
        self.assertEqual(last['path'], '/oauth/token')
        self.assertNotIn(jwt, self.patd.read_log())
        self.assertNotIn(t['token'], self.patd.read_log())


class Keys(PatdTestCase):
    config = CONFIG

    def exchange(self, token):
        form = {'grant_type': EXCHANGE, 'subject_token': token, 'subject_token_type': ACCESS}
        return self.req('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                        content_type='application/x-www-form-urlencoded').json['access_token']

    def test_rotation_publishes_ahead_and_keeps_old_jwts_valid_across_a_restart(self):
        t = self.patd.create_token(self.admin, name='rot', scopes=['tokens'])
        old_jwt = self.exchange(t['token'])
        old_kid = parts(old_jwt)[0]['kid']
        r = self.req('GET', '/api/v1/keys', session=self.admin)
        self.assertEqual([k['state'] for k in r.json['keys']], ['active'])
        # Members may not.
        self.req('POST', '/api/v1/users', {'username': 'kim', 'password': 'kim-password-123'},
                 session=self.admin)
        kim = self.patd.login('kim', 'kim-password-123')
        self.assertEqual(self.req('POST', '/api/v1/keys/rotate', session=kim).status, 403)
        r = self.req('POST', '/api/v1/keys/rotate', session=self.admin)
        self.assertEqual(r.status, 200, r)
        states = {k['kid']: k for k in r.json['keys']}
        self.assertEqual(states[old_kid]['state'], 'active')
        new_kid = [k for k in states if k != old_kid][0]
        self.assertEqual(states[new_kid]['state'], 'next')
        # Published at once, not signing yet (jwks_publish_ahead_seconds=2).
        kids = {k['kid'] for k in self.req('GET', '/.well-known/jwks.json').json['keys']}
        self.assertEqual(kids, {old_kid, new_kid})
        self.assertEqual(parts(self.exchange(t['token']))[0]['kid'], old_kid)
        time.sleep(2.5)
        new_jwt = self.exchange(t['token'])
        self.assertEqual(parts(new_jwt)[0]['kid'], new_kid)
        r = self.req('GET', '/api/v1/keys', session=self.admin)
        states = {k['kid']: k for k in r.json['keys']}
        self.assertEqual(states[old_kid]['state'], 'retired')
        self.assertIsNotNone(states[old_kid]['retires_at'])  # after its last JWT expires
        self.assertTrue(states[old_kid]['in_jwks'])
        auth = {'Authorization': 'Bearer ' + old_jwt}
        self.assertEqual(self.req('GET', '/auth', headers=auth).status, 204)
        r = self.req('GET', '/api/v1/audit?action=key.rotated', session=self.admin)
        self.assertEqual(len(r.json['events']), 1)
        # A restart keeps the keys: both JWTs still verify.
        self.patd.stop()
        self.patd.start()
        self.admin = self.patd.login()
        for jwt in (old_jwt, new_jwt):
            r = self.req('GET', '/auth', headers={'Authorization': 'Bearer ' + jwt})
            self.assertEqual(r.status, 204, r)
        self.assertNotIn(old_jwt, self.patd.read_log())


class KeyBound(PatdTestCase):
    config = CONFIG

    def test_at_most_eight_keys_are_published(self):
        for _ in range(7):
            r = self.req('POST', '/api/v1/keys/rotate', session=self.admin)
            self.assertEqual(r.status, 200, r)
        r = self.req('POST', '/api/v1/keys/rotate', session=self.admin)
        self.assertEqual(r.status, 409, r)
        self.assertEqual(r.json['error'], 'conflict')
        self.assertIn('8 signing keys are published already', r.json['message'])
        self.assertEqual(len(self.req('GET', '/.well-known/jwks.json').json['keys']), 8)
        r = self.req('GET', '/api/v1/audit?action=key.rotated', session=self.admin)
        self.assertEqual(len(r.json['events']), 7)


class OperatorRotation(unittest.TestCase):
    def test_patd_keys_rotate_on_the_box(self):
        p = Patd(config='jwks_publish_ahead_seconds = 60\n').start()
        try:
            out = subprocess.run([p.binary, '--data-dir', p.data_dir, 'keys', 'rotate'] +
                                 [a for a in p.args], env=p.env, capture_output=True, text=True,
                                 timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertRegex(out.stdout, r'new signing key [\w-]{43}: published now, signs in 60')
            kid = out.stdout.split()[3].rstrip(':')
            # The running patd hears of it through the changes feed.
            deadline = time.time() + 5
            kids = set()
            while time.time() < deadline and kid not in kids:
                kids = {k['kid'] for k in p.request('GET', '/.well-known/jwks.json').json['keys']}
                time.sleep(0.1)
            self.assertIn(kid, kids)
            r = p.request('GET', '/api/v1/audit?action=key.rotated', session=p.login())
            self.assertEqual(len(r.json['events']), 1)
        finally:
            p.stop()


class EdDSA(PatdTestCase):
    config = 'jwt_algorithm = EdDSA\n'

    def test_eddsa_jwts_verify_with_pyjwt(self):
        t = self.patd.create_token(self.admin, name='ed', scopes=['tokens'])
        form = {'grant_type': EXCHANGE, 'subject_token': t['token'], 'subject_token_type': ACCESS}
        r = self.req('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                     content_type='application/x-www-form-urlencoded')
        jwt = r.json['access_token']
        self.assertEqual(parts(jwt)[0]['alg'], 'EdDSA')
        keys = self.req('GET', '/.well-known/jwks.json').json['keys']
        self.assertEqual(keys[0]['kty'], 'OKP')
        self.assertEqual(keys[0]['crv'], 'Ed25519')
        script = r'''
import sys, jwt
url, token, iss = sys.argv[1:4]
key = jwt.PyJWKClient(url).get_signing_key_from_jwt(token)
print(jwt.decode(token, key.key, algorithms=["EdDSA"], audience=iss, issuer=iss)["sub"])
'''
        out = subprocess.run(['/usr/bin/python3', '-c', script,
                              self.patd.url('/.well-known/jwks.json'), jwt, self.patd.url()],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), '1')
        self.assertEqual(self.req('GET', '/auth', headers={
            'Authorization': 'Bearer ' + jwt}).status, 204)

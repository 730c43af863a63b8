"""Organizations (#17): one person, several organizations, one token list;
where a token may be used, the token permission and the policy per
organization, owners' reach, and verification that carries it all."""
import base64
import json
import urllib.parse

from harness import ADMIN_PASSWORD, PatdTestCase

CONFIG = """
route = GET /api/acme/* projects:read org=acme
[scope projects:read]
description = Read projects
"""
PASSWORD = 'member-password-123'
EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange'
ACCESS = 'urn:ietf:params:oauth:token-type:access_token'


def auth_headers(token, org=None, uri='/api/projects/1'):
    h = {'X-Original-Method': 'GET', 'X-Original-URI': uri, 'Authorization': 'Bearer ' + token}
    if org:
        h['X-Required-Org'] = org
    return h


class Orgs(PatdTestCase):
    config = CONFIG
    counter = 0

    def setUp(self):
        r = self.req('POST', '/api/v1/session/confirm', {'password': ADMIN_PASSWORD},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)

    # ---- helpers ----

    def unique(self, base):
        Orgs.counter += 1
        return '%s%d' % (base, Orgs.counter)

    def person(self, base):
        name = self.unique(base)
        r = self.req('POST', '/api/v1/users', {'username': name, 'password': PASSWORD,
                                               'email': name + '@example.com'},
                     session=self.admin)
        self.assertEqual(r.status, 201, r)
        s = self.patd.login(name, PASSWORD)
        return r.json, s

    def org(self, base):
        slug = self.unique(base)
        r = self.req('POST', '/api/v1/orgs', {'slug': slug, 'name': base.title()},
                     session=self.admin)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['slug'], slug)
        return slug

    def add(self, slug, user, role='member', session=None, **extra):
        body = {'username': user['username'], 'role': role}
        body.update(extra)
        r = self.req('POST', '/api/v1/orgs/%s/members' % slug, body,
                     session=session or self.admin)
        self.assertEqual(r.status, 201, r)
        return r.json

    def auth(self, token, org=None, uri='/api/projects/1'):
        return self.req('GET', '/auth', headers=auth_headers(token, org, uri))

    def confirm(self, session):
        r = self.req('POST', '/api/v1/session/confirm', {'password': PASSWORD}, session=session)
        self.assertEqual(r.status, 200, r)

    def two_orgs_and_a_person(self):
        acme, globex = self.org('acme'), self.org('globex')
        u, s = self.person('pia')
        self.add(acme, u)
        self.add(globex, u)
        return acme, globex, u, s

    # ---- the installation as one organization ----

    def test_the_installation_is_the_default_organization(self):
        r = self.req('GET', '/api/v1/orgs', session=self.admin)
        self.assertEqual(r.status, 200, r)
        default = [o for o in r.json['orgs'] if o['slug'] == 'default']
        self.assertEqual(len(default), 1)
        self.assertEqual(default[0]['role'], 'owner')
        u, s = self.person('newcomer')
        r = self.req('GET', '/api/v1/orgs', session=s)
        self.assertEqual([(o['slug'], o['role']) for o in r.json['orgs']], [('default', 'member')])
        t = self.patd.create_token(s, name='t')
        self.assertIsNone(t['organizations'])
        r = self.auth(t['token'])
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header('X-Auth-Orgs'), 'default')

    # ---- where a token may be used ----

    def test_one_token_list_usable_where_it_says(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        everywhere = self.patd.create_token(s, name='everywhere')
        only_acme = self.patd.create_token(s, name='only-acme', organizations=[acme])
        self.assertEqual(only_acme['organizations'], [acme])
        # One list, whichever organization is looked at.
        r = self.req('GET', '/api/v1/tokens', session=s)
        self.assertEqual({t['name'] for t in r.json['tokens']}, {'everywhere', 'only-acme'})
        for org in (acme, globex):
            self.assertEqual(self.auth(everywhere['token'], org).status, 204)
        self.assertEqual(self.auth(only_acme['token'], acme).status, 204)
        r = self.auth(only_acme['token'], globex)
        self.assertEqual(r.status, 403, r)
        www = r.header('WWW-Authenticate')
        self.assertIn('error="insufficient_scope"', www)
        self.assertIn('scope="org:%s"' % globex, www)
        self.assertEqual(self.auth(everywhere['token']).header('X-Auth-Orgs'),
                         ' '.join(sorted([acme, 'default', globex])))
        self.assertEqual(self.auth(only_acme['token']).header('X-Auth-Orgs'), acme)
        # An organization nobody has heard of is refused the same way.
        self.assertEqual(self.auth(everywhere['token'], 'nosuch').status, 403)
        # A route rule's org= asks the same.
        r = self.req('GET', '/auth', headers={
            'X-Original-Method': 'GET', 'X-Original-URI': '/api/acme/x',
            'Authorization': 'Bearer ' + self.patd.create_token(
                s, name='reader', scopes=['projects:read'], organizations=[globex])['token']})
        self.assertEqual(r.status, 403, r)
        self.assertIn('scope="org:acme"', r.header('WWW-Authenticate'))

    def test_editing_where_a_token_may_be_used(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        t = self.patd.create_token(s, name='moving')
        self.confirm(s)
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'organizations': [globex]},
                     session=s)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['organizations'], [globex])
        self.assertEqual(self.auth(t['token'], acme).status, 403)
        self.assertEqual(self.auth(t['token'], globex).status, 204)
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'organizations': None}, session=s)
        self.assertIsNone(r.json['organizations'])
        self.assertEqual(self.auth(t['token'], acme).status, 204)
        # A copy keeps them.
        r = self.req('PATCH', '/api/v1/tokens/%d' % t['id'], {'organizations': [acme]}, session=s)
        r = self.req('POST', '/api/v1/tokens/%d/copy' % t['id'], {'name': 'moving-copy'},
                     session=s)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json['organizations'], [acme])

    def test_bad_organizations_are_refused(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        stranger = self.org('initech')
        for value in ([stranger], [], ['Not A Slug'], 'acme', [1], ['x'] * 17):
            r = self.req('POST', '/api/v1/tokens', {'name': 'bad', 'scopes': ['tokens'],
                                                    'organizations': value}, session=s)
            self.assertError(r, 400, 'invalid_request', 'organizations')
        r = self.req('GET', '/api/v1/tokens', session=s)
        self.assertEqual(r.json['tokens'], [])

    # ---- the permission per organization ----

    def test_withdrawing_the_permission_blocks_there_only(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        t = self.patd.create_token(s, name='t')
        base = '/api/v1/orgs/%s/members/%d' % (acme, u['id'])
        r = self.req('PATCH', base, {'can_manage_tokens': False}, session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json['can_manage_tokens'])
        self.assertEqual(self.auth(t['token'], acme).status, 403)
        self.assertEqual(self.auth(t['token'], globex).status, 204)
        self.assertNotIn(acme, self.auth(t['token']).header('X-Auth-Orgs'))
        # The rows remain; restoring makes them work there again.
        r = self.req('PATCH', base, {'can_manage_tokens': True}, session=self.admin)
        self.assertEqual(self.auth(t['token'], acme).status, 204)
        # Removing the member: the same.
        r = self.req('DELETE', base, session=self.admin)
        self.assertEqual(r.status, 204, r)
        self.assertEqual(self.auth(t['token'], acme).status, 403)
        self.assertEqual(self.auth(t['token'], globex).status, 204)
        self.assertError(self.req('DELETE', base, session=self.admin), 404, 'not_found')
        # Disabling the account: everywhere.
        r = self.req('PATCH', '/api/v1/users/%d' % u['id'], {'disabled': True},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.auth(t['token'], globex).status, 401)
        self.assertEqual(self.auth(t['token']).status, 401)
        r = self.req('GET', '/api/v1/audit?action=org.permission_withdrawn', session=self.admin)
        self.assertIn('username=%s' % u['username'], ' '.join(e['detail'] for e in r.json['events']))

    # ---- policies per organization ----

    def test_the_strictest_policy_applies_and_names_the_organization(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        r = self.req('PUT', '/api/v1/orgs/%s/policy' % acme, {'max_lifetime_days': 30},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json['max_lifetime_days'], 30)
        r = self.req('POST', '/api/v1/tokens', {'name': 'long', 'scopes': ['tokens'],
                                                'expires_in_days': 60}, session=s)
        self.assertError(r, 400, 'invalid_request')
        self.assertIn(acme, r.json['message'])
        r = self.req('POST', '/api/v1/tokens', {'name': 'long', 'scopes': ['tokens'],
                                                'expires_in_days': 60,
                                                'organizations': [globex]}, session=s)
        self.assertEqual(r.status, 201, r)
        # Making it usable in acme later is refused too, naming acme.
        self.confirm(s)
        r2 = self.req('PATCH', '/api/v1/tokens/%d' % r.json['id'], {'organizations': None},
                      session=s)
        self.assertError(r2, 400, 'invalid_request')
        self.assertIn(acme, r2.json['message'])
        # No expiry asked for: the default fits every policy.
        r = self.req('POST', '/api/v1/tokens', {'name': 'default', 'scopes': ['tokens']},
                     session=s)
        self.assertEqual(r.status, 201, r)
        # Tightening lists what is out of bounds in that organization only.
        r = self.req('PUT', '/api/v1/orgs/%s/policy' % globex, {'max_lifetime_days': 7},
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        r = self.req('GET', '/api/v1/orgs/%s/policy/violations' % globex, session=self.admin)
        self.assertEqual([t['name'] for t in r.json['tokens']], ['long'])
        r = self.req('GET', '/api/v1/orgs/%s/policy/violations' % acme, session=self.admin)
        self.assertEqual(r.json['tokens'], [])
        self.assertError(self.req('PUT', '/api/v1/orgs/%s/policy' % acme,
                                  {'max_lifetime_days': -1}, session=self.admin),
                         400, 'invalid_request', 'max_lifetime_days')

    # ---- owners and members ----

    def test_owners_manage_their_organization_only(self):
        acme, globex = self.org('acme'), self.org('globex')
        owner, so = self.person('olga')
        member, sm = self.person('mo')
        self.add(acme, owner, role='owner')
        self.add(acme, member)
        self.add(globex, member)
        self.confirm(so)
        # The owner: members, permission, policy, audit, tokens of members.
        r = self.req('GET', '/api/v1/orgs/%s/members' % acme, session=so)
        self.assertEqual(r.status, 200, r)
        self.assertEqual({m['username'] for m in r.json['members']},
                         {owner['username'], member['username']})
        t = self.patd.create_token(sm, name='mo-1')
        r = self.req('GET', '/api/v1/orgs/%s/members/%d/tokens' % (acme, member['id']), session=so)
        self.assertEqual([x['name'] for x in r.json['tokens']], ['mo-1'])
        self.assertNotIn('token', r.json['tokens'][0])
        r = self.req('PATCH', '/api/v1/orgs/%s/members/%d' % (acme, member['id']),
                     {'can_manage_tokens': False}, session=so)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.auth(t['token'], acme).status, 403)
        r = self.req('PUT', '/api/v1/orgs/%s/policy' % acme, {'max_lifetime_days': 90},
                     session=so)
        self.assertEqual(r.status, 200, r)
        r = self.req('PATCH', '/api/v1/orgs/%s' % acme, {'name': 'Acme Corp'}, session=so)
        self.assertEqual(r.json['name'], 'Acme Corp')
        r = self.req('GET', '/api/v1/orgs/%s/audit' % acme, session=so)
        actions = [e['action'] for e in r.json['events']]
        self.assertIn('org.permission_withdrawn', actions)
        self.assertIn('org.policy_updated', actions)
        self.assertIn('token.created', actions)  # by a member
        # Another organization does not exist for them.
        for method, path, body in (
                ('GET', '/api/v1/orgs/%s' % globex, None),
                ('GET', '/api/v1/orgs/%s/members' % globex, None),
                ('POST', '/api/v1/orgs/%s/members' % globex, {'username': owner['username']}),
                ('PATCH', '/api/v1/orgs/%s/members/%d' % (globex, member['id']),
                 {'can_manage_tokens': False}),
                ('GET', '/api/v1/orgs/%s/policy' % globex, None),
                ('PUT', '/api/v1/orgs/%s/policy' % globex, {'max_lifetime_days': 1}),
                ('GET', '/api/v1/orgs/%s/audit' % globex, None)):
            self.assertError(self.req(method, path, body, session=so), 404, 'not_found')
        self.assertEqual(self.auth(t['token'], globex).status, 204)
        # A member reaches none of the team actions.
        self.confirm(sm)
        self.assertEqual(self.req('GET', '/api/v1/orgs/%s' % acme, session=sm).status, 200)
        for method, path, body in (
                ('GET', '/api/v1/orgs/%s/members' % acme, None),
                ('POST', '/api/v1/orgs/%s/members' % acme, {'username': 'admin'}),
                ('PATCH', '/api/v1/orgs/%s/members/%d' % (acme, member['id']),
                 {'can_manage_tokens': True}),
                ('PUT', '/api/v1/orgs/%s/policy' % acme, {'max_lifetime_days': 1}),
                ('GET', '/api/v1/orgs/%s/audit' % acme, None),
                ('POST', '/api/v1/orgs/%s/members/%d/tokens/revoke-all' % (acme, owner['id']),
                 None)):
            self.assertError(self.req(method, path, body, session=sm), 403, 'forbidden')
        # Only a superuser makes organizations.
        self.assertError(self.req('POST', '/api/v1/orgs', {'slug': 'mine', 'name': 'Mine'},
                                  session=so), 403, 'forbidden')

    def test_an_owners_revoke_all_ends_tokens_here_only(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        here = self.patd.create_token(s, name='here', organizations=[acme])
        both = self.patd.create_token(s, name='both', organizations=[acme, globex])
        anywhere = self.patd.create_token(s, name='anywhere')
        there = self.patd.create_token(s, name='there', organizations=[globex])
        r = self.req('POST', '/api/v1/orgs/%s/members/%d/tokens/revoke-all' % (acme, u['id']),
                     session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {'revoked': 1, 'narrowed': 2})
        left = {t['name']: t for t in self.req('GET', '/api/v1/tokens', session=s).json['tokens']}
        self.assertEqual(set(left), {'both', 'anywhere', 'there'})
        self.assertEqual(left['both']['organizations'], [globex])
        self.assertEqual(left['anywhere']['organizations'], sorted(['default', globex]))
        self.assertEqual(self.auth(here['token']).status, 401)
        for t in (both, anywhere, there):
            self.assertEqual(self.auth(t['token'], acme).status, 403)
            self.assertEqual(self.auth(t['token'], globex).status, 204)

    # ---- the organizations themselves ----

    def test_create_and_validate_organizations(self):
        slug = self.org('umbrella')
        self.assertError(self.req('POST', '/api/v1/orgs', {'slug': slug, 'name': 'Again'},
                                  session=self.admin), 409, 'conflict', 'slug')
        for body, field in (({'slug': 'Bad Slug', 'name': 'x'}, 'slug'),
                            ({'slug': '-dash', 'name': 'x'}, 'slug'),
                            ({'slug': 'a' * 33, 'name': 'x'}, 'slug'),
                            ({'slug': 'okslug', 'name': ''}, 'name'),
                            ({'slug': 'okslug', 'name': 5}, 'name'),
                            ({'slug': 'okslug', 'bogus': 1}, 'bogus')):
            self.assertError(self.req('POST', '/api/v1/orgs', body, session=self.admin),
                             400, 'invalid_request', field)
        self.assertError(self.req('GET', '/api/v1/orgs/nosuch', session=self.admin),
                         404, 'not_found')
        unnamed = self.unique('unnamed')
        r = self.req('POST', '/api/v1/orgs', {'slug': unnamed}, session=self.admin)
        self.assertEqual((r.status, r.json['name']), (201, unnamed))
        u, s = self.person('zed')
        base = '/api/v1/orgs/%s/members' % slug
        for body, field in (({'username': 'nobody-here'}, 'username'),
                            ({'user_id': 999999}, 'user_id'),
                            ({}, 'user_id'),
                            ({'username': u['username'], 'role': 'king'}, 'role'),
                            ({'username': u['username'], 'can_manage_tokens': 'yes'},
                             'can_manage_tokens')):
            self.assertError(self.req('POST', base, body, session=self.admin),
                             400, 'invalid_request', field)
        self.add(slug, u)
        self.assertError(self.req('POST', base, {'user_id': u['id']}, session=self.admin),
                         409, 'conflict')
        r = self.req('GET', '/api/v1/orgs/%s' % slug, session=s)
        self.assertEqual((r.json['role'], r.json['can_manage_tokens']), ('member', True))

    def test_introspection_and_exchanged_jwts_carry_the_organizations(self):
        acme, globex, u, s = self.two_orgs_and_a_person()
        t = self.patd.create_token(s, name='jwt-source', organizations=[acme])
        caller = self.patd.create_token(self.admin, name=self.unique('rs'),
                                        scopes=['introspect'])['token']
        r = self.req('POST', '/api/v1/introspect', raw='token=' + t['token'],
                     content_type='application/x-www-form-urlencoded', token=caller)
        self.assertEqual(r.json['orgs'], [acme])
        form = {'grant_type': EXCHANGE, 'subject_token': t['token'], 'subject_token_type': ACCESS}
        r = self.req('POST', '/oauth/token', raw=urllib.parse.urlencode(form),
                     content_type='application/x-www-form-urlencoded')
        self.assertEqual(r.status, 200, r)
        jwt = r.json['access_token']
        claims = json.loads(base64.urlsafe_b64decode(jwt.split('.')[1] + '=='))
        self.assertEqual(claims['orgs'], [acme])
        self.assertEqual(self.auth(jwt, acme).status, 204)
        self.assertEqual(self.auth(jwt, globex).status, 403)
        # The permission withdrawn: the JWT stops working there at once.
        self.req('PATCH', '/api/v1/orgs/%s/members/%d' % (acme, u['id']),
                 {'can_manage_tokens': False}, session=self.admin)
        self.assertEqual(self.auth(jwt, acme).status, 403)

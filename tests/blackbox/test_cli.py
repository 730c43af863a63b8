"""The pat command-line client against a real patd."""
import http.server
import json
import os
import shutil
import stat
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ADMIN_PASSWORD, PATD, Patd, free_port, well_formed_token

PAT = os.path.join(os.path.dirname(PATD), 'pat')
CONFIG = """
[scope repo:read]
description = Read repositories
"""


class Cli(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(config=CONFIG).start()
        cls.home = tempfile.mkdtemp(prefix='pat-home-')
        out = cls.pat('login', input='admin\n%s\n' % ADMIN_PASSWORD)
        assert out.returncode == 0, out.stderr

    @classmethod
    def tearDownClass(cls):
        cls.patd.stop()
        shutil.rmtree(cls.home, ignore_errors=True)

    @classmethod
    def pat(cls, *args, input='', env=None, home=None, server=True):
        e = dict(os.environ)
        e.pop('PAT_TOKEN', None)
        e.pop('PAT_SERVER', None)
        e.pop('XDG_CONFIG_HOME', None)
        e['HOME'] = home or cls.home
        e.update(env or {})
        argv = [PAT] + (['--server', cls.patd.url()] if server else []) + list(args)
        return subprocess.run(argv, input=input, capture_output=True, text=True, env=e,
                              timeout=60)

    def ok(self, *args, **kw):
        out = self.pat(*args, **kw)
        self.assertEqual(out.returncode, 0, out.stderr)
        return out

    def test_login_saves_private_config_and_whoami(self):
        path = os.path.join(self.home, '.config', 'pat', 'config')
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as f:
            text = f.read()
        self.assertIn('token = pat_', text)
        self.assertNotIn(ADMIN_PASSWORD, text)
        out = self.ok('whoami', server=False)  # the saved server is used
        self.assertIn('admin (superuser)', out.stdout)

    def test_login_again_regenerates_the_cli_token(self):
        # Another person: admin's cli@HOST token is the one this class uses.
        s = self.patd.login()
        self.patd.request('POST', '/api/v1/users', {'username': 'relogin',
                                                    'password': 'relogin-password-1'}, session=s)
        home = tempfile.mkdtemp(prefix='pat-home2-')
        self.ok('login', input='relogin\nrelogin-password-1\n', home=home)
        first = json.loads(self.ok('token', 'self', '--json', home=home).stdout)
        self.ok('login', input='relogin\nrelogin-password-1\n', home=home)
        out = self.ok('token', 'list', '--json', home=home)
        names = [t['name'] for t in json.loads(out.stdout)]
        self.assertEqual(len([n for n in names if n.startswith('cli@')]), 1)
        self.assertEqual(json.loads(self.ok('token', 'self', '--json', home=home).stdout)['id'],
                         first['id'])
        # A member's CLI token holds what a member may grant, not admin.
        self.assertIn('repo:read', first['scopes'])
        self.assertNotIn('admin', first['scopes'])

    def test_login_with_token_and_logout(self):
        home = tempfile.mkdtemp(prefix='pat-home3-')
        value = self.ok('token', 'create', '--name', 'for-login').stdout.strip()
        self.ok('login', '--with-token', input=value + '\n', home=home)
        out = self.ok('token', 'self', '--json', home=home)
        self.assertEqual(json.loads(out.stdout)['name'], 'for-login')
        self.ok('logout', home=home)
        self.assertFalse(os.path.exists(os.path.join(home, '.config', 'pat', 'config')))
        out = self.pat('token', 'self', env={'PAT_TOKEN': value})
        self.assertEqual(out.returncode, 3)
        out = self.pat('login', '--with-token', input='pat_nonsense\n', home=home)
        self.assertEqual(out.returncode, 3)
        self.assertIn('not a personal access token', out.stderr)
        self.assertFalse(os.path.exists(os.path.join(home, '.config', 'pat', 'config')))

    def test_wrong_password_is_auth_failure(self):
        out = self.pat('login', input='admin\nwrong-password!\n',
                       home=tempfile.mkdtemp(prefix='pat-home4-'))
        self.assertEqual(out.returncode, 3)
        self.assertIn('wrong username or password', out.stderr)

    def test_create_prints_value_alone(self):
        out = self.ok('token', 'create', '--name', 'script-token', '--expires', '7d',
                      '--scope', 'repo:read', '--description', 'for a script')
        value = out.stdout.strip()
        self.assertRegex(out.stdout, r'^pat_[0-9A-Za-z]{38}\n$')
        self.assertIn('shown once', out.stderr)
        r = self.patd.request('GET', '/api/v1/tokens/self', token=value)
        self.assertEqual(r.json['scopes'], ['repo:read'])
        self.assertEqual(r.json['description'], 'for a script')

    def test_exchange_prints_the_jwt_alone(self):
        out = self.ok('token', 'exchange', '--scope', 'tokens')
        jwt = out.stdout.strip()
        self.assertRegex(out.stdout, r'^eyJ[\w-]+\.[\w-]+\.[\w-]+\n$')
        r = self.patd.request('GET', '/auth', headers={'Authorization': 'Bearer ' + jwt})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.header('X-Auth-Scopes'), 'tokens')
        out = self.ok('--json', 'token', 'exchange')
        answer = json.loads(out.stdout)
        self.assertEqual(answer['token_type'], 'Bearer')
        self.assertEqual(answer['issued_token_type'], 'urn:ietf:params:oauth:token-type:jwt')
        # A scope the token does not hold: the server's reason, a failure.
        out = self.pat('token', 'exchange', '--scope', 'nosuch:scope')
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('nosuch:scope', out.stderr)
        out = self.pat('token', 'exchange', '--audience', 'nowhere')
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('audience', out.stderr)

    def test_create_expiry_forms(self):
        day = time.strftime('%Y-%m-%d', time.gmtime(time.time() + 10 * 86400))
        out = self.ok('token', 'create', '--name', 'dated', '--expires', day, '--json')
        self.assertEqual(json.loads(out.stdout)['expires_at'], day + 'T00:00:00Z')
        # The CLI's own token lives 30 days; it cannot mint longer-lived ones.
        out = self.pat('token', 'create', '--name', 'forever', '--expires', 'never')
        self.assertEqual(out.returncode, 3)
        self.assertIn('beyond its own expiry', out.stderr)
        out = self.pat('token', 'create', '--name', 'long', '--expires', '90d')
        self.assertEqual(out.returncode, 3)
        # Which durations exist is the server's rule, not the CLI's.
        out = self.pat('token', 'create', '--name', 'bad', '--expires', '45d')
        self.assertEqual(out.returncode, 1)
        self.assertIn('expires_in_days', out.stderr)
        out = self.pat('token', 'create', '--name', 'bad', '--expires', 'soon')
        self.assertEqual(out.returncode, 2)
        out = self.pat('token', 'create')
        self.assertEqual(out.returncode, 2)

    def test_every_token_command(self):
        v = self.ok('token', 'create', '--name', 'lifecycle').stdout.strip()
        tid = json.loads(self.ok('token', 'list', '--json').stdout)
        tid = [t['id'] for t in tid if t['name'] == 'lifecycle'][0]
        out = self.ok('token', 'list', '--wide')
        self.assertIn('DESCRIPTION', out.stdout)
        self.assertIn('USER AGENT', out.stdout)
        self.assertNotIn('DESCRIPTION', self.ok('token', 'list').stdout)
        out = self.ok('token', 'show', str(tid))
        self.assertIn('name:        lifecycle', out.stdout)
        self.assertNotIn(v, out.stdout)
        out = self.ok('token', 'edit', str(tid), '--description', 'edited', '--json')
        self.assertEqual(json.loads(out.stdout)['description'], 'edited')
        # An edit's "Nd" is a preset the server applies from its own clock.
        out = json.loads(self.ok('token', 'edit', str(tid), '--expires', '7d', '--json').stdout)
        self.assertAlmostEqual(out['remaining_seconds'], 7 * 86400, delta=30)
        out = self.pat('token', 'edit', str(tid), '--expires', '45d')
        self.assertEqual(out.returncode, 1)
        self.assertIn('expires_in_days', out.stderr)
        out = self.ok('token', 'disable', str(tid), '--json')
        self.assertEqual(json.loads(out.stdout)['status'], 'disabled')
        out = self.pat('token', 'edit', str(tid), '--name', 'x')
        self.assertEqual(out.returncode, 1)
        self.ok('token', 'enable', str(tid))
        new = self.ok('token', 'regenerate', str(tid), '--grace', '1m').stdout.strip()
        self.assertNotEqual(new, v)
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self', token=v).status, 200)
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self', token=new).status, 200)
        copy = self.ok('token', 'copy', str(tid), '--name', 'lifecycle-copy').stdout.strip()
        self.assertTrue(copy.startswith('pat_'))
        out = self.ok('token', 'list', '--status', 'active')
        self.assertIn('lifecycle-copy', out.stdout)
        self.assertEqual(out.stdout.splitlines()[0].split('\t')[:3], ['ID', 'NAME', 'PREFIX'])
        ids = [t['id'] for t in json.loads(self.ok('token', 'list', '--json').stdout)
               if t['name'] in ('lifecycle', 'lifecycle-copy')]
        out = self.ok('token', 'delete', '--yes', *map(str, ids))
        self.assertEqual(out.stdout.count('deleted'), 2)
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self', token=new).status, 401)
        out = self.pat('token', 'show', str(ids[0]))
        self.assertEqual(out.returncode, 4)

    def test_delete_single_and_usage(self):
        self.ok('token', 'create', '--name', 'single')
        tid = [t['id'] for t in json.loads(self.ok('token', 'list', '--json').stdout)
               if t['name'] == 'single'][0]
        self.ok('token', 'delete', str(tid), '--yes')
        self.assertEqual(self.pat('token', 'delete').returncode, 2)
        # No terminal and no --yes: refused, nothing deleted.
        keep = json.loads(self.ok('token', 'create', '--name', 'kept-by-default', '--json').stdout)
        out = self.pat('token', 'delete', str(keep['id']))
        self.assertEqual(out.returncode, 2)
        self.assertIn('--yes', out.stderr)
        self.assertEqual(self.patd.request('GET', '/api/v1/tokens/self',
                                           token=keep['token']).status, 200)
        self.assertEqual(self.pat('token', 'delete', 'abc').returncode, 2)
        self.assertEqual(self.pat('token', 'frobnicate').returncode, 2)
        self.assertEqual(self.pat('nonsense').returncode, 2)

    def test_control_characters_escaped(self):
        r = self.patd.request('GET', '/api/v1/tokens/self',
                              token=self.ok('token', 'create', '--name', 'esc-probe').stdout.strip())
        self.assertEqual(r.status, 200)
        s = self.patd.login()
        # The server refuses terminal escapes in text outright...
        bad = self.patd.request('PATCH', '/api/v1/tokens/%d' % r.json['id'],
                                {'description': '\u001b[31mred'}, session=s)
        self.assertEqual(bad.status, 400)
        # ...and the newlines and tabs it allows are shown escaped.
        self.patd.request('PATCH', '/api/v1/tokens/%d' % r.json['id'],
                          {'description': 'line1\nline2\tend'}, session=s)
        out = self.ok('token', 'show', str(r.json['id']))
        self.assertIn('description: line1\\nline2\\tend\n', out.stdout)

    def test_delete_asks_on_a_terminal(self):
        import pty
        value = self.ok('token', 'create', '--name', 'ask-first').stdout.strip()
        tid = [t['id'] for t in json.loads(self.ok('token', 'list', '--json').stdout)
               if t['name'] == 'ask-first'][0]
        for answer, code, status in (('n', 1, 200), ('y', 0, 401)):
            master, slave = pty.openpty()
            e = dict(os.environ, HOME=self.home)
            e.pop('PAT_TOKEN', None)
            proc = subprocess.Popen([PAT, '--server', self.patd.url(), 'token', 'delete',
                                     str(tid)], stdin=slave, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=e)
            os.close(slave)
            os.write(master, (answer + '\n').encode())
            out, err = proc.communicate(timeout=30)
            os.close(master)
            self.assertEqual(proc.returncode, code, err)
            self.assertIn(b'Delete for good?', err)
            r = self.patd.request('GET', '/api/v1/tokens/self', token=value)
            self.assertEqual(r.status, status)

    def test_terminal_gets_aligned_table_and_relative_times(self):
        import pty
        self.ok('token', 'create', '--name', 'on-a-tty', '--expires', '7d')
        master, slave = pty.openpty()
        e = dict(os.environ, HOME=self.home)
        e.pop('PAT_TOKEN', None)
        proc = subprocess.Popen([PAT, '--server', self.patd.url(), 'token', 'list'],
                                stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                                env=e)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=30)
        os.close(master)
        text = b''.join(chunks).decode()
        line = [l for l in text.splitlines() if 'on-a-tty' in l][0]
        self.assertNotIn('\t', line)
        self.assertRegex(line, r'in (6|7) days')
        self.assertIn('never used', line)

    def test_unreachable_server(self):
        out = self.pat('--server', 'http://127.0.0.1:%d' % free_port(), 'token', 'list',
                       server=False)
        self.assertEqual(out.returncode, 5)
        self.assertIn('cannot reach', out.stderr)

    def test_scopes_and_admin(self):
        out = self.ok('scopes')
        self.assertIn('repo:read', out.stdout)
        out = self.ok('admin', 'users', 'create', 'mo', '--email', 'mo@example.com',
                      input='a-long-password-1\n')
        self.assertIn('mo', out.stdout)
        users = json.loads(self.ok('admin', 'users', 'list', '--json').stdout)['users']
        uid = [u['id'] for u in users if u['username'] == 'mo'][0]
        self.ok('admin', 'users', 'withdraw', str(uid))
        self.assertFalse(self.patd.request('GET', '/api/v1/users/%d' % uid,
                                           session=self.patd.login()).json['can_manage_tokens'])
        self.ok('admin', 'users', 'grant', str(uid))
        self.ok('admin', 'users', 'disable', str(uid))
        self.ok('admin', 'users', 'enable', str(uid))
        out = self.ok('admin', 'users', 'revoke-all', str(uid), '--yes')
        self.assertIn('revoked 0 tokens', out.stdout)
        out = self.ok('admin', 'policy', 'set', 'max_lifetime_days=60')
        self.assertIn('max_lifetime_days=60', out.stdout)
        out = self.ok('admin', 'policy', 'set', 'max_lifetime_days=none')
        self.assertIn('max_lifetime_days=none', out.stdout)
        out = self.pat('admin', 'policy', 'set', 'bogus=1')
        self.assertEqual(out.returncode, 1)
        out = self.ok('admin', 'audit', '--action', 'user.created', '--limit', '5')
        self.assertIn('user.created', out.stdout)
        out = self.pat('admin', 'users', 'disable', '999999')
        self.assertEqual(out.returncode, 4)

    def test_admin_keys(self):
        out = self.ok('admin', 'keys', 'list')
        self.assertIn('KID', out.stdout)
        self.assertIn('active', out.stdout)
        before = len(json.loads(self.ok('admin', 'keys', 'list', '--json').stdout)['keys'])
        out = self.ok('admin', 'keys', 'rotate')
        self.assertIn('next', out.stdout)
        keys = json.loads(self.ok('admin', 'keys', 'list', '--json').stdout)['keys']
        self.assertEqual(len(keys), before + 1)
        self.assertEqual(self.pat('admin', 'keys').returncode, 2)
        self.assertEqual(self.pat('admin', 'keys', 'delete').returncode, 2)

    def test_org_commands(self):
        s = self.patd.login()
        r = self.patd.request('POST', '/api/v1/session/confirm', {'password': ADMIN_PASSWORD},
                              session=s)
        r = self.patd.request('POST', '/api/v1/orgs', {'slug': 'cliorg', 'name': 'CLI Org'},
                              session=s)
        self.assertEqual(r.status, 201, r)
        r = self.patd.request('POST', '/api/v1/users', {'username': 'oz',
                                                         'password': 'a-long-password-1'},
                              session=s)
        self.assertEqual(r.status, 201, r)
        out = self.ok('org', 'list')
        self.assertIn('cliorg', out.stdout)
        self.assertIn('default', out.stdout)
        out = self.ok('org', 'add', 'cliorg', 'oz')
        self.assertIn('oz in cliorg: member, tokens allowed', out.stdout)
        out = self.ok('org', 'members', 'cliorg')
        self.assertIn('oz', out.stdout)
        out = self.ok('org', 'withdraw', 'cliorg', 'oz')
        self.assertIn('tokens withdrawn', out.stdout)
        members = json.loads(self.ok('org', 'members', 'cliorg', '--json').stdout)['members']
        self.assertEqual([m['can_manage_tokens'] for m in members if m['username'] == 'oz'],
                         [False])
        out = self.ok('org', 'grant', 'cliorg', 'oz')
        self.assertIn('tokens allowed', out.stdout)
        self.assertEqual(self.pat('org', 'grant', 'cliorg', 'nobody').returncode, 4)
        self.assertEqual(self.pat('org', 'members', 'nosuch').returncode, 4)
        self.assertEqual(self.pat('org', 'members', 'Bad/Slug').returncode, 2)
        self.assertEqual(self.pat('org', 'frobnicate', 'cliorg').returncode, 2)

    def test_help(self):
        out = self.ok('--help', server=False)
        self.assertIn('login', out.stdout)
        out = self.ok('token', '--help', server=False)
        self.assertIn('regenerate', out.stdout)
        out = self.ok('admin', '--help', server=False)
        self.assertIn('revoke-all', out.stdout)
        out = self.ok('org', '--help', server=False)
        self.assertIn('withdraw SLUG USER', out.stdout)


class BrokenServer(http.server.BaseHTTPRequestHandler):
    """Answers pat login the way a broken or hostile server might: members
    missing or of the wrong type, and a token value chosen by the test."""
    token = None  # the "token" member of POST /api/v1/tokens, or absent
    conflict = False  # answer the token creation with 409 first

    def log_message(self, *a):
        pass

    def answer(self, status, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        if self.path == '/api/v1/session':
            self.answer(200, {'csrf_token': 7, 'user': {'username': None}},
                        [('Set-Cookie', 'patd_session=s; Path=/; HttpOnly')])
        elif self.path == '/api/v1/session/cli-token' and self.conflict:
            self.answer(409, {'error': 'conflict', 'message': None})
        elif self.path == '/api/v1/session/cli-token':
            self.answer(201, {} if self.token is None else {'id': 1, 'token': self.token})
        else:
            self.answer(200, {'id': 'x'})

    def do_GET(self):
        if self.path.startswith('/api/v1/scopes'):
            self.answer(200, {'scopes': [{'name': 5, 'grantable': True}, 'junk']})
        else:  # the token list of the 409 path
            self.answer(200, {'tokens': [{'name': None, 'id': 'x'}, 3]})

    def do_DELETE(self):
        self.answer(204, {})


class CliAgainstABrokenServer(unittest.TestCase):
    """Whatever a server sends, pat neither crashes nor saves a value it
    would later send as a header."""

    def login(self, token=None, conflict=False):
        handler = type('Handler', (BrokenServer,), {'token': token, 'conflict': conflict})
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        home = tempfile.mkdtemp(prefix='pat-home-')
        try:
            e = dict(os.environ, HOME=home)
            for k in ('PAT_TOKEN', 'PAT_SERVER', 'XDG_CONFIG_HOME'):
                e.pop(k, None)
            out = subprocess.run([PAT, '--server', 'http://127.0.0.1:%d' % server.server_port,
                                  'login'], input='admin\npassword-123\n', capture_output=True,
                                 text=True, env=e, timeout=60)
            saved = os.path.exists(os.path.join(home, '.config', 'pat', 'config'))
            return out, saved
        finally:
            server.shutdown()
            server.server_close()
            shutil.rmtree(home, ignore_errors=True)

    def test_missing_or_unusable_token_is_refused(self):
        for token in (None, '', 'x' * 300, 'pat_abc\r\nX-Evil: 1', 'pat abc', 42):
            out, saved = self.login(token)
            self.assertEqual(out.returncode, 1, (token, out.stderr))
            self.assertIn('pat: ', out.stderr)
            self.assertNotIn('AddressSanitizer', out.stderr)
            self.assertFalse(saved, token)

    def test_short_value_is_refused_and_wiped_safely(self):
        # Shorter than any token: refused, and the wipe of the answer is
        # bounded by its real length (ASan in make test would see an overrun).
        out, saved = self.login('t1')
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn('no usable token', out.stderr)
        self.assertNotIn('AddressSanitizer', out.stderr)
        self.assertFalse(saved)

    def test_token_of_another_prefix_is_saved(self):
        # The CLI does not know the server's prefix: any well-formed token will do.
        out, saved = self.login(well_formed_token('acme_'))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(saved)
        out, saved = self.login(well_formed_token('acme_')[:-1] + '!')
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertFalse(saved)

    def test_conflict_with_malformed_token_list_does_not_crash(self):
        out, saved = self.login(conflict=True)
        self.assertNotEqual(out.returncode, 0)
        self.assertLess(out.returncode, 128, out.stderr)  # not killed by a signal
        self.assertNotIn('AddressSanitizer', out.stderr)
        self.assertFalse(saved)


class Completion(unittest.TestCase):
    def test_bash_completes_commands_and_token_verbs(self):
        script = subprocess.run([PAT, 'completion', 'bash'], capture_output=True, text=True,
                                timeout=30)
        self.assertEqual(script.returncode, 0, script.stderr)
        # Run it in a real bash, as a shell would.
        probe = script.stdout + (
            'COMP_WORDS=(pat tok); COMP_CWORD=1; _pat; echo "${COMPREPLY[*]}"\n'
            'COMP_WORDS=(pat token re); COMP_CWORD=2; _pat; echo "${COMPREPLY[*]}"\n')
        out = subprocess.run(['bash', '-c', probe], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.splitlines(), ['token', 'regenerate'])
        zsh = subprocess.run([PAT, 'completion', 'zsh'], capture_output=True, text=True,
                             timeout=30)
        self.assertEqual(zsh.returncode, 0)
        self.assertIn('#compdef pat', zsh.stdout)
        self.assertEqual(subprocess.run([PAT, 'completion', 'fish'], capture_output=True,
                                        timeout=30).returncode, 2)

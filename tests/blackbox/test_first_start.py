"""First start, options, and that no secret reaches the data dir or the log."""
import os
import re
import time
import stat
import subprocess
import unittest

from harness import ADMIN_PASSWORD, PATD, Patd


def tree_bytes(root):
    """Every byte of every file under root."""
    chunks = []
    for d, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(d, name), 'rb') as f:
                chunks.append(f.read())
    return b''.join(chunks)


class FirstStart(unittest.TestCase):

    def test_creates_key_database_and_admin(self):
        with Patd() as p:
            key = os.path.join(p.data_dir, 'server.key')
            self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
            self.assertEqual(os.path.getsize(key), 32)
            self.assertTrue(os.path.exists(os.path.join(p.data_dir, 'patd.db')))
            p.login('admin', ADMIN_PASSWORD)
            url = 'http://127.0.0.1:%d/' % p.port
            deadline = time.time() + 10  # the port answers before the line is in the file
            while url not in p.read_out() and time.time() < deadline:
                time.sleep(0.05)
            self.assertIn(url, p.read_out())

    def test_random_admin_password_printed_once_and_works(self):
        p = Patd(env={'PATD_ADMIN_PASSWORD': ''})
        p.start()
        try:
            # The port answers a moment before the line reaches the file on a
            # loaded machine: wait for it.
            deadline = time.time() + 10
            while not re.search(r"password: (\S+)", p.read_out()) and time.time() < deadline:
                time.sleep(0.05)
            m = re.search(r"password: (\S+)", p.read_out())
            self.assertIsNotNone(m, p.read_out())
            password = m.group(1)
            p.login('admin', password)
            self.assertNotIn(password, p.read_log())
        finally:
            p.stop()
        # Second start: the admin exists, no password is printed again.
        p.start()
        try:
            self.assertNotIn('password:', p.read_out())
            p.login('admin', password)
        finally:
            p.stop()

    def test_env_variables_configure(self):
        p = Patd()
        port = p.port
        p.args = []
        p.env['PATD_TOKEN_PREFIX'] = 'acme_'
        # Listen and data dir from the command line win over the environment.
        p.env['PATD_LISTEN'] = '127.0.0.1:1'
        with p:
            s = p.login()
            t = p.create_token(s, name='prefixed')
            self.assertTrue(t['token'].startswith('acme_'))
            self.assertEqual(p.port, port)

    def test_bad_config_is_refused_with_line(self):
        p = Patd(config='listen = 127.0.0.1:1\nnonsense here\n')
        with self.assertRaises(RuntimeError) as ctx:
            p.start()
        self.assertIn('line 2', str(ctx.exception))

    def test_help(self):
        out = subprocess.run([PATD, '--help'], capture_output=True, text=True)
        self.assertEqual(out.returncode, 0)
        self.assertIn('--listen', out.stdout)
        out = subprocess.run([PATD, '--bogus'], capture_output=True, text=True)
        self.assertEqual(out.returncode, 2)


class NoCoreDumps(unittest.TestCase):

    def test_core_dumps_are_off_even_when_allowed(self):
        import resource

        def allow_cores():
            resource.setrlimit(resource.RLIMIT_CORE,
                               (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

        with Patd(preexec=allow_cores) as p:
            with open('/proc/%d/limits' % p.proc.pid) as f:
                line = [l for l in f if l.startswith('Max core file size')][0]
            self.assertEqual(line.split()[4:6], ['0', '0'], line)


class NoSecretsAtRest(unittest.TestCase):

    def test_data_dir_and_log_hold_no_token_or_password(self):
        p = Patd()
        with p:
            s = p.login()
            values = []
            t = p.create_token(s, name='secret-check')
            values.append(t['token'])
            r = p.request('POST', '/api/v1/tokens/%d/regenerate' % t['id'], {'grace_seconds': 60},
                          session=s)
            values.append(r.json['token'])
            r = p.request('POST', '/api/v1/tokens/%d/copy' % t['id'], {'name': 'copy'},
                          session=s)
            values.append(r.json['token'])
            for v in values:
                p.request('GET', '/api/v1/tokens/self', token=v)
                p.request('GET', '/api/v1/tokens/self?access_token=' + v)
            p.request('POST', '/api/v1/session', {'username': 'admin', 'password': 'wrong-one!!!'})
        blob = tree_bytes(p.data_dir) + open(p.log_path, 'rb').read()
        for v in values:
            self.assertNotIn(v.encode(), blob)
            self.assertNotIn(v[4:].encode(), blob)
        self.assertNotIn(ADMIN_PASSWORD.encode(), blob)
        self.assertNotIn(b'wrong-one!!!', blob)
        self.assertNotIn(s.cookie.encode(), blob)
        self.assertNotIn(s.csrf.encode(), blob)

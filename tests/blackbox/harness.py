"""Starts a real patd on a free port with a temporary data dir, and talks to
it over real HTTP. Used by every black-box test."""
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
import string
import unittest
import zlib

PATD = os.environ.get('PATD_BIN', os.path.join(os.path.dirname(__file__), '..', '..',
                                               'build-test', 'patd'))
ADMIN_PASSWORD = 'correct-horse-battery-staple'


def well_formed_token(prefix='pat_'):
    """A value of a token's shape (DESIGN.md: prefix, 32 base62, CRC32 in 6
    base62) that no patd issued: it passes the format check, then must be
    looked up."""
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    body = ''.join(random.choice(alphabet) for _ in range(32))
    crc, digits = zlib.crc32(body.encode()), ''
    for _ in range(6):
        crc, d = divmod(crc, 62)
        digits = alphabet[d] + digits
    return prefix + body + digits


# Which store the patd of these tests runs on: "sqlite" (a file in its data
# dir) or "postgres" (a fresh database per patd on the server at
# PATD_TEST_PG, which make test starts).
BACKEND = os.environ.get('PATD_TEST_BACKEND', 'sqlite')
PG_URL = os.environ.get('PATD_TEST_PG', '')


def psql(sql, url=None):
    """Runs sql on the test server (as its superuser) and returns stdout."""
    out = subprocess.run(['psql', '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1',
                          '-d', url or PG_URL, '-c', sql],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError('psql %r: %s' % (sql, out.stderr))
    return out.stdout.strip()


def pg_database():
    """A new, empty database on the test server; returns its URL."""
    if not PG_URL:
        raise AssertionError('PATD_TEST_PG is not set: make test starts PostgreSQL')
    name = 'bb_%d_%d' % (os.getpid(), random.randrange(1 << 30))
    psql('CREATE DATABASE %s' % name)
    return PG_URL.rsplit('/', 1)[0] + '/' + name


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else None
        except ValueError:
            self.json = None

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return '<%d %r>' % (self.status, self.body[:300])


class Patd:
    """One patd process. Use as a context manager or call start/stop."""

    def __init__(self, env=None, config=None, args=None, binary=None, preexec=None, db=None,
                 key_file=None):
        """db: a store URL (default: per BACKEND, a file in the data dir or a
        fresh PostgreSQL database). key_file: a server key shared with other
        instances on the same database."""
        self.dir = tempfile.mkdtemp(prefix='patd-bb-')
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.pop('PATD_CONFIG', None)
        self.env['PATD_ADMIN_PASSWORD'] = ADMIN_PASSWORD
        self.env.setdefault('ASAN_OPTIONS', 'detect_leaks=1:abort_on_error=0')
        # Tests fail authentication on purpose; only the rate-limit test
        # wants the limit to bite.
        self.env['PATD_AUTH_FAIL_LIMIT'] = '100000'
        self.env['PATD_LAST_USE_FLUSH_SECONDS'] = '1'
        self.env.update(env or {})
        self.args = list(args or [])
        # db='' asks for SQLite in the data dir whatever BACKEND says.
        if db is None and BACKEND == 'postgres' and '--db' not in self.args:
            db = pg_database()
        self.db = db
        if db:
            self.args += ['--db', db]
        if key_file:
            self.env['PATD_SERVER_KEY_FILE'] = key_file
        if config is not None:
            path = os.path.join(self.dir, 'patd.conf')
            with open(path, 'w') as f:
                f.write(config)
            self.args += ['--config', path]
        self.data_dir = os.path.join(self.dir, 'data')
        self.log_path = os.path.join(self.dir, 'patd.log')
        self.out_path = os.path.join(self.dir, 'patd.out')
        self.proc = None
        self.binary = binary or PATD
        self.preexec = preexec

    def start(self):
        self.log = open(self.log_path, 'wb')
        self.out = open(self.out_path, 'wb')
        self.proc = subprocess.Popen(
            [self.binary, '--listen', '127.0.0.1:%d' % self.port, '--data-dir', self.data_dir]
            + self.args, env=self.env, stdout=self.out, stderr=self.log,
            preexec_fn=self.preexec)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('patd exited: ' + self.read_log())
            try:
                if self.request('GET', '/healthz').status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('patd did not start: ' + self.read_log())

    def stop(self):
        """SIGTERM, and fail on a non-zero exit or a sanitizer report."""
        if not self.proc:
            return 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -9
        self.proc = None
        self.log.close()
        self.out.close()
        log = self.read_log()
        if 'AddressSanitizer' in log or 'runtime error:' in log or 'LeakSanitizer' in log:
            raise AssertionError('sanitizer report:\n' + log[-4000:])
        if code != 0:
            raise AssertionError('patd exited with %d:\n%s' % (code, log[-4000:]))
        return code

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def read_log(self):
        with open(self.log_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def read_out(self):
        with open(self.out_path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')

    def url(self, path=''):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def request(self, method, path, body=None, headers=None, raw=None, token=None,
                session=None, content_type='application/json'):
        """One request on a fresh connection. body is JSON-encoded; raw is
        sent as is. session is a Session whose cookie and CSRF are added."""
        h = dict(headers or {})
        data = None
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode()
        elif body is not None:
            data = json.dumps(body).encode()
        if data is not None and content_type and 'Content-Type' not in h:
            h['Content-Type'] = content_type
        if token:
            h['Authorization'] = 'Bearer ' + token
        if session:
            h.setdefault('Cookie', 'patd_session=' + session.cookie)
            if session.csrf and 'X-CSRF-Token' not in h:
                h['X-CSRF-Token'] = session.csrf
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=30)
        try:
            conn.request(method, path, body=data, headers=h)
            r = conn.getresponse()
            return Response(r.status, r.getheaders(), r.read().decode('utf-8', 'replace'))
        finally:
            conn.close()

    def login(self, username='admin', password=ADMIN_PASSWORD):
        r = self.request('POST', '/api/v1/session',
                         {'username': username, 'password': password})
        if r.status != 200:
            raise AssertionError('login failed: %r' % r)
        cookie = r.header('Set-Cookie').split(';')[0].split('=', 1)[1]
        return Session(cookie, r.json['csrf_token'])

    def wait_last_used(self, session, token_id, timeout=10):
        """The token's last_used once a flush has written it (flushes run
        every second here; a slow machine may take longer), else None."""
        deadline = time.time() + timeout
        while True:
            last = self.request('GET', '/api/v1/tokens/%d' % token_id,
                                session=session).json['last_used']
            if last or time.time() >= deadline:
                return last
            time.sleep(0.1)

    def create_token(self, session, **fields):
        fields.setdefault('scopes', ['tokens'])
        r = self.request('POST', '/api/v1/tokens', fields, session=session)
        if r.status != 201:
            raise AssertionError('create failed: %r' % r)
        return r.json


class Session:
    def __init__(self, cookie, csrf):
        self.cookie = cookie
        self.csrf = csrf


class PatdTestCase(unittest.TestCase):
    """A test class sharing one patd, signed in as admin."""
    env = None
    config = None

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd(env=cls.env, config=cls.config).start()
        cls.admin = cls.patd.login()

    @classmethod
    def tearDownClass(cls):
        cls.patd.stop()

    def req(self, *a, **kw):
        return self.patd.request(*a, **kw)

    def assertError(self, r, status, code, field=None):
        self.assertEqual(r.status, status, r)
        self.assertIsNotNone(r.json, r)
        self.assertEqual(r.json['error'], code, r)
        self.assertTrue(r.json.get('message'), r)
        if field is not None:
            self.assertEqual(r.json.get('field'), field, r)

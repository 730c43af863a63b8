"""Issue #12 as an attacker would try it, over raw sockets where Python's
HTTP client would tidy the request: connection hogging and trickling, log
forging, a database deleted under a running server, lax HTTP framing, and a
first start that could lock the operator out."""
import glob
import json
import os
import re
import resource
import socket
import subprocess
import time
import unittest

from harness import ADMIN_PASSWORD, PATD, Patd, free_port

LINE = re.compile(rb'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|warn|error|access) ')


def raw(port, data, read_for=2.0, source='127.0.0.1'):
    """Sends data on a new connection and returns what came back until the
    server closed it or read_for seconds passed, and whether it closed."""
    s = socket.socket()
    s.bind((source, 0))
    s.connect(('127.0.0.1', port))
    s.sendall(data)
    s.settimeout(0.2)
    got, closed, deadline = b'', False, time.time() + read_for
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
    s.close()
    return got, closed


def responses(data):
    return data.count(b'HTTP/1.1 ')


def body_of(data):
    """The JSON body of the first answer in data."""
    head, rest = data.split(b'\r\n\r\n', 1)
    length = int(re.search(rb'Content-Length: (\d+)', head, re.I).group(1))
    return json.loads(rest[:length])


class Connections(unittest.TestCase):

    def test_one_address_cannot_take_every_connection(self):
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        flood = min(20000, hard - 500)
        self.assertGreater(flood, 1000, 'this machine allows too few open files')
        with Patd() as p:
            socks = []
            try:
                # 127.0.0.1 is a trusted proxy: it may hold 3/4 of all.
                for _ in range(flood):
                    s = socket.socket()
                    s.setblocking(False)
                    s.connect_ex(('127.0.0.1', p.port))
                    socks.append(s)
                # The kernel finishes the handshakes, patd takes what the
                # address may hold and closes the rest.
                time.sleep(3.0)
                probe = socket.socket()
                probe.bind(('127.0.0.2', 0))
                probe.settimeout(5)
                start = time.time()
                probe.connect(('127.0.0.1', p.port))
                probe.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
                r = probe.recv(64)
                took = time.time() - start
                probe.close()
                self.assertIn(b'HTTP/1.1 200', r)
                # < 100 ms is the target (docs/operations.md); ASan and a
                # busy CI machine get ten times that.
                self.assertLess(took, 1.0)
            finally:
                for s in socks:
                    s.close()

    def test_per_address_cap_for_untrusted_clients(self):
        with Patd(env={'PATD_CONNECTIONS_PER_ADDRESS': '10'}) as p:
            held = []
            for _ in range(10):
                s = socket.socket()
                s.bind(('127.0.0.5', 0))
                s.connect(('127.0.0.1', p.port))
                held.append(s)
            time.sleep(0.3)
            r, closed = raw(p.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', read_for=2,
                            source='127.0.0.5')
            self.assertEqual(r, b'')
            self.assertTrue(closed)
            r, _ = raw(p.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', source='127.0.0.6')
            self.assertIn(b'HTTP/1.1 200', r)
            for s in held:
                s.close()
            time.sleep(0.5)
            r, _ = raw(p.port, b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', source='127.0.0.5')
            self.assertIn(b'HTTP/1.1 200', r)

    def test_trickling_client_is_dropped_at_the_deadline(self):
        with Patd(env={'PATD_REQUEST_DEADLINE_SECONDS': '2'}) as p:
            s = socket.socket()
            s.connect(('127.0.0.1', p.port))
            s.sendall(b'GET /healthz HTTP/1.1\r\nHost: x\r\n')
            start, closed = time.time(), False
            s.settimeout(0.5)
            while time.time() - start < 10:
                try:
                    s.sendall(b'X')  # one byte of a header, every half second
                    if s.recv(1) == b'':
                        closed = True
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed = True
                    break
            took = time.time() - start
            s.close()
            self.assertTrue(closed)
            self.assertGreater(took, 1.5)
            self.assertLess(took, 5)


class Logs(unittest.TestCase):

    def test_no_request_can_forge_a_line_or_reach_a_terminal(self):
        with Patd() as p:
            raw(p.port, b'GET /x%0aFORGED%20access%20GET%20/api/v1/users%20200 HTTP/1.1\r\n'
                        b'Host: x\r\n\r\n', read_for=1)
            raw(p.port, b'GET /y%1b[2J%5c HTTP/1.1\r\nHost: x\r\n\r\n', read_for=1)
            raw(p.port, b'GARBAGE\r\n\r\n', read_for=1)  # libmicrohttpd speaks up
            time.sleep(1.5)
        with open(p.log_path, 'rb') as f:
            lines = f.read().splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, LINE)
            self.assertNotIn(b'\x1b', line)
        self.assertTrue(any(b'/x\\x0aFORGED' in line for line in lines), lines)
        self.assertTrue(any(b'/y\\x1b[2J\\\\' in line for line in lines), lines)

    def test_json_lines(self):
        with Patd(env={'PATD_LOG_FORMAT': 'json'}) as p:
            raw(p.port, b'GET /x%0a%22quote HTTP/1.1\r\nHost: x\r\n\r\n', read_for=1)
            raw(p.port, b'GET /z%ff HTTP/1.1\r\nHost: x\r\n\r\n', read_for=1)
            time.sleep(1.5)
        with open(p.log_path, 'rb') as f:
            lines = f.read().splitlines()
        objs = [json.loads(line) for line in lines]
        for o in objs:
            self.assertIn('time', o)
            self.assertIn(o['level'], ('info', 'warn', 'error', 'access'))
        paths = [o['path'] for o in objs if o['level'] == 'access']
        self.assertIn('/x\n"quote', paths)
        self.assertIn('/z\\xff', paths)


class Storage(unittest.TestCase):

    def test_deleted_database_refuses_writes(self):
        with Patd() as p:
            s = p.login()
            self.assertEqual(p.request('GET', '/readyz').status, 200)
            for f in glob.glob(os.path.join(p.data_dir, 'patd.db*')):
                os.unlink(f)
            r = p.request('POST', '/api/v1/tokens', {'name': 'lost', 'scopes': ['tokens']},
                          session=s)
            self.assertEqual(r.status, 503, r)
            self.assertEqual(r.json['error'], 'unavailable')
            self.assertIn('moved or deleted', r.json['message'])
            ready = p.request('GET', '/readyz')
            self.assertEqual(ready.status, 503)
            self.assertEqual(ready.json['error'], 'unavailable')


class Framing(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.patd = Patd().start()
        s = cls.patd.login()
        cls.token = cls.patd.create_token(s, name='framing')['token'].encode()

    @classmethod
    def tearDownClass(cls):
        cls.patd.stop()

    def send(self, data):
        return raw(self.patd.port, data)

    def test_two_authorization_headers_are_refused(self):
        r, _ = self.send(b'GET /api/v1/tokens/self HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer '
                         + self.token + b'\r\nAuthorization: Bearer pat_x\r\n\r\n')
        self.assertIn(b'HTTP/1.1 400', r)
        self.assertEqual(body_of(r)['error'], 'invalid_request')

    def test_conflicting_content_lengths_close_the_connection(self):
        smuggled = b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
        r, closed = self.send(b'POST /api/v1/session HTTP/1.1\r\nHost: x\r\n'
                              b'Content-Type: application/json\r\nContent-Length: 2\r\n'
                              b'Content-Length: ' + str(2 + len(smuggled)).encode() +
                              b'\r\n\r\n{}' + smuggled)
        self.assertIn(b'HTTP/1.1 400', r)
        self.assertEqual(responses(r), 1)  # the smuggled request is never served
        self.assertTrue(closed)

    def test_length_with_transfer_encoding_closes_the_connection(self):
        r, closed = self.send(b'POST /api/v1/session HTTP/1.1\r\nHost: x\r\n'
                              b'Content-Type: application/json\r\nContent-Length: 4\r\n'
                              b'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n'
                              b'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
        self.assertIn(b'HTTP/1.1 400', r)
        self.assertEqual(responses(r), 1)
        self.assertTrue(closed)

    def test_http11_without_host_is_refused(self):
        r, _ = self.send(b'GET /healthz HTTP/1.1\r\n\r\n')
        self.assertIn(b'HTTP/1.1 400', r)
        self.assertEqual(body_of(r)['error'], 'invalid_request')
        r, _ = self.send(b'GET /healthz HTTP/1.0\r\n\r\n')
        self.assertIn(b' 200 ', r)


class BodiesFuzzedHard(unittest.TestCase):
    """What the bodies fuzz target found: an error message that quotes the
    client cut inside a UTF-8 character (an unknown field's name at 60
    bytes) could not be written as JSON, and patd abort()ed."""

    def test_an_error_quoting_client_text_cut_inside_a_character_is_answered(self):
        with Patd() as p:
            s = p.login()
            for cut in range(55, 66):
                name = 'a' * cut + '\u00e9\u20ac' * 3
                r = p.request('POST', '/api/v1/orgs', {name: 1}, session=s)
                self.assertEqual(r.status, 400, r)
                self.assertEqual(r.json['error'], 'invalid_request')
                self.assertTrue(r.json['message'].startswith('unknown field aaaa'), r)
                self.assertNotIn('\ufffd', r.json['message'])  # '?' stands for a cut byte
            for cut in range(55, 66):  # the field's name too, cut at 63 bytes
                r = p.request('POST', '/api/v1/orgs', {'a' * cut + '\u20ac' * 3: 1}, session=s)
                self.assertTrue(r.json['field'].startswith('aaaa'), r)
            for body in (b'{"a": 1}\\\x055\xefnU\x00\x00', b'\xff\xfe{', b'{"a": "\xc3"}'):
                r = p.request('POST', '/api/v1/orgs', raw=body, session=s)
                self.assertEqual(r.status, 400, r)
                self.assertNotIn('\x00', r.json['message'])
            r = p.request('POST', '/oauth/token', raw=b'grant_type=\xff\xfe', headers={
                'Content-Type': 'application/x-www-form-urlencoded'})
            self.assertEqual(r.status, 400, r)
            self.assertIsNone(p.proc.poll())


class FirstStart(unittest.TestCase):

    def test_a_busy_port_creates_no_account(self):
        busy = socket.socket()
        busy.bind(('127.0.0.1', 0))
        busy.listen(1)
        p = Patd(env={'PATD_ADMIN_PASSWORD': ''})
        p.port = busy.getsockname()[1]
        with self.assertRaises(RuntimeError):
            p.start()
        busy.close()
        self.assertNotIn('password', p.read_out())
        p.port = free_port()
        p.start()
        try:
            # The port answers a moment before the line reaches the file.
            deadline = time.time() + 10
            while time.time() < deadline and not re.search(r"password: (\S+)", p.read_out()):
                time.sleep(0.05)
            m = re.search(r"password: (\S+)", p.read_out())
            self.assertIsNotNone(m, p.read_out())
            p.login('admin', m.group(1))
        finally:
            p.stop()

    def test_reset_password_while_running(self):
        with Patd() as p:
            s = p.login()
            out = subprocess.run([PATD, '--data-dir', p.data_dir, 'admin', 'reset-password',
                                  'admin'], capture_output=True, text=True, timeout=60,
                                 env=p.env)
            self.assertEqual(out.returncode, 0, out.stderr)
            new = re.search(r'new password for admin: (\S+)', out.stdout).group(1)
            self.assertNotIn(new, out.stderr)
            # Signed out everywhere, the old password no longer works.
            self.assertEqual(p.request('GET', '/api/v1/session', session=s).status, 401)
            r = p.request('POST', '/api/v1/session', {'username': 'admin',
                                                      'password': ADMIN_PASSWORD})
            self.assertEqual(r.status, 401)
            p.login('admin', new)
            self.assertNotIn(new, p.read_log())
            out = subprocess.run([PATD, '--data-dir', p.data_dir, 'admin', 'reset-password',
                                  'nobody'], capture_output=True, text=True, timeout=60,
                                 env=p.env)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn('no user named nobody', out.stderr)

"""SIGHUP (#18 part 5): patd reads its configuration again and puts scopes,
sets, route rules and audiences in force without dropping a connection; a
configuration that does not parse changes nothing; a log file moved away
(logrotate) is followed by a new one at the configured path."""
import http.client
import os
import signal
import subprocess
import tempfile
import time
import unittest

from harness import Patd

BEFORE = """
[scope a:read]
description = Read A
"""
AFTER = """
route = GET /api/b/* b:write
[scope a:read]
description = Read A
[scope b:write]
description = Write B
[set B]
description = All of B
scopes = a:read b:write
"""


class Reload(unittest.TestCase):
    def test_sighup_applies_a_new_configuration_and_keeps_connections(self):
        p = Patd(config=BEFORE).start()
        try:
            admin = p.login()
            t = p.create_token(admin, name='reload', scopes=['a:read'])
            conn = http.client.HTTPConnection('127.0.0.1', p.port, timeout=30)

            def auth(path):
                conn.request('GET', '/auth', headers={
                    'Authorization': 'Bearer ' + t['token'], 'X-Original-Method': 'GET',
                    'X-Original-URI': path})
                r = conn.getresponse()
                r.read()
                return r.status
            self.assertEqual(auth('/api/b/1'), 204)  # no rule yet
            with open(os.path.join(p.dir, 'patd.conf'), 'w') as f:
                f.write(AFTER)
            p.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            names = []
            while time.time() < deadline:
                names = [s['name'] for s in p.request('GET', '/api/v1/scopes',
                                                      session=admin).json['scopes']]
                if 'b:write' in names:
                    break
                time.sleep(0.1)
            self.assertIn('b:write', names)
            # The same connection, still open, now meets the new route rule.
            self.assertEqual(auth('/api/b/1'), 403)
            self.assertEqual(auth('/api/a/1'), 204)
            sets = p.request('GET', '/api/v1/scopes', session=admin).json['sets']
            self.assertIn('B', [s['name'] for s in sets])
            r = p.create_token(admin, name='with-b', scopes=['b:write'])
            self.assertEqual(r['scopes'], ['b:write'])
            # A broken file changes nothing; patd keeps serving.
            with open(os.path.join(p.dir, 'patd.conf'), 'w') as f:
                f.write('[scope broken\n')
            p.proc.send_signal(signal.SIGHUP)
            time.sleep(1)
            self.assertIsNone(p.proc.poll())
            self.assertEqual(auth('/api/b/1'), 403)
            conn.close()
            self.assertIn('reload:', p.read_log())
        finally:
            p.stop()

    def test_sighup_reopens_the_log_file_after_it_was_moved(self):
        log = os.path.join(tempfile.mkdtemp(prefix='patd-log-'), 'patd.log')
        p = Patd(config='log_file = %s\n' % log).start()
        try:
            p.request('GET', '/healthz/moved-away')
            deadline = time.time() + 10
            while time.time() < deadline and '/healthz/moved-away' not in _read(log):
                time.sleep(0.1)
            self.assertIn('/healthz/moved-away', _read(log))
            self.assertEqual(os.stat(log).st_mode & 0o777, 0o600)
            os.rename(log, log + '.1')
            p.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and 'reload:' not in _read(log):
                time.sleep(0.1)
            p.request('GET', '/healthz/after-rotation')
            deadline = time.time() + 10
            while time.time() < deadline and '/healthz/after-rotation' not in _read(log):
                time.sleep(0.1)
            self.assertIn('/healthz/after-rotation', _read(log))
            self.assertNotIn('/healthz/after-rotation', _read(log + '.1'))
            self.assertNotIn('/healthz/moved-away', _read(log))
            # A path that cannot be opened keeps the current file.
            with open(os.path.join(p.dir, 'patd.conf'), 'w') as f:
                f.write('log_file = /nonexistent/dir/patd.log\n')
            p.proc.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and 'logging where it did' not in _read(log):
                time.sleep(0.1)
            self.assertIn('cannot open log file /nonexistent/dir/patd.log', _read(log))
            self.assertIsNone(p.proc.poll())
            # An operator's one-off command answers on the terminal, not in the file.
            with open(os.path.join(p.dir, 'patd.conf'), 'w') as f:
                f.write('log_file = %s\n' % log)
            out = subprocess.run([p.binary, '--config', os.path.join(p.dir, 'patd.conf'),
                                  '--data-dir', p.data_dir, 'admin', 'reset-password', 'nobody'] +
                                 p.args[:-2], env=p.env, capture_output=True, text=True, timeout=60)
            self.assertNotEqual(out.returncode, 0)
            self.assertIn('nobody', out.stderr)
            self.assertNotIn('nobody', _read(log))
        finally:
            p.stop()
        # Sanitizer reports went to the file too.
        self.assertNotIn('Sanitizer', _read(log) + _read(log + '.1'))
        self.assertNotIn('runtime error:', _read(log) + _read(log + '.1'))

    def test_a_log_file_that_cannot_be_opened_stops_the_start(self):
        p = Patd(config='log_file = /nonexistent/dir/patd.log\n')
        with self.assertRaises(Exception):
            p.start()
        self.assertIn('cannot open log file', p.read_log())


def _read(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as f:
            return f.read()
    except FileNotFoundError:
        return ''


if __name__ == '__main__':
    unittest.main()

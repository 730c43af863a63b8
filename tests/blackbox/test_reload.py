"""SIGHUP (#18 part 5): patd reads its configuration again and puts scopes,
sets, route rules and audiences in force without dropping a connection; a
configuration that does not parse changes nothing."""
import http.client
import os
import signal
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


if __name__ == '__main__':
    unittest.main()

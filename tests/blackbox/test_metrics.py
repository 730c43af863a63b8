"""GET /metrics after a busy run passes Prometheus's own linter
(promtool check metrics, Debian's prometheus package): names, _total
suffixes, HELP and TYPE on every family, units."""
import shutil
import subprocess

from harness import PatdTestCase, well_formed_token

PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'


class Metrics(PatdTestCase):
    def test_promtool_finds_no_problem(self):
        t = self.patd.create_token(self.admin, name='busy')['token']
        for _ in range(20):
            self.req('GET', '/auth', headers={'Authorization': 'Bearer ' + t})
        for value in (well_formed_token(), 'pat_malformed'):
            self.req('GET', '/auth', headers={'Authorization': 'Bearer ' + value})
        self.req('GET', '/api/v1/tokens', session=self.admin)
        self.req('GET', '/no/such/path')
        body = self.req('GET', '/metrics').body
        self.assertIn('patd_verify_total{outcome="ok"}', body)
        self.assertIn('patd_live_filter_rejected_total', body)
        out = subprocess.run([PROMTOOL, 'check', 'metrics'], input=body, capture_output=True,
                             text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertEqual(out.stdout + out.stderr, '')

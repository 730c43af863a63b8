"""The Debian package (#18 part 5): `make deb` builds it with
dpkg-buildpackage, lintian finds no error, it holds what an installation
needs, and its systemd unit is hardened to an exposure of 2.0 or lower
(systemd-analyze security, offline)."""
import os
import re
import subprocess
import unittest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


class Package(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        r = subprocess.run(['make', '-C', ROOT, '--no-print-directory', 'deb'],
                           capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise AssertionError('make deb failed:\n' + r.stdout[-3000:] + r.stderr[-3000:])
        debs = [f for f in os.listdir(os.path.join(ROOT, 'build-deb'))
                if re.match(r'patd_[^_]+_[a-z0-9]+\.deb$', f)]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(ROOT, 'build-deb', debs[0])

    def test_lintian_finds_no_error(self):
        r = subprocess.run(['lintian', '--fail-on', 'error', self.deb], capture_output=True,
                           text=True, timeout=600)
        errors = [line for line in r.stdout.splitlines() if line.startswith('E:')]
        self.assertEqual(errors, [], r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_it_holds_what_an_installation_needs(self):
        files = subprocess.run(['dpkg-deb', '-c', self.deb], capture_output=True, text=True,
                               check=True).stdout
        for path in ('./usr/bin/patd', './usr/bin/pat', './etc/patd/patd.conf',
                     './lib/systemd/system/patd.service', './usr/share/man/man1/pat.1.gz',
                     './usr/share/man/man8/patd.8.gz', './usr/share/doc/patd/copyright'):
            self.assertIn(path + '\n', files + '\n', files)
        conffiles = subprocess.run(['dpkg-deb', '-f', self.deb, 'Package'], capture_output=True,
                                   text=True, check=True).stdout.strip()
        self.assertEqual(conffiles, 'patd')
        control = subprocess.run(['dpkg-deb', '-I', self.deb, 'conffiles'], capture_output=True,
                                 text=True).stdout
        self.assertIn('/etc/patd/patd.conf', control)

    def test_the_unit_is_hardened(self):
        unit = os.path.join(ROOT, 'debian', 'patd.service')
        r = subprocess.run(['systemd-analyze', 'security', '--offline=true', unit],
                           capture_output=True, text=True, timeout=120)
        m = re.search(r'Overall exposure level for patd\.service: ([0-9.]+)', r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0, r.stdout)
        with open(unit) as f:
            text = f.read()
        for line in ('DynamicUser=yes', 'StateDirectory=patd', 'ProtectSystem=strict',
                     'NoNewPrivileges=yes', 'CapabilityBoundingSet=\n',
                     'SystemCallFilter=@system-service', 'MemoryDenyWriteExecute=yes',
                     'ExecReload=/bin/kill -HUP $MAINPID'):
            self.assertIn(line, text)


if __name__ == '__main__':
    unittest.main()

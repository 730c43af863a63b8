"""Scale-out on PostgreSQL (#13): two or three patd processes on one
database, as behind a load balancer. Needs the PostgreSQL make test starts
(PATD_TEST_PG); these tests make their own databases on it, and the fault
test its own server."""
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

from harness import ADMIN_PASSWORD, Patd, free_port, pg_database, psql, well_formed_token

HERE = os.path.dirname(os.path.abspath(__file__))
PG_SH = os.path.join(HERE, '..', '..', 'tools', 'pg.sh')


def instances(n, db=None, env=None, **kw):
    """n patd on one (new) database, sharing the first one's server key."""
    db = db or pg_database()
    first = Patd(db=db, env=env, **kw)
    key = os.path.join(first.data_dir, 'server.key')
    first.start()
    rest = [Patd(db=db, key_file=key, env=env, **kw).start() for _ in range(n - 1)]
    return [first] + rest


_names = iter(range(1, 1 << 30))


def fresh():
    return 'token-%d' % next(_names)


OK = 204  # /auth lets a request through


def auth(p, token):
    return p.request('GET', '/auth', headers={'Authorization': 'Bearer ' + token}).status


def until(fn, want, timeout):
    """Calls fn until it returns want; the seconds it took, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if fn() == want:
            return time.monotonic() - start
        time.sleep(0.002)
    return None


class ScaleOut(unittest.TestCase):
    def setUp(self):
        # Uses reach the store once quiet for a granularity: 1 s here.
        # One public URL, as behind a load balancer (the JWTs' issuer).
        self.a, self.b = instances(2, env={'PATD_CACHE_STALE_SECONDS': '2',
                                           'PATD_LAST_USE_GRANULARITY_SECONDS': '1',
                                           'PATD_PUBLIC_URL': 'https://tokens.example.com'})
        self.admin = self.a.login()

    def tearDown(self):
        self.a.stop()
        self.b.stop()

    def req(self, method, path, body=None, session=None, p=None):
        p = p or self.a
        session = session or self.admin
        r = p.request(method, path, body, session=session)
        if r.status == 403 and r.json and r.json.get('error') == 'confirmation_required':
            p.request('POST', '/api/v1/session/confirm', {'password': ADMIN_PASSWORD},
                      session=session)
            r = p.request(method, path, body, session=session)
        return r

    def test_a_token_made_on_one_instance_works_at_once_on_another(self):
        for _ in range(20):
            t = self.a.create_token(self.admin, name=fresh())
            # The first use on B, right after A answered: B's live filter may
            # not have heard yet, and must ask before refusing.
            self.assertEqual(auth(self.b, t['token']), OK)

    def test_over_its_failure_limit_a_client_still_gets_a_token_made_elsewhere(self):
        # B's client is over its failure limit: a value B's live filter has
        # not heard of is settled by reading the feed, not a store query; a
        # token made on A a moment ago is in it, and is served.
        a, b = instances(2, env={'PATD_AUTH_FAIL_LIMIT': '5'})
        try:
            admin = a.login()
            codes = [auth(b, well_formed_token()) for _ in range(8)]
            self.assertEqual(codes[:5], [401] * 5)
            self.assertEqual(codes[-1], 429)
            for _ in range(5):
                t = a.create_token(admin, name=fresh())
                self.assertEqual(auth(b, t['token']), OK)
            self.assertEqual(auth(b, well_formed_token()), 429)
        finally:
            a.stop()
            b.stop()

    def test_unknown_values_wait_for_the_feed_together_and_new_tokens_pass(self):
        # Values B's live filter does not know are set aside until B's next
        # read of the feed (one read for all waiting, HTTP threads free
        # meanwhile): under a flood of them from many connections, every
        # one is refused, and tokens made on A a moment ago are served.
        def deferred():
            body = self.b.request('GET', '/metrics').body
            line = [l for l in body.splitlines() if l.startswith('patd_verify_deferred_total ')]
            return int(line[0].split()[1])

        before = deferred()
        codes, stop = [], threading.Event()

        def flood():
            while not stop.is_set():
                codes.append(auth(self.b, well_formed_token()))

        threads = [threading.Thread(target=flood) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            for _ in range(20):
                t = self.a.create_token(self.admin, name=fresh())
                self.assertEqual(auth(self.b, t['token']), OK)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertGreater(len(codes), 20)
        # 429 once the address is over its failure limit; never anything else.
        self.assertLessEqual(set(codes), {401, 429})
        self.assertIn(401, codes)
        self.assertGreater(deferred() - before, 0)

    def test_an_instance_stops_cleanly_with_values_set_aside(self):
        # Stopping while requests wait for the feed: each is answered or its
        # connection closed, and the process exits 0 without a sanitizer
        # report (stop() asserts both); libmicrohttpd must never stop with a
        # connection suspended.
        stop = threading.Event()

        def flood():
            while not stop.is_set():
                try:
                    auth(self.b, well_formed_token())
                except Exception:  # refused, reset or cut short: the server is going
                    pass

        threads = [threading.Thread(target=flood) for _ in range(8)]
        for t in threads:
            t.start()
        try:
            time.sleep(1)
            self.assertEqual(self.b.stop(), 0)
        finally:
            stop.set()
            for t in threads:
                t.join()

    def test_every_revocation_on_a_is_refused_by_b_within_a_second(self):
        member = self.req('POST', '/api/v1/users',
                          {'username': 'rita', 'password': 'rita-password-1234'}).json
        rita = self.a.login('rita', 'rita-password-1234')

        def delete(t):
            return self.req('DELETE', '/api/v1/tokens/%d' % t['id'], session=rita)

        def disable(t):
            return self.req('POST', '/api/v1/tokens/%d/disable' % t['id'], session=rita)

        def regenerate(t):
            return self.req('POST', '/api/v1/tokens/%d/regenerate' % t['id'], session=rita)

        def withdraw(t):
            return self.req('PATCH', '/api/v1/users/%d' % member['id'],
                            {'can_manage_tokens': False})

        def disable_account(t):
            return self.req('PATCH', '/api/v1/users/%d' % member['id'], {'disabled': True})

        def restore():
            r = self.req('PATCH', '/api/v1/users/%d' % member['id'],
                         {'can_manage_tokens': True, 'disabled': False})
            self.assertEqual(r.status, 200, r)

        kinds = [delete, disable, regenerate, withdraw, disable_account]
        delays = []
        for i in range(200):
            revoke = kinds[i % len(kinds)]
            t = self.a.create_token(rita, name='round-%d' % i)
            # Cached on B first: the revocation must reach B's cache.
            self.assertEqual(auth(self.b, t['token']), OK)
            r = revoke(t)
            self.assertIn(r.status, (200, 204), (revoke.__name__, r))
            took = until(lambda: auth(self.b, t['token']), 401, 1.0)
            self.assertIsNotNone(took, 'round %d: B accepted a token %s on A for over 1 s'
                                 % (i, revoke.__name__))
            delays.append(took)
            if revoke in (withdraw, disable_account):
                restore()
                rita = self.a.login('rita', 'rita-password-1234')
        delays.sort()
        print('\n  revocation A->B over %d rounds: p50 %.1f ms, p99 %.1f ms, max %.1f ms'
              % (len(delays), 1000 * statistics.median(delays),
                 1000 * delays[int(len(delays) * 0.99) - 1], 1000 * delays[-1]))

    def test_listener_killed_revocation_still_reaches_b(self):
        t = self.a.create_token(self.admin, name=fresh())
        self.assertEqual(auth(self.b, t['token']), OK)
        killed = psql("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity "
                      "WHERE datname = '%s' AND application_name = 'patd' "
                      "AND query = 'LISTEN patd_changes'" % self.a.db.rsplit('/', 1)[1])
        self.assertEqual(killed, '2')  # A's and B's
        self.assertEqual(self.req('DELETE', '/api/v1/tokens/%d' % t['id']).status, 204)
        # Not within milliseconds (nobody was listening) but within the
        # follower's poll, and well inside cache_stale_seconds (2 here).
        took = until(lambda: auth(self.b, t['token']), 401, 2.0)
        self.assertIsNotNone(took, 'B accepted a deleted token past cache_stale_seconds')
        # Not ready while not listening (API.md), ready again once it is.
        self.assertIsNotNone(until(lambda: self.b.request('GET', '/readyz').status, 200, 10))
        # The listener comes back by itself, and B refuses in milliseconds
        # again.
        deadline = time.time() + 10
        while time.time() < deadline and 'listening again' not in self.b.read_log():
            time.sleep(0.1)
        self.assertIn('listening again', self.b.read_log())
        t = self.a.create_token(self.admin, name=fresh())
        self.assertEqual(auth(self.b, t['token']), OK)
        self.req('DELETE', '/api/v1/tokens/%d' % t['id'])
        self.assertIsNotNone(until(lambda: auth(self.b, t['token']), 401, 1.0))

    def test_not_ready_while_the_listener_cannot_listen(self):
        dbname = self.b.db.rsplit('/', 1)[1]
        # Every HTTP thread of B opens its connection now, while it can.
        warm = [threading.Thread(target=lambda: [self.b.request('GET', '/readyz')
                                                 for _ in range(20)]) for _ in range(8)]
        for th in warm:
            th.start()
        for th in warm:
            th.join()
        self.assertEqual(self.b.request('GET', '/readyz').status, 200)
        # New connections refused, only the listeners' cut: the instances'
        # other connections still work, the listeners cannot come back.
        psql('ALTER DATABASE %s ALLOW_CONNECTIONS false' % dbname)
        try:
            psql("SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
                 "'%s' AND query = 'LISTEN patd_changes'" % dbname)
            r = None
            deadline = time.time() + 5
            while time.time() < deadline:
                r = self.b.request('GET', '/readyz')
                if r.status == 503:
                    break
                time.sleep(0.05)
            self.assertEqual(r.status, 503, r)
            self.assertIn('listening', r.json['message'])
        finally:
            psql('ALTER DATABASE %s ALLOW_CONNECTIONS true' % dbname)
        self.assertIsNotNone(until(lambda: self.b.request('GET', '/readyz').status, 200, 10))

    def test_a_jwt_from_a_is_refused_by_b_once_its_pat_is_revoked_on_a(self):
        t = self.a.create_token(self.admin, name=fresh())
        jwt = self.a.request('POST', '/oauth/token', raw=urllib.parse.urlencode({
            'grant_type': 'urn:ietf:params:oauth:grant-type:token-exchange',
            'subject_token': t['token'],
            'subject_token_type': 'urn:ietf:params:oauth:token-type:access_token'}),
            content_type='application/x-www-form-urlencoded').json['access_token']
        # The instances share keys (one database): B verifies A's JWT (and
        # keeps it in its JWT cache), and refuses it once A revokes the PAT.
        for _ in range(3):
            self.assertEqual(auth(self.b, jwt), OK)
        self.assertEqual(self.req('DELETE', '/api/v1/tokens/%d' % t['id']).status, 204)
        self.assertIsNotNone(until(lambda: auth(self.b, jwt), 401, 1.0))

    def test_last_use_adds_up_across_instances(self):
        t = self.a.create_token(self.admin, name=fresh())
        for _ in range(3):
            self.assertEqual(auth(self.a, t['token']), OK)
        for _ in range(5):
            self.assertEqual(auth(self.b, t['token']), OK)
        deadline = time.time() + 15
        count = None
        while time.time() < deadline:
            count = self.req('GET', '/api/v1/tokens/%d' % t['id']).json['use_count']
            if count == 8:
                break
            time.sleep(0.2)
        self.assertEqual(count, 8)

    def test_a_console_session_works_on_every_instance(self):
        r = self.b.request('GET', '/api/v1/tokens', session=self.admin)
        self.assertEqual(r.status, 200, r)
        self.assertIn(self.b.request('DELETE', '/api/v1/session', session=self.admin).status,
                      (200, 204))
        self.assertEqual(self.a.request('GET', '/api/v1/tokens', session=self.admin).status, 401)


class Starting(unittest.TestCase):
    def test_instances_starting_together_migrate_once(self):
        db = pg_database()
        first = Patd(db=db)
        key_dir = tempfile.mkdtemp(prefix='patd-key-')
        key = os.path.join(key_dir, 'server.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(32))
        ps = [Patd(db=db, key_file=key) for _ in range(3)]
        del first
        threads = [threading.Thread(target=p.start) for p in ps]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        try:
            for p in ps:
                self.assertEqual(p.request('GET', '/readyz').status, 200)
            counts = psql('SELECT COUNT(*), COUNT(DISTINCT version) FROM schema_migrations',
                          url=db).split('|')
            self.assertEqual(counts[0], counts[1])
            self.assertEqual(psql('SELECT COUNT(*) FROM signing_keys', url=db), '1')
            self.assertEqual(psql("SELECT COUNT(*) FROM users WHERE role = 'superuser'", url=db),
                             '1')
        finally:
            for p in ps:
                p.stop()
            shutil.rmtree(key_dir)

    def test_a_multi_host_url_finds_the_writable_server(self):
        # libpq tries the hosts in turn; the first is down, the second is the
        # primary: patd serves, as after a failover.
        url = pg_database()
        rest = url.split('://', 1)[1]
        user, hostport_db = rest.split('@', 1)
        hostport, dbname = hostport_db.split('/', 1)
        dead = '127.0.0.1:%d' % free_port()
        multi = 'postgresql://%s@%s,%s/%s?target_session_attrs=read-write&connect_timeout=2' % (
            user, dead, hostport, dbname)
        with Patd(db=multi) as p:
            self.assertEqual(p.request('GET', '/readyz').status, 200)
            s = p.login()
            t = p.create_token(s, name='after-failover')
            self.assertEqual(auth(p, t['token']), OK)

    def test_an_instance_with_another_key_refuses_to_start(self):
        db = pg_database()
        with Patd(db=db):
            other = Patd(db=db)
            with self.assertRaises(RuntimeError) as e:
                other.start()
            self.assertIn('server key', str(e.exception))
            self.assertIn('server_key_file', str(e.exception))


class PostgresStops(unittest.TestCase):
    """A server of its own, stopped and started under load."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='patd-pg-')
        out = subprocess.run(['bash', PG_SH, 'start', self.dir], capture_output=True, text=True,
                             timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.url = out.stdout.strip()

    def tearDown(self):
        subprocess.run(['bash', PG_SH, 'stop', self.dir], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_503_while_down_never_active_and_back_without_restart(self):
        a, b = instances(2, db=self.url, env={'PATD_CACHE_STALE_SECONDS': '2'})
        try:
            admin = a.login()
            cached = a.create_token(admin, name='cached')
            revoked = a.create_token(admin, name='revoked')
            uncached = a.create_token(admin, name='uncached')
            for p in (a, b):
                self.assertEqual(auth(p, cached['token']), OK)
                self.assertEqual(auth(p, revoked['token']), OK)
            r = a.request('DELETE', '/api/v1/tokens/%d' % revoked['id'], session=admin)
            self.assertEqual(r.status, 204, r)
            self.assertIsNotNone(until(lambda: auth(b, revoked['token']), 401, 1.0))

            # Load on both while the server goes away.
            stop = threading.Event()
            seen = {'bad': []}

            def load(p):
                while not stop.is_set():
                    for tok in (revoked['token'], well_formed_token()):
                        s = auth(p, tok)
                        if s == OK:
                            seen['bad'].append((p.port, tok[:10]))
            loaders = [threading.Thread(target=load, args=(p,)) for p in (a, b)]
            for th in loaders:
                th.start()
            subprocess.run(['bash', PG_SH, 'stop', self.dir], check=True, timeout=60)
            stopped = time.monotonic()
            # /readyz says so within 2 s.
            took = until(lambda: b.request('GET', '/readyz').status, 503, 2.0)
            self.assertIsNotNone(took, '/readyz still 200 2 s after PostgreSQL stopped')
            # Uncached: never 200 now (503: the store cannot tell).
            for p in (a, b):
                self.assertIn(auth(p, uncached['token']), (503,))
                s = p.request('GET', '/api/v1/tokens', session=admin)
                self.assertEqual(s.status, 503, s)
                self.assertEqual(s.json['error'], 'unavailable')
            # Cached: served at most cache_stale_seconds (2), then 503.
            time.sleep(max(0.0, 2.5 - (time.monotonic() - stopped)))
            for p in (a, b):
                self.assertEqual(auth(p, cached['token']), 503)
                self.assertIn('patd_cache_trusted 0', p.request('GET', '/metrics').body)
            stop.set()
            for th in loaders:
                th.join()
            self.assertEqual(seen['bad'], [], 'a revoked or unknown token got 200')

            subprocess.run(['bash', PG_SH, 'restart', self.dir], check=True, timeout=120,
                           capture_output=True)
            for p in (a, b):
                self.assertIsNotNone(until(lambda: auth(p, cached['token']), OK, 10),
                                     'no recovery without a restart')
                # Ready once its listener is back too.
                self.assertIsNotNone(until(lambda: p.request('GET', '/readyz').status, 200, 10))
                self.assertEqual(auth(p, revoked['token']), 401)
                self.assertEqual(auth(p, uncached['token']), OK)
                self.assertIn('patd_cache_trusted 1', p.request('GET', '/metrics').body)
        finally:
            a.stop()
            b.stop()


if __name__ == '__main__':
    unittest.main()


class StoreCopy(unittest.TestCase):
    """patd store copy: an installation moves from SQLite to PostgreSQL."""

    def copy(self, src, dst):
        from harness import PATD
        return subprocess.run([PATD, 'store', 'copy', '--from', src, '--to', dst],
                              capture_output=True, text=True, timeout=120)

    def test_everything_moves_and_works_on_postgres(self):
        # One public URL before and after the move: it is the JWTs' issuer.
        url = {'PATD_PUBLIC_URL': 'https://tokens.example.com'}
        old = Patd(db='', env=url).start()  # SQLite in its data dir, whatever the backend
        admin = old.login()
        kept = old.create_token(admin, name='kept', scopes=['tokens'])
        gone = old.create_token(admin, name='gone')
        self.assertEqual(old.request('DELETE', '/api/v1/tokens/%d' % gone['id'],
                                     session=admin).status, 204)
        self.assertEqual(auth(old, kept['token']), OK)
        old.request('POST', '/api/v1/users', {'username': 'vic', 'password': 'vic-password-123'},
                    session=admin)
        jwt = old.request('POST', '/oauth/token', raw=urllib.parse.urlencode({
            'grant_type': 'urn:ietf:params:oauth:grant-type:token-exchange',
            'subject_token': kept['token'],
            'subject_token_type': 'urn:ietf:params:oauth:token-type:access_token'}),
            content_type='application/x-www-form-urlencoded').json['access_token']
        old.stop()  # flushes last use
        sqlite = 'sqlite:' + os.path.join(old.data_dir, 'patd.db')
        db = pg_database()

        out = self.copy(sqlite, db)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('copied 2 people, 1 tokens', out.stdout)
        self.assertIn('the counts match', out.stdout)
        # Never into a store that holds people.
        again = self.copy(sqlite, db)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn('already holds people', again.stderr)

        new = Patd(db=db, key_file=os.path.join(old.data_dir, 'server.key'), env=url).start()
        try:
            # The token, its use, the session and the audit log came along.
            self.assertEqual(auth(new, kept['token']), OK)
            self.assertEqual(auth(new, gone['token']), 401)
            # The signing keys came along: a JWT made before the move verifies.
            self.assertEqual(auth(new, jwt), OK)
            r = new.request('GET', '/api/v1/tokens/%d' % kept['id'], session=admin)
            self.assertEqual(r.status, 200, r)
            self.assertGreaterEqual(r.json['use_count'], 1)
            r = new.request('GET', '/api/v1/audit?action=token.deleted', session=admin)
            self.assertEqual(len(r.json['events']), 1)
            self.assertEqual(new.login('vic', 'vic-password-123').cookie != '', True)
            # Ids go on past the copied ones: never one handed out before.
            t = new.create_token(admin, name='after')
            self.assertGreater(t['id'], gone['id'])
        finally:
            new.stop()

    def test_a_failed_copy_leaves_the_target_empty(self):
        out = self.copy('sqlite:/nonexistent/dir/patd.db', pg_database())
        self.assertNotEqual(out.returncode, 0)
        out = self.copy('sqlite:' + tempfile.mktemp(), 'postgresql://127.0.0.1:1/none')
        self.assertNotEqual(out.returncode, 0)
        self.assertIn('PostgreSQL', out.stderr)

"""The store contract seen from outside (issue #11): concurrent changes to
one token never return a value that does not work nor bring back one that
was replaced; ids are never reused; introspection is not a use."""
import concurrent.futures
import threading
import time

from harness import Patd, PatdTestCase

class StoreContract(PatdTestCase):

    def auth(self, value, ua='race-check/1'):
        return self.req('GET', '/auth', headers={'Authorization': 'Bearer ' + value,
                                                 'User-Agent': ua}).status

    def race_stream(self, n, manager, kinds, rounds, problems, statuses):
        """Rounds of two requests released together on one token; after
        each round, whatever regenerate acknowledged must hold."""
        target = self.patd.create_token(self.admin, name='race-%d-%s' % (n, kinds[0]))
        path = '/api/v1/tokens/%d' % target['id']
        current = target['token']
        barrier = threading.Barrier(2)

        def send(op, i):
            barrier.wait()
            if op == 'regenerate':
                return self.req('POST', path + '/regenerate', {}, token=manager)
            if op == 'patch':
                return self.req('PATCH', path, {'description': 'edit %d' % i}, token=manager)
            return self.req('POST', path + '/disable', {}, token=manager)

        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pair:
            for i in range(rounds):
                ops = ['regenerate', kinds[i % len(kinds)]]
                answers = [f.result() for f in [pair.submit(send, op, i) for op in ops]]
                statuses.extend(a.status for a in answers)
                if any(op == 'disable' and a.status == 200 for op, a in zip(ops, answers)):
                    self.req('POST', path + '/enable', {}, token=manager)
                values = [a.json['token'] for op, a in zip(ops, answers)
                          if op == 'regenerate' and a.status == 200]
                live = [v for v in values + [current] if self.auth(v) == 204]
                # One value works: a new one if any regenerate succeeded (a
                # later one replaced an earlier), else the one before.
                if len(live) != 1 or (values and live[0] == current):
                    problems.append('round %d (%s): %d of %d values work' %
                                    (i, ops[1], len(live), len(values) + 1))
                    return
                current = live[0]

    def test_concurrent_changes_to_one_token(self):
        manager = self.patd.create_token(self.admin, name='race-manager')['token']
        problems, statuses = [], []
        streams = [(['patch'], 250), (['patch'], 250), (['patch'], 250), (['patch'], 250),
                   (['regenerate'], 250), (['regenerate'], 250), (['disable'], 250),
                   (['disable'], 250)]  # 2 000 pairs in all, eight tokens at once
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(streams)) as pool:
            for f in [pool.submit(self.race_stream, i, manager, kinds, n, problems, statuses)
                      for i, (kinds, n) in enumerate(streams)]:
                f.result()
        self.assertEqual(problems, [])
        # Every answer is a success or a lost race (or "disabled"): 409.
        self.assertEqual(set(statuses) - {200, 409}, set(), statuses)
        self.assertEqual(len(statuses), 4000)

    def test_ids_are_never_reused(self):
        a = self.patd.create_token(self.admin, name='newest-then-deleted')
        self.assertEqual(self.req('DELETE', '/api/v1/tokens/%d' % a['id'],
                                  session=self.admin).status, 204)
        b = self.patd.create_token(self.admin, name='created-after')
        self.assertGreater(b['id'], a['id'])

    def test_deleted_tokens_last_use_never_appears_on_another(self):
        a = self.patd.create_token(self.admin, name='used-then-deleted')
        self.assertEqual(self.auth(a['token'], ua='attacker/9'), 204)
        self.assertEqual(self.req('DELETE', '/api/v1/tokens/%d' % a['id'],
                                  session=self.admin).status, 204)
        b = self.patd.create_token(self.admin, name='replacement')
        # Flushes run every second here: after three, any stray use is in.
        time.sleep(3)
        got = self.req('GET', '/api/v1/tokens/%d' % b['id'], session=self.admin).json
        self.assertIsNone(got['last_used'], got)
        self.assertEqual(got['use_count'], 0)
        for e in self.req('GET', '/api/v1/audit?action=token.deleted',
                          session=self.admin).json['events']:
            if ('id=%d ' % b['id']) in e.get('detail', ''):
                self.fail('the audit log names the new token for a deletion: %r' % e)

    def test_introspection_is_not_a_use_of_the_subject(self):
        caller = self.patd.create_token(self.admin, name='introspector',
                                        scopes=['introspect'])['token']
        subject = self.patd.create_token(self.admin, name='introspected')
        r = self.req('POST', '/api/v1/introspect', {'token': subject['token']}, token=caller,
                     headers={'User-Agent': 'gateway/2'})
        self.assertEqual(r.status, 200)
        self.assertTrue(r.json['active'])
        time.sleep(2.5)
        got = self.req('GET', '/api/v1/tokens/%d' % subject['id'], session=self.admin).json
        self.assertIsNone(got['last_used'], got)
        # The client that presents the token is the one recorded.
        self.assertEqual(self.req('GET', '/auth', headers={
            'Authorization': 'Bearer ' + subject['token'], 'User-Agent': 'real-client/3',
            'X-Original-URI': '/api/things', 'X-Original-Method': 'PUT'}).status, 204)
        last = self.patd.wait_last_used(self.admin, subject['id'])
        self.assertIsNotNone(last)
        self.assertEqual(last['user_agent'], 'real-client/3')
        self.assertEqual(last['method'], 'PUT')
        self.assertEqual(last['path'], '/api/things')
        self.assertEqual(last['ip'], '127.0.0.1')


class LastSuperuser(PatdTestCase):
    def test_two_superusers_disabling_each_other_leave_one(self):
        r = self.req('POST', '/api/v1/users', {'username': 'second-admin',
                                               'password': 'a-long-enough-password',
                                               'role': 'superuser'}, session=self.admin)
        self.assertEqual(r.status, 201, r)
        other_id = r.json['id']
        other = self.patd.login('second-admin', 'a-long-enough-password')
        me = [u for u in self.req('GET', '/api/v1/users', session=self.admin).json['users']
              if u['username'] == 'admin'][0]['id']
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            a = pool.submit(self.req, 'PATCH', '/api/v1/users/%d' % other_id,
                            {'disabled': True}, session=self.admin)
            b = pool.submit(self.req, 'PATCH', '/api/v1/users/%d' % me, {'disabled': True},
                            session=other)
            results = sorted([a.result().status, b.result().status])
        # One wins; the other either lost the race (409) or found its own
        # account already disabled (401).
        self.assertEqual(results[0], 200, results)
        self.assertIn(results[1], (401, 409), results)
        who = self.admin if a.result().status == 200 else other
        users = self.req('GET', '/api/v1/users', session=who).json['users']
        enabled = [u for u in users if u['role'] == 'superuser' and not u['disabled']]
        self.assertEqual(len(enabled), 1, users)

#!/usr/bin/env python3
"""make bench-postgres: patd on PostgreSQL (#13), against nginx's static 200
in the same run, as bench/run.py measures SQLite:

1. GET /auth with BENCH_LARGE tokens (default 1 M) in PostgreSQL, cache warm:
   rounds alternating nginx and patd; then unknown tokens.
2. Revocation propagation between two instances: a token cached on B is
   deleted on A; the time until B refuses it, over BENCH_REVOCATIONS rounds
   (default 1000): p50 / p99 / max.
3. Two instances against one, each driven by its own wrk: aggregate
   throughput, and CPU per request (which must not grow).

The PostgreSQL is a throwaway one (tools/pg.sh: fsync off, loopback).
Rewrites the section between the PostgreSQL markers of docs/PERFORMANCE.md."""
import http.client
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import run as bench

ROOT = bench.ROOT
REVOCATIONS = int(os.environ.get('BENCH_REVOCATIONS', '1000'))
BEGIN = '<!-- postgres bench: begin -->'
END = '<!-- postgres bench: end -->'


def cpu_seconds(pid):
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


class Instance(bench.Patd):
    """A bench patd on the database at url, with a shared key file."""

    def __init__(self, data_dir, port, url, key):
        super().__init__(data_dir, port)
        self.url, self.key = url, key

    def start(self, extra_env=None):
        env = dict(extra_env or {}, PATD_DB=self.url, PATD_SERVER_KEY_FILE=self.key)
        return super().start(env)


def call(port, method, path, body=None, cookie=None, csrf=None, token=None):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    h = {}
    if body is not None:
        h['Content-Type'] = 'application/json'
    if cookie:
        h['Cookie'] = 'patd_session=' + cookie
        h['X-CSRF-Token'] = csrf
    if token:
        h['Authorization'] = 'Bearer ' + token
    import json
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=h)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, r.getheader('Set-Cookie'), data


def login(port):
    import json
    status, cookie, body = call(port, 'POST', '/api/v1/session',
                                {'username': 'admin', 'password': bench.PASSWORD})
    assert status == 200, body
    return cookie.split(';')[0].split('=', 1)[1], json.loads(body)['csrf_token']


def propagation(a, b, rounds):
    """Seconds from A's answer to a delete until B refuses the token."""
    import json
    cookie, csrf = login(a.port)
    delays = []
    for i in range(rounds):
        status, _, body = call(a.port, 'POST', '/api/v1/tokens',
                               {'name': 'rev-%d' % i, 'scopes': ['tokens']}, cookie, csrf)
        assert status == 201, body
        t = json.loads(body)
        assert call(b.port, 'GET', '/auth', token=t['token'])[0] == 204
        status, _, body = call(a.port, 'DELETE', '/api/v1/tokens/%d' % t['id'], None, cookie,
                               csrf)
        assert status == 204, body
        start = time.monotonic()
        while call(b.port, 'GET', '/auth', token=t['token'])[0] != 401:
            if time.monotonic() - start > 5:
                raise AssertionError('B still accepts a token deleted 5 s ago')
        delays.append(time.monotonic() - start)
    delays.sort()
    return {'p50': delays[len(delays) // 2] * 1000,
            'p99': delays[int(len(delays) * 0.99) - 1] * 1000, 'max': delays[-1] * 1000,
            'n': len(delays)}


def together(instances, tokens):
    """Each instance under its own wrk at once: summed req/s, CPU s/request."""
    results = [None] * len(instances)
    cpu0 = [cpu_seconds(p.proc.pid) for p in instances]

    def drive(i):
        results[i] = bench.wrk(instances[i].port, tokens)
    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(instances))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu = sum(cpu_seconds(p.proc.pid) - c for p, c in zip(instances, cpu0))
    total = sum(r['total'] for r in results)
    return {'rps': sum(r['rps'] for r in results), 'cpu_us': cpu / total * 1e6,
            'p99': max(r['p99'] for r in results)}


def main():
    subprocess.run([os.path.join(ROOT, 'tools', 'deps.sh'), 'bench'], check=True)
    if not os.path.exists(os.path.join(bench.BUILD, 'build.ninja')):
        subprocess.run(['meson', 'setup', bench.BUILD, '--buildtype=release', '-Dtests=disabled'],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', bench.BUILD], check=True, stdout=subprocess.DEVNULL)
    workdir = tempfile.mkdtemp(prefix='patd-bench-pg-')
    pgdir = tempfile.mkdtemp(prefix='patd-bench-pgdata-')
    url = subprocess.run([os.path.join(ROOT, 'tools', 'pg.sh'), 'start', pgdir],
                         capture_output=True, text=True, check=True).stdout.strip()
    try:
        data = os.path.join(workdir, 'data-a')
        first = Instance(data, bench.free_port(), url, os.path.join(data, 'server.key'))
        first.start().stop()  # key, schema, admin
        key = os.path.join(data, 'server.key')
        tokens = os.path.join(workdir, 'tokens.txt')
        t0 = time.time()
        subprocess.run([os.path.join(bench.BUILD, 'seed'), data, str(bench.LARGE), tokens,
                        '--db', url], check=True)
        print('seeded %d tokens into PostgreSQL in %.1fs' % (bench.LARGE, time.time() - t0),
              flush=True)
        unknown = os.path.join(workdir, 'unknown.txt')
        subprocess.run([os.path.join(bench.BUILD, 'seed'), workdir, '100000', unknown,
                        '--unknown'], check=True)

        a = Instance(data, bench.free_port(), url, key).start()
        b = Instance(os.path.join(workdir, 'data-b'), bench.free_port(), url, key).start()
        ng = bench.Nginx(workdir)
        try:
            for p in (a, b):
                offset, deadline = 0, time.time() + 900
                while (bench.metric(p.port, 'patd_cache_entries') < bench.LARGE * 0.999 and
                       time.time() < deadline):
                    offset += bench.wrk(p.port, tokens, mode='seq', duration=5,
                                        offset=offset)['total']
            bench.wrk(ng.port, tokens, duration=2)
            base, valid = [], []
            for i in range(bench.ROUNDS):
                base.append(bench.wrk(ng.port, tokens))
                valid.append(bench.wrk(a.port, tokens))
                print('postgres %d tokens, round %d: nginx %.0f req/s, patd %.0f req/s (%.2fx)'
                      % (bench.LARGE, i + 1, base[-1]['rps'], valid[-1]['rps'],
                         valid[-1]['rps'] / base[-1]['rps']), flush=True)
            base_s, valid_s = bench.summary(base), bench.summary(valid)
            cpu0 = cpu_seconds(a.proc.pid)
            one = bench.wrk(a.port, tokens)
            one['cpu_us'] = (cpu_seconds(a.proc.pid) - cpu0) / one['total'] * 1e6
            ng_unknown = bench.wrk(ng.port, unknown)
            invalid = bench.wrk(a.port, unknown)
            both = together([a, b], tokens)
            print('two instances: %.0f req/s together (one: %.0f), CPU %.1f us/request (one: %.1f)'
                  % (both['rps'], one['rps'], both['cpu_us'], one['cpu_us']), flush=True)
            prop = propagation(a, b, REVOCATIONS)
            print('revocation A->B over %d: p50 %.2f ms, p99 %.2f ms, max %.2f ms'
                  % (prop['n'], prop['p50'], prop['p99'], prop['max']), flush=True)
        finally:
            ng.stop()
            a.stop()
            b.stop()
    finally:
        subprocess.run([os.path.join(ROOT, 'tools', 'pg.sh'), 'stop', pgdir],
                       capture_output=True)
        shutil.rmtree(pgdir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
    write_report(base_s, valid_s, ng_unknown, invalid, one, both, prop)


def write_report(base, valid, ng_unknown, invalid, one, both, prop):
    section = [
        BEGIN,
        '## PostgreSQL (make bench-postgres)',
        '',
        'Produced by `make bench-postgres` (bench/postgres.py) on %s: %d tokens in a '
        'throwaway PostgreSQL %s on loopback (tools/pg.sh, fsync off), patd with %d HTTP '
        'threads, wrk %d threads %d connections, %d s per run, %d alternating rounds '
        '(medians).' % (time.strftime('%Y-%m-%d'), bench.LARGE, pg_version(), bench.THREADS,
                        bench.THREADS, bench.CONNECTIONS, bench.DURATION, bench.ROUNDS),
        '',
        '| run | req/s | p50 ms | p99 ms | p99.9 ms | max ms | vs nginx | non-2xx |',
        '|---|---|---|---|---|---|---|---|',
        bench.row('nginx static 200', base, base),
        bench.row('patd on PostgreSQL, valid, cache warm', valid, base),
        bench.row('nginx static 200 (unknown-token script)', ng_unknown, ng_unknown),
        bench.row('patd on PostgreSQL, unknown tokens', invalid, ng_unknown),
        '',
        'Rounds (nginx/patd req/s): %s.' % ', '.join(
            '%.0f/%.0f (%.2fx)' % (b['rps'], v['rps'], v['rps'] / b['rps'])
            for b, v in zip(base['runs'], valid['runs'])),
        '',
        '**Revocation propagation** A → B (token cached on B, deleted on A, time from A\'s '
        'answer until B answers 401), %d rounds: p50 %.2f ms, p99 %.2f ms, max %.2f ms '
        '(target p99 < 100 ms).' % (prop['n'], prop['p50'], prop['p99'], prop['max']),
        '',
        '**Two instances** on one database, each under its own wrk at once: %.0f req/s '
        'together against %.0f for one alone (%.2fx; on %d cores the wrk processes and both '
        'instances share the CPUs, so this cannot double). CPU per request: %.1f µs with two, '
        '%.1f µs with one.' % (both['rps'], one['rps'], both['rps'] / one['rps'],
                               os.cpu_count(), both['cpu_us'], one['cpu_us']),
        END,
    ]
    bench.write_section(BEGIN, END, section)


def pg_version():
    out = subprocess.run(['psql', '--version'], capture_output=True, text=True).stdout
    m = re.search(r'(\d+\.\d+)', out)
    return m.group(1) if m else ''


if __name__ == '__main__':
    sys.exit(main())

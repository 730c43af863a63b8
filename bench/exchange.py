#!/usr/bin/env python3
"""make bench-exchange: the token exchange (#14) against nginx's static
answer in the same run, as bench/run.py measures GET /auth:

1. POST /oauth/token with rotating PATs (form bodies), 2 cores, 50
   connections: exchanges per second, per core, and the ratio to nginx.
2. GET /auth with a JWT (JWT cache warm) against GET /auth with a PAT
   (verification cache warm): the ratio of the two.

Rewrites the section between the exchange markers of docs/PERFORMANCE.md."""
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

import run as bench

ROOT = bench.ROOT
TOKENS = int(os.environ.get('BENCH_EXCHANGE_TOKENS', '1000'))
BEGIN = '<!-- exchange bench: begin -->'
END = '<!-- exchange bench: end -->'
EXCHANGE_LUA = os.path.join(ROOT, 'bench', 'exchange.lua')


def cpu_seconds(pid):
    """User and system CPU time the process has used (/proc/PID/stat)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def wrk_exchange(port, tokens_file, pid=None):
    """One wrk run; with pid, also the exchanges per CPU-second that
    process used (wrk shares the machine's cores, so the machine's count
    of cores understates what one core of patd's does)."""
    env = dict(os.environ, TOKENS_FILE=tokens_file)
    before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(['wrk', '-t%d' % bench.THREADS, '-c%d' % bench.CONNECTIONS,
                          '-d%ds' % bench.DURATION, '--latency', '-s', EXCHANGE_LUA,
                          'http://127.0.0.1:%d/oauth/token' % port], env=env,
                         capture_output=True, text=True, check=True).stdout
    used = cpu_seconds(pid) - before if pid else 0.0
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    total = int(re.search(r'(\d+) requests in', out).group(1))
    non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', out)
    p99 = re.search(r'^\s+99%\s+([\d.]+)(us|ms|s)\s*$', out, re.M)
    return {'rps': rps, 'non2xx': int(non2xx.group(1)) if non2xx else 0,
            'per_cpu_second': total / used if used > 0 else 0.0, 'cpu': used,
            'p99': float(p99.group(1)) * {'us': 0.001, 'ms': 1.0, 's': 1000.0}[p99.group(2)]}


def exchange_all(port, tokens):
    """A JWT for each PAT; those of the most common length (auth.lua wants
    one length)."""
    by_len = {}
    for t in tokens:
        c = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
        c.request('POST', '/oauth/token', body=urllib.parse.urlencode({
            'grant_type': 'urn:ietf:params:oauth:grant-type:token-exchange',
            'subject_token': t,
            'subject_token_type': 'urn:ietf:params:oauth:token-type:access_token'}),
            headers={'Content-Type': 'application/x-www-form-urlencoded'})
        r = c.getresponse()
        jwt = json.loads(r.read())['access_token']
        c.close()
        by_len.setdefault(len(jwt), []).append(jwt)
    return max(by_len.values(), key=len)


def main():
    subprocess.run([os.path.join(ROOT, 'tools', 'deps.sh'), 'bench'], check=True)
    if not os.path.exists(os.path.join(bench.BUILD, 'build.ninja')):
        subprocess.run(['meson', 'setup', bench.BUILD, '--buildtype=release', '-Dtests=disabled'],
                       check=True, stdout=subprocess.DEVNULL)
    subprocess.run(['ninja', '-C', bench.BUILD], check=True, stdout=subprocess.DEVNULL)
    workdir = tempfile.mkdtemp(prefix='patd-bench-ex-')
    data, tokens_file = bench.prepare(workdir, TOKENS)
    with open(tokens_file) as f:
        tokens = f.read().split()
    p = bench.Patd(data, bench.free_port()).start({'PATD_JWT_LIFETIME_SECONDS': '3600'})
    ng = bench.Nginx(workdir)
    try:
        jwts = exchange_all(p.port, tokens)
        jwt_file = os.path.join(workdir, 'jwts.txt')
        with open(jwt_file, 'w') as f:
            f.write('\n'.join(jwts) + '\n')
        pat_file = os.path.join(workdir, 'pats.txt')
        with open(pat_file, 'w') as f:
            f.write('\n'.join(tokens[:len(jwts)]) + '\n')
        # Warm both caches.
        bench.wrk(p.port, jwt_file, mode='seq', duration=3)
        bench.wrk(p.port, pat_file, mode='seq', duration=3)
        base, ex, auth_pat, auth_jwt = [], [], [], []
        for i in range(bench.ROUNDS):
            base.append(wrk_exchange(ng.port, tokens_file))
            ex.append(wrk_exchange(p.port, tokens_file, p.proc.pid))
            auth_pat.append(bench.wrk(p.port, pat_file))
            auth_jwt.append(bench.wrk(p.port, jwt_file))
            print('round %d: nginx %.0f, exchange %.0f req/s (%.3fx; %.0f per patd CPU-second); '
                  '/auth PAT %.0f, JWT %.0f '
                  '(%.2fx)' % (i + 1, base[-1]['rps'], ex[-1]['rps'],
                               ex[-1]['rps'] / base[-1]['rps'], ex[-1]['per_cpu_second'],
                               auth_pat[-1]['rps'],
                               auth_jwt[-1]['rps'], auth_jwt[-1]['rps'] / auth_pat[-1]['rps']),
                  flush=True)
    finally:
        ng.stop()
        p.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    write_report(base, ex, auth_pat, auth_jwt, len(jwts))


def write_report(base, ex, auth_pat, auth_jwt, njwts):
    med = bench.median
    b, e = med([r['rps'] for r in base]), med([r['rps'] for r in ex])
    ap, aj = med([r['rps'] for r in auth_pat]), med([r['rps'] for r in auth_jwt])
    pc = med([r['per_cpu_second'] for r in ex])
    cores_used = med([r['cpu'] for r in ex]) / bench.DURATION
    non2xx = sum(r['non2xx'] for r in ex)
    section = [
        BEGIN,
        '## Token exchange (make bench-exchange)',
        '',
        'Produced by `make bench-exchange` (bench/exchange.py) on %s: %d PATs in SQLite, patd '
        'with %d HTTP threads, wrk %d threads %d connections, %d s per run, %d alternating '
        'rounds (medians).' % (time.strftime('%Y-%m-%d'), TOKENS, bench.THREADS, bench.THREADS,
                               bench.CONNECTIONS, bench.DURATION, bench.ROUNDS),
        '',
        '| run | req/s | vs baseline |',
        '|---|---|---|',
        '| nginx static 200, same POST bodies | %.0f | 1.00x |' % b,
        '| POST /oauth/token (ES256, audited) | %.0f (%.0f per core) | %.3fx of nginx |'
        % (e, e / os.cpu_count(), e / b),
        '| GET /auth with a PAT (cache warm) | %.0f | 1.00x |' % ap,
        '| GET /auth with a JWT (JWT cache warm, %d JWTs) | %.0f | %.2fx of the PAT |'
        % (njwts, aj, aj / ap),
        '',
        'Exchanges: %.0f per second per core of the machine (wrk runs on the same cores) and '
        '%.0f per CPU-second patd used (it used %.2f of the %d cores), against Keycloak\'s '
        'sizing guide figure of about 120 token grants per second per vCPU given to Keycloak: '
        '%.0fx per machine core, %.0fx per core patd used; non-2xx answers: %d. Rounds '
        '(nginx / exchange / PAT / JWT): %s.' % (
            e / os.cpu_count(), pc, cores_used, os.cpu_count(), e / os.cpu_count() / 120,
            pc / 120, non2xx,
            ', '.join('%.0f/%.0f/%.0f/%.0f' % (x['rps'], y['rps'], z['rps'], w['rps'])
                      for x, y, z, w in zip(base, ex, auth_pat, auth_jwt))),
        END,
    ]
    bench.write_section(BEGIN, END, section)


if __name__ == '__main__':
    sys.exit(main())

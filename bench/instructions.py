"""User-space instructions per GET /auth, counted by callgrind, for patd and
for nginx's static 200 driven the same way (part of make bench).

Timings on a shared two-core machine swing by 10-20 % between runs;
instruction counts do not, so they show what a change to the request path
saves. Each server runs under callgrind with one thread, answers two runs
of requests on one keep-alive connection, and the difference between the
runs divided by the difference in requests is the cost of one request
(start-up, cache fill and shutdown cancel out). Kernel work (the socket
system calls, most of the real cost) is not counted."""
import http.client
import os
import random
import re
import signal
import subprocess
import tempfile

SHORT, LONG = 3000, 9000


def drive(port, tokens, count):
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=120)
    rnd = random.Random(7)
    try:
        for _ in range(count):
            c.request('GET', '/auth', headers={
                'Authorization': 'Bearer ' + tokens[rnd.randrange(len(tokens))],
                'X-Original-URI': '/api/projects/1', 'X-Original-Method': 'GET'})
            r = c.getresponse()
            r.read()
            if r.status not in (200, 204):
                raise RuntimeError('GET /auth answered %d' % r.status)
    finally:
        c.close()


def totals(path):
    """Instructions in all, and in memset (named apart: callgrind counts each
    step of `rep stosb`, which makes zeroing look far dearer than it is)."""
    with open(path) as f:
        text = f.read()
    total = int((re.search(r'^summary: (\d+)', text, re.M) or
                 re.search(r'^totals: (\d+)', text, re.M)).group(1))
    out = subprocess.run(['callgrind_annotate', path], capture_output=True, text=True).stdout
    memset = sum(int(m.group(1).replace(',', '')) for m in
                 re.finditer(r'^\s*([\d,]+) \([^)]*\)\s+\S*:__memset\S*', out, re.M))
    return total, memset


def count(command, port, tokens, requests, wait_port, env=None):
    fd, out = tempfile.mkstemp(prefix='callgrind-', suffix='.out')
    os.close(fd)
    p = subprocess.Popen(['valgrind', '--tool=callgrind', '--callgrind-out-file=' + out] +
                         command, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        wait_port(port, 180)
        drive(port, tokens, requests)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=180)
    try:
        return totals(out)
    finally:
        os.unlink(out)


def per_request(command_for_port, free_port, tokens, wait_port, env=None):
    """(instructions, of which memset) per request."""
    runs = []
    for requests in (SHORT, LONG):
        port = free_port()
        runs.append(count(command_for_port(port), port, tokens, requests, wait_port, env))
    n = float(LONG - SHORT)
    return (runs[1][0] - runs[0][0]) / n, (runs[1][1] - runs[0][1]) / n

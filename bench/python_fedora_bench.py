#!/usr/bin/python3
"""python-fedora on the same URLs as fedora-bench, for the side-by-side of issue 6.

    /usr/bin/python3 bench/python_fedora_bench.py --url FAS_BASE_URL --connections C
        --requests N --mode person-by-id|person-by-username --session ID
        [--username U] [--id N] [--insecure|--ca-file F]

C threads share the N calls. person-by-id is FasProxyClient.person_by_id(id,
{'session_id': ID}); person-by-username is AccountSystem(session_id=ID).person_by_username.
python-fedora posts each call with requests.post (a new connection, and a new TLS handshake,
per call). Prints the same JSON line as the C++ clients (see bench/common.hpp).
--ca-file goes to requests through REQUESTS_CA_BUNDLE (python-fedora has no CA option).
"""
import argparse
import json
import os
import resource
import sys
import threading
import time


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', required=True)
    p.add_argument('--connections', type=int, default=1)
    p.add_argument('--requests', type=int, default=100)
    p.add_argument('--warmup', type=int, default=None)
    p.add_argument('--mode', default='person-by-username',
                   choices=['person-by-id', 'person-by-username'])
    p.add_argument('--session', default='')
    p.add_argument('--username', default='jdoe')
    p.add_argument('--id', type=int, default=0)
    p.add_argument('--insecure', action='store_true')
    p.add_argument('--ca-file', default='')
    o = p.parse_args()
    if o.ca_file:
        os.environ['REQUESTS_CA_BUNDLE'] = o.ca_file

    import warnings
    warnings.filterwarnings('ignore')  # the insecure mode's per-request warning
    from fedora.client.fas2 import AccountSystem
    from fedora.client.fasproxy import FasProxyClient

    if o.mode == 'person-by-id':
        proxy = FasProxyClient(o.url, insecure=o.insecure)
        auth = {'session_id': o.session}

        def call():
            _, person = proxy.person_by_id(o.id, auth)
            return person['id'] == o.id
    else:
        account = AccountSystem(o.url, session_id=o.session, cache_session=False,
                                insecure=o.insecure)

        def call():
            person = account.person_by_username(o.username)
            return person['username'] == o.username

    lock = threading.Lock()
    state = {'left': 0, 'errors': 0}

    def worker():
        while True:
            with lock:
                if state['left'] == 0:
                    return
                state['left'] -= 1
            try:
                ok = call()
            except Exception as e:  # noqa: BLE001 - every failure is counted
                ok = False
                if state['errors'] < 3:
                    print('error: %r' % e, file=sys.stderr)
            if not ok:
                with lock:
                    state['errors'] += 1

    def run(n):
        state['left'] = n
        threads = [threading.Thread(target=worker) for _ in range(o.connections)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    run(o.warmup if o.warmup is not None else o.connections)
    state['errors'] = 0

    def cpu():
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    t0, c0 = time.monotonic(), cpu()
    run(o.requests)
    seconds, cpu_seconds = time.monotonic() - t0, cpu() - c0
    n = o.requests
    print(json.dumps({
        'client': 'python-fedora', 'mode': o.mode, 'connections': o.connections,
        'callers': o.connections, 'requests': n, 'seconds': round(seconds, 6),
        'cpu_seconds': round(cpu_seconds, 6), 'errors': state['errors'],
        'req_per_s': round(n / seconds, 1) if seconds > 0 else 0,
        'cpu_us_per_req': round(cpu_seconds * 1e6 / n, 3) if n else 0,
        'rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'bytes': 0, 'mb_per_s': 0}, separators=(',', ':')))
    return 1 if state['errors'] else 0


if __name__ == '__main__':
    sys.exit(main())

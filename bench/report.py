#!/usr/bin/python3
"""Turns bench/run's JSON lines into bench/RESULTS.md (medians, min-max, ratios vs raw Beast)."""
import argparse
import json
import statistics
from collections import defaultdict


def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    if x is None:
        return '–'
    return f'{x:,.{digits}f}'


def span(xs, digits=0):
    if not xs:
        return '–'
    if len(xs) == 1:
        return fmt(xs[0], digits)
    return f'{fmt(med(xs), digits)} ({fmt(min(xs), digits)}–{fmt(max(xs), digits)})'


def ratio(a, b, digits=2):
    if a is None or b is None or b == 0:
        return '–'
    return f'{a / b:.{digits}f}×'


def main():
    p = argparse.ArgumentParser()
    for a in ('results', 'out', 'command', 'machine', 'nginx', 'rounds', 'elapsed', 'person-bytes',
              'small-bytes', 'dump5-bytes', 'dump50-bytes', 'people-bytes', 'server-cpu', 'client-cpu'):
        p.add_argument('--' + a, required=True)
    o = p.parse_args()

    runs = defaultdict(list)   # (server, scheme, c, answer, name) -> [result]
    callgrind = []
    with open(o.results) as f:
        for line in f:
            r = json.loads(line)
            if r.get('kind') == 'callgrind':
                callgrind.append(r)
            else:
                runs[(r['server'], r['scheme'], r['c'], r['answer'], r['name'])].append(r)

    def col(key, field):
        return [r[field] for r in runs.get(key, []) if r['errors'] == 0]

    def by_round(key, field):
        return {r['round']: r[field] for r in runs.get(key, []) if r['errors'] == 0}

    # A ratio is the median over the rounds of the ratio within each round: the clients of a
    # round run one after the other, minutes apart at most, so a round's ratio sees the
    # machine in one state, where a ratio of medians mixes states (the machine is shared,
    # and its speed moves by 2x within minutes).
    # `base` is another client's key, or its figure per round already.
    def paired(key, base, field):
        a = by_round(key, field)
        b = base if isinstance(base, dict) else by_round(base, field)
        rs = [a[r] / b[r] for r in a if r in b and b[r]]
        return med(rs)

    def xr(x, digits=2):
        return '–' if x is None else f'{x:.{digits}f}×'

    def errs(key):
        return sum(r['errors'] for r in runs.get(key, []))

    out = []
    w = out.append
    w('# Benchmark results (issue 6)\n')
    w(f'Produced by `{o.command}` in {int(o.elapsed) // 60} min {int(o.elapsed) % 60} s, '
      f'{o.rounds} round(s), clients alternating within each round.\n')
    w(f'- Machine: {o.machine}. Server (nginx {o.nginx}, one worker; or the emulator, one thread) '
      f'pinned to CPU {o.server_cpu}, each client to CPU {o.client_cpu}. The machine is shared '
      'with other work: quote ratios, not absolute figures.')
    w(f'- Answers (the emulator\'s own FAS2 bytes, served by nginx as static files): person '
      f'{o.person_bytes} B, small {o.small_bytes} B, user_data dumps {int(o.dump5_bytes) / 1e6:.1f} MB '
      f'and {int(o.dump50_bytes) / 1e6:.1f} MB, user/list (people_by_key) {int(o.people_bytes) / 1e6:.1f} MB.')
    w('- Every client POSTs the form python-fedora sends (`username=noroles&_csrf_token=…`, the '
      '`tg-visit` cookie, `Accept: application/json`) over C keep-alive connections with C '
      'concurrent callers, and parses every body with Boost.JSON (the SDK: into the typed '
      'person). req/s and CPU µs/request (user + system, getrusage of the client process, '
      'timed part only) are medians with min–max over the rounds; RSS is the peak resident '
      'set of the client process. Every ratio (× raw Beast, × DOM path, the targets) is the '
      'median over the rounds of the ratio within each round, whose clients run minutes apart '
      'at most; the min–max spans show how far the machine\'s speed moved between rounds.')
    w('- Clients: `raw-beast` = bench/raw_beast_bench.cpp (the baseline, Beast\'s coroutine '
      'example); `fedora person_by_username` = `account_system::async_person_by_username`; '
      '`fedora person_by_id` = `proxy_client::async_person_by_id`; `fedora raw http` = '
      '`fedora::http::client::async_send` + `boost::json::parse`; `curl-multi` = libcurl multi '
      '+ Boost.JSON; `python-fedora` = python3-fedora 1.1.1, C threads.\n')

    def table(server, answer, title, cs=(1, 8, 64)):
        names = sorted({k[4] for k in runs if k[0] == server and k[3] == answer},
                       key=lambda n: (n != 'raw-beast', n))
        if not names:
            return
        w(f'## {title}\n')
        w('| scheme | C | client | req/s | × raw Beast | CPU µs/req | × raw Beast | peak RSS MB | errors |')
        w('| --- | --- | --- | --- | --- | --- | --- | --- | --- |')
        for scheme in ('http', 'https'):
            for c in cs:
                base = (server, scheme, c, answer, 'raw-beast')
                for n in names:
                    k = (server, scheme, c, answer, n)
                    if k not in runs:
                        continue
                    rps, cpu = col(k, 'req_per_s'), col(k, 'cpu_us_per_req')
                    rss = [x / 1024 for x in col(k, 'rss_kb')]
                    w(f'| {scheme} | {c} | {n} | {span(rps)} | {xr(paired(k, base, "req_per_s"))} | '
                      f'{span(cpu, 1)} | {xr(paired(k, base, "cpu_us_per_req"))} | {fmt(med(rss), 1)} | {errs(k)} |')
        w('')

    table('nginx', 'person', f'nginx, the person answer ({o.person_bytes} B)')
    table('nginx', 'small', f'nginx, the small answer ({o.small_bytes} B): transports only')
    table('emulator', 'person', 'End to end: the emulator (one thread) answering person_by_username', cs=(64,))

    if callgrind:
        w('## Instructions per request (callgrind, C = 1, HTTP, nginx, person answer)\n')
        w('(Ir(N2) − Ir(N1)) / (N2 − N1): start-up and warm-up cancel out.\n')
        w('| client | N1 | N2 | Ir/request | × raw Beast |')
        w('| --- | --- | --- | --- | --- |')
        base = next((c['ir_per_req'] for c in callgrind if c['name'] == 'raw-beast'), None)
        for c in callgrind:
            w(f'| {c["name"]} | {c["n1"]} | {c["n2"]} | {fmt(c["ir_per_req"])} | {ratio(c["ir_per_req"], base)} |')
        w('')

    dumps = [k for k in runs if k[3].startswith('dump')]
    if dumps:
        w('## Dumps: json/fas_client/user_data over HTTP, C = 1\n')
        w('`fedora user_data` = `account_system::async_user_data` (whatever the SDK does); '
          '`dump-dom` = raw `fedora::http` request, `boost::json::parse` of the whole body, '
          '`fas::ops::user_data::parse`; `fedora people_by_key` = `account_system::async_people_by_key("username", "*", {})` '
          'and `people-dom` its DOM path. RSS is per process (one mode per process).\n')
        w('| dump | client | MB/s | × DOM path | peak RSS MB | × DOM path | errors |')
        w('| --- | --- | --- | --- | --- | --- | --- |')
        for answer, sdk, dom in (('dump5', 'fedora user_data', 'dump-dom'), ('dump50', 'fedora user_data', 'dump-dom'),
                                 ('people', 'fedora people_by_key', 'people-dom')):
            base = ('nginx', 'http', 1, answer, dom)
            label = 'user/list' if answer == 'people' else answer[4:] + ' MB'
            for n in (sdk, dom):
                k = ('nginx', 'http', 1, answer, n)
                if k not in runs:
                    continue
                mbs, rss = col(k, 'mb_per_s'), col(k, 'rss_kb')
                w(f'| {label} | {n} | {span(mbs, 1)} | {xr(paired(k, base, "mb_per_s"))} | '
                  f'{fmt(med(rss) / 1024 if rss else None, 1)} | {xr(paired(k, base, "rss_kb"))} | {errs(k)} |')
        w('')

    # The targets of issue 6, checked against this run.
    w('## Targets of issue 6 in this run\n')
    w('| target | measured | met |')
    w('| --- | --- | --- |')

    def target(desc, value, ok, shown):
        if value is not None:  # a target this run did not measure is left out
            w(f'| {desc} | {shown} | {"yes" if ok else "**no**"} |')

    for scheme in ('http', 'https'):
        sdk = ('nginx', scheme, 64, 'person', 'fedora person_by_username')
        beast = ('nginx', scheme, 64, 'person', 'raw-beast')
        curl = ('nginx', scheme, 64, 'person', 'curl-multi')
        s_cpu, b_cpu = med(col(sdk, 'cpu_us_per_req')), med(col(beast, 'cpu_us_per_req'))
        r = paired(sdk, beast, 'req_per_s')
        target(f'{scheme} C=64 person_by_username req/s ≥ 1.0× raw Beast', r, r is not None and r >= 1.0, xr(r))
        r = paired(sdk, beast, 'cpu_us_per_req')
        target(f'{scheme} C=64 CPU/request ≤ 1.0× raw Beast', r, r is not None and r <= 1.0,
               f'{xr(r)} (medians {fmt(s_cpu, 1)} vs {fmt(b_cpu, 1)} µs)')
        r = paired(sdk, curl, 'req_per_s')
        target(f'{scheme} C=64 req/s ≥ 1.5× curl multi', r, r is not None and r >= 1.5, xr(r))
        need = 50 if scheme == 'http' else 100
        py_rounds = [by_round(('nginx', scheme, c, 'person', 'python-fedora person_by_username'), 'req_per_s')
                     for c in (1, 8)]
        best_py = {rd: max(p[rd] for p in py_rounds if rd in p) for rd in set().union(*py_rounds)}
        r = paired(sdk, best_py, 'req_per_s')
        target(f'{scheme} calls/s ≥ {need}× python-fedora (SDK C=64 vs python\'s best of C=1, 8)', r,
               r is not None and r >= need, xr(r, 0))
    cg = {c['name']: c['ir_per_req'] for c in callgrind}
    if 'fedora person_by_username' in cg and 'raw-beast' in cg:
        r = cg['fedora person_by_username'] / cg['raw-beast']
        target('instructions/request at C=1 HTTP ≤ raw Beast', r, r <= 1.0,
               f'{r:.2f}× ({fmt(cg["fedora person_by_username"])} vs {fmt(cg["raw-beast"])})')
    for answer, sdk, dom in (('dump5', 'fedora user_data', 'dump-dom'), ('dump50', 'fedora user_data', 'dump-dom'),
                             ('people', 'fedora people_by_key', 'people-dom')):
        s = ('nginx', 'http', 1, answer, sdk)
        d = ('nginx', 'http', 1, answer, dom)
        sr, dr = med(col(s, 'rss_kb')), med(col(d, 'rss_kb'))
        r = paired(s, d, 'mb_per_s')
        target(f'{answer} dump: MB/s ≥ 2× the DOM path', r, r is not None and r >= 2, xr(r))
        r = paired(s, d, 'rss_kb')
        if r is not None and sr and dr:
            # ru_maxrss of two processes doing the same start-up: 2% is noise.
            target(f'{answer} dump: peak RSS ≤ the DOM path (2% noise allowed)', r, r <= 1.02,
                   f'{xr(r)} ({sr / 1024:.1f} vs {dr / 1024:.1f} MB)')
    w('')
    with open(o.out, 'w') as f:
        f.write('\n'.join(out) + '\n')


if __name__ == '__main__':
    main()

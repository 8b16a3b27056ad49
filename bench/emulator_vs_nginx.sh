#!/usr/bin/env bash
# How close does the emulator's FAS2 hot path come to nginx serving the same bytes?
#
#   bench/emulator_vs_nginx.sh [path/to/fedora-emulator]
#
# Both servers get the identical request python-fedora sends for person_by_username: a
# keep-alive POST with the form body username=jdoe, a tg-visit cookie from one real
# login and its _csrf_token. The emulator authenticates, looks up and renders (from its
# render cache); nginx answers the file that holds exactly the bytes the emulator
# answered. wrk and the servers are pinned to different cores, one server thread each.
# Target (issue "The FAS2 emulator"): emulator >= 0.5 x nginx.
#
# Environment: DURATION (10s), CONNECTIONS (32), THREADS (1, wrk threads), WARMUP (2s),
# SERVER_CPU (0), CLIENT_CPU (1), NGINX (/usr/sbin/nginx).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
emulator=${1:-$here/../build/lib/emulator/fedora-emulator}
nginx=${NGINX:-/usr/sbin/nginx}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}
warmup=${WARMUP:-2s}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}

die() { echo "emulator_vs_nginx: $*" >&2; exit 1; }

[[ -x $emulator ]] || die "no emulator at $emulator (build it: ninja -C BUILD lib/emulator/fedora-emulator)"
[[ -x $nginx ]] || die "no nginx at $nginx"
for tool in wrk curl taskset sha1sum; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/emulator-vs-nginx.XXXXXX")
emulator_pid=
nginx_pid=
cleanup() {
    local pid
    for pid in $emulator_pid $nginx_pid; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in $emulator_pid $nginx_pid; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM   # runs the EXIT trap

# --- the emulator ---------------------------------------------------------------------
taskset -c "$server_cpu" "$emulator" --no-record --threads 1 \
    >"$tmp/emulator.out" 2>"$tmp/emulator.err" &
emulator_pid=$!
for _ in $(seq 300); do
    grep -qx ready "$tmp/emulator.out" && break
    kill -0 "$emulator_pid" 2>/dev/null || die "the emulator exited: $(cat "$tmp/emulator.err")"
    sleep 0.1
done
grep -qx ready "$tmp/emulator.out" || die "the emulator did not get ready"
fas=$(sed -n 's/^fedora-emulator: FAS2 at \(http:[^ ]*\) .*/\1/p' "$tmp/emulator.out")
fas=${fas%/}
[[ -n $fas ]] || die "no FAS2 URL in: $(cat "$tmp/emulator.out")"

# One real login gives the session; FAS expects _csrf_token = sha1hex(tg-visit) with it.
curl -sS -o /dev/null -D "$tmp/login.headers" -H 'Accept: application/json' \
    --data 'user_name=jdoe&password=jdoe-pass&login=Login' "$fas/login"
visit=$(sed -n 's/^[Ss]et-[Cc]ookie: tg-visit=\([0-9a-f]\{40\}\);.*/\1/p' "$tmp/login.headers" | head -n1)
[[ -n $visit ]] || die "login failed: $(cat "$tmp/login.headers")"
csrf=$(printf '%s' "$visit" | sha1sum | cut -d' ' -f1)
body="username=jdoe&_csrf_token=$csrf"

mkdir -p "$tmp/www/accounts/json" "$tmp/nginx-temp"
answer=$tmp/www/accounts/json/person_by_username
status=$(curl -sS -o "$answer" -w '%{http_code}' -H 'Accept: application/json' \
    -H "Cookie: tg-visit=$visit" --data "$body" "$fas/json/person_by_username")
[[ $status == 200 ]] && grep -q '"success":true' "$answer" && grep -q '"username":"jdoe"' "$answer" ||
    die "the emulator did not answer person_by_username for jdoe (HTTP $status): $(head -c 300 "$answer")"

# --- nginx with the same bytes ----------------------------------------------------------
port=
for candidate in $(seq 20080 20180); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
        port=$candidate
        break
    fi
done
[[ -n $port ]] || die "no free port for nginx"

# As root, nginx would drop the worker to `nobody`, which cannot read the private temp dir.
user_line=
[[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
cat >"$tmp/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_timeout 60s;
    keepalive_requests 100000000;   # the emulator never closes a kept-alive connection
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    client_body_temp_path $tmp/nginx-temp/body;
    proxy_temp_path $tmp/nginx-temp/proxy;
    fastcgi_temp_path $tmp/nginx-temp/fastcgi;
    uwsgi_temp_path $tmp/nginx-temp/uwsgi;
    scgi_temp_path $tmp/nginx-temp/scgi;
    types { }
    default_type application/json;
    server {
        listen 127.0.0.1:$port;
        root $tmp/www;
        location = /accounts/json/person_by_username {
            # The static module refuses POST with 405; error_page with a URI re-runs the
            # request as a GET of the same file, so nginx answers the emulator's request.
            error_page 405 =200 \$uri;
            # The emulator sets the visit cookie on every answer: same header weight.
            add_header Set-Cookie "tg-visit=$visit; Path=/";
        }
    }
}
EOF
taskset -c "$server_cpu" "$nginx" -p "$tmp" -e "$tmp/nginx-error.log" -c "$tmp/nginx.conf" \
    2>"$tmp/nginx.err" &
nginx_pid=$!
nginx_url=http://127.0.0.1:$port/accounts/json/person_by_username
for _ in $(seq 100); do
    curl -s -o /dev/null "$nginx_url" 2>/dev/null && break
    kill -0 "$nginx_pid" 2>/dev/null || die "nginx exited: $(cat "$tmp/nginx.err" "$tmp/nginx-error.log" 2>/dev/null)"
    sleep 0.1
done
curl -sS -o "$tmp/nginx.answer" -H 'Accept: application/json' -H "Cookie: tg-visit=$visit" \
    --data "$body" "$nginx_url"
cmp -s "$answer" "$tmp/nginx.answer" || { head -c 300 "$tmp/nginx.answer" >&2; die "nginx does not answer the emulator's bytes to the POST"; }

# --- wrk ------------------------------------------------------------------------------
cat >"$tmp/post.lua" <<EOF
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
wrk.headers["Cookie"] = "tg-visit=$visit"
EOF

# Prints requests/s; fails if any answer was not 2xx (an expired session would be 403s).
measure() {
    local name=$1 url=$2 out=$tmp/wrk-$1.txt
    taskset -c "$client_cpu" wrk -t"$threads" -c"$connections" -d"$warmup" -s "$tmp/post.lua" "$url" >/dev/null
    taskset -c "$client_cpu" wrk -t"$threads" -c"$connections" -d"$duration" --latency \
        -s "$tmp/post.lua" "$url" >"$out"
    if grep -q -e 'Non-2xx' -e 'Socket errors' "$out"; then
        cat "$out" >&2
        die "$name: errors during the run"
    fi
    sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$out"
}

echo "fedora-emulator $emulator vs $("$nginx" -v 2>&1 | sed 's/.*: //'), $(wc -c <"$answer")-byte answer"
echo "wrk -t$threads -c$connections -d$duration (warm-up $warmup), POST person_by_username," \
     "server on CPU $server_cpu, wrk on CPU $client_cpu"
emulator_rps=$(measure emulator "$fas/json/person_by_username")
nginx_rps=$(measure nginx "$nginx_url")
for name in emulator nginx; do
    printf '%-9s %10.0f req/s   latency %s\n' "$name:" "$([[ $name == emulator ]] && echo "$emulator_rps" || echo "$nginx_rps")" \
        "$(awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} END {print "p50 " p50 ", p99 " p99}' "$tmp/wrk-$name.txt")"
done
awk -v e="$emulator_rps" -v n="$nginx_rps" 'BEGIN {
    r = e / n
    printf "ratio emulator/nginx: %.2f (target >= 0.50: %s)\n", r, (r >= 0.5 ? "met" : "NOT met")
}'

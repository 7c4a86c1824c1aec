# 424-http-cache-limits: the cache's limits at their boundaries.
# proxy_cache_lock_age (a fetch older than it no longer holds the lock: one
# more request goes upstream), and a keys zone too small for the keys asked
# (the least recently used keys make room: every request is answered, the
# oldest keys are fetched again, the newest stay HITs).
# Skips in a build without the cache (./configure --without-http_cache).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf limits.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;
    proxy_cache_path @T@/small keys_zone=small:20k;

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache_key $uri;
        proxy_cache_valid 10m;
        proxy_read_timeout 10s;

        location /age/ {
            proxy_cache z;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 20s;
            proxy_cache_lock_age 1s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /many/ {
            proxy_cache small;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF2

need_cache "$T/limits.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
FC_WAIT_PORTS=$PORT1 fc_start limits.conf
ok $? "starts" || t_bail "cannot start"

# ------------------------------------------------------- proxy_cache_lock_age
# The first request holds the lock for a 3 s fetch; the second waits only
# until the lock is 1 s old, then goes upstream itself.
curl -q -s --max-time 8 -o "$T/first.body" "http://127.0.0.1:$PORT1/age/a?delay_ms=3000" &
first=$!
t_track $first
backend_wait_count "$PORT9" 1 req 3
ok $? "the first request reached the backend"
t0=$(t_now_ms)
out=$(curl -q -s --max-time 8 -D - -o /dev/null "http://127.0.0.1:$PORT1/age/a?delay_ms=200")
ms=$(($(t_now_ms) - t0))
like "$out" '^X-Cache: MISS' "after lock_age the waiting request is a MISS of its own"
[ "$ms" -ge 500 ] && [ "$ms" -lt 2900 ]
ok $? "it waited for lock_age, not for the first fetch (${ms} ms)"
is "$(backend_count "$PORT9" req)" 2 "two requests reached the backend"
wait "$first"
is "$?" 0 "the first request completes too"

# ------------------------------------------------- a keys zone that fills up
n=0 fails=0
while [ $n -lt 300 ]; do
    code=$(curl -q -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT1/many/k$n")
    [ "$code" = 200 ] || fails=$((fails + 1))
    n=$((n + 1))
done
is "$fails" 0 "300 keys through a 20k keys zone: every request answered 200"
out=$(curl -q -s -D - -o /dev/null "http://127.0.0.1:$PORT1/many/k299")
like "$out" '^X-Cache: HIT' "the newest key is still cached"
out=$(curl -q -s -D - -o /dev/null "http://127.0.0.1:$PORT1/many/k0")
like "$out" '^X-Cache: MISS' "the oldest key made room: fetched again"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert in the error log"

fc_stop
ok $? "graceful stop"
done_testing

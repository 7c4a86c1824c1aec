# 421-http-cache-stale: expired entries, as nginx 1.22 treats them.
# proxy_cache_use_stale error / timeout / http_500 http_502 http_503
# http_504 (STALE with the old body; without it the error goes through);
# use_stale updating with and without proxy_cache_background_update
# (STALE for the request that starts a background update, UPDATING for the
# others while the backend is slow, then HIT with the new body);
# proxy_cache_lock (100 concurrent requests for one cold key reach the
# backend once; without the lock each does) and proxy_cache_lock_timeout;
# proxy_cache_revalidate with ETag and with Last-Modified (REVALIDATED, the
# backend answered 304) and off (EXPIRED, a full fetch).
# Skips in a build without the cache (./configure --without-http_cache).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf stale.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache z;
        proxy_cache_key $uri; # the query string steers the backend only
        proxy_cache_valid 1s;
        proxy_read_timeout 500ms;

        location /err/ {
            proxy_cache_use_stale error;
            proxy_pass http://127.0.0.1:@PORT8@;
        }
        location /noerr/ {
            proxy_pass http://127.0.0.1:@PORT8@;
        }
        location /to/ {
            proxy_cache_use_stale timeout;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /noto/ {
            proxy_cache_use_stale error;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /h/ {
            proxy_cache_use_stale http_500 http_502 http_503 http_504;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /h502/ {
            proxy_cache_use_stale http_502;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /bg/ {
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /fg/ {
            proxy_cache_use_stale updating;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /lock/ {
            proxy_cache_valid 10m;
            proxy_cache_lock on;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /nolock/ {
            proxy_cache_valid 10m;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /lockto/ {
            proxy_cache_valid 10m;
            proxy_cache_lock on;
            proxy_cache_lock_timeout 300ms;
            proxy_read_timeout 5s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /reval/ {
            proxy_cache_revalidate on;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /noreval/ {
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF

need_cache "$T/stale.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
backend_start reflect "$PORT8" -i eight || t_bail "second reflect backend"
FC_WAIT_PORTS=$PORT1 fc_start stale.conf
ok $? "starts" || t_bail "cannot start"

# get PATH [CURL_ARGS]: a request through the proxy; X = its X-Cache ("-"
# when absent), MS = how long it took.
get() { cache_get "$@"; }

# seen DESC STATUS CACHE NEW: the last get answered STATUS with X-Cache
# CACHE, and NEW requests reached the main backend since the previous `seen`.
seen() { cache_seen "$@"; }
notmod() { backend_count "$PORT9" notmod; }

# ------------------------------------------------------- prime, then expire
# Each key's first answer is the request line the backend saw; later answers
# are told apart by their query strings.
for k in /h/s500 /h/s502 /h/s503 /h/s504 /h502/s500 /to/a /noto/a /bg/a /fg/a \
    '/reval/e?etag=%22v1%22' '/reval/l?lm=Sat,+01+Jan+2022+00:00:00+GMT' \
    '/reval/c?etag=%22v1%22' '/noreval/e?etag=%22v1%22'; do
    get "$k"
    seen "prime $k" 200 MISS 1
done
get /err/a
is "$H_STATUS $X $(hhdr X-Backend)" "200 MISS eight" "prime /err/a (second backend)"
err_body=$H_BODY
get /noerr/a
is "$H_STATUS $X $(hhdr X-Backend)" "200 MISS eight" "prime /noerr/a (second backend)"
# primed last: once it has expired, so has everything above (valid 1s lives
# 1 to 2 s in nginx, whose clock has whole seconds)
get /h/probe
seen "prime the probe" 200 MISS 1
not_hit() {
    get "$1"
    [ "$X" != HIT ]
}
wait_for 4 not_hit /h/probe
seen "the probe expired" 200 EXPIRED 1

# -------------------------------------------------------- use_stale error
backend_stop "$PORT8"
get /err/a
is "$H_STATUS $X" "200 STALE" "use_stale error, backend down: STALE"
is "$H_BODY" "$err_body" "STALE: the old body"
get /err/a
is "$H_STATUS $X" "200 STALE" "use_stale error: STALE again (still expired)"
get /noerr/a
is "$H_STATUS $X" "502 EXPIRED" "no use_stale, backend down: 502 (EXPIRED)"

# ------------------------------------------------------ use_stale timeout
get '/to/a?delay_ms=1500'
seen "use_stale timeout, slow backend" 200 STALE 1
like "$H_BODY" '^GET /to/a HTTP' "timeout STALE: the old body"
[ "$MS" -ge 400 ] && [ "$MS" -lt 1400 ]
ok $? "timeout STALE: after proxy_read_timeout 500ms (${MS} ms)"
get '/noto/a?delay_ms=1500'
seen "use_stale error only, slow backend" 504 EXPIRED 1

# ------------------------------------------------------ use_stale http_5xx
for code in 500 502 503 504; do
    get "/h/s$code?status=$code"
    seen "use_stale http_$code, backend says $code" 200 STALE 1
    like "$H_BODY" "^GET /h/s$code HTTP" "http_$code STALE: the old body"
done
get '/h502/s500?status=500'
seen "use_stale http_502 only, backend says 500" 500 EXPIRED 1
get /h/s500
seen "backend fine again: a fresh fetch" 200 EXPIRED 1
get /h/s500
seen "and it is stored" 200 HIT 0

# ------------------------------------ use_stale updating, background update
# nginx 1.22 calls the request that starts the update STALE, the ones
# during it UPDATING
get '/bg/a?delay_ms=1500'
is "$H_STATUS $X" "200 STALE" "background update: the request starting it gets STALE"
[ "$MS" -lt 1000 ]
ok $? "STALE at once, not after the slow backend (${MS} ms)"
like "$H_BODY" '^GET /bg/a HTTP' "STALE: the old body"
backend_wait_count "$PORT9" $((B + 1)) req 3
seen "the background update reached the backend" 200 STALE 1
get /bg/a
seen "while the update runs" 200 UPDATING 0
like "$H_BODY" '^GET /bg/a HTTP' "UPDATING: the old body"
hit_new_bg() {
    get /bg/a
    [ "$X" = HIT ]
}
wait_for 4 hit_new_bg
seen "after the background update" 200 HIT 0
like "$H_BODY" '^GET /bg/a\?delay_ms=1500 HTTP' "HIT: the background update's body"

# ---------------------------------- use_stale updating, the request updates
curl -q -s --max-time 5 -D "$T/fg.head" -o "$T/fg.body" \
    "http://127.0.0.1:$PORT1/fg/a?delay_ms=1000" &
fg_pid=$!
t_track $fg_pid
backend_wait_count "$PORT9" $((B + 1)) req 3
ok $? "the updating request reached the backend"
get /fg/a
seen "meanwhile another request" 200 UPDATING 1
like "$H_BODY" '^GET /fg/a HTTP' "UPDATING: the old body"
wait $fg_pid
like "$(tr -d '\r' <"$T/fg.head")" '^X-Cache: EXPIRED$' "the updating request itself: EXPIRED"
like "$(cat "$T/fg.body")" '^GET /fg/a\?delay_ms=1000 HTTP' "... with the new body"
get /fg/a
seen "then" 200 HIT 0
like "$H_BODY" '^GET /fg/a\?delay_ms=1000 HTTP' "HIT: the new body"

# ----------------------------------------------------------- proxy_cache_lock
# many NAME N PATH: N requests at once (one curl, N connections); their
# heads in $T/NAME.heads, "status size" lines in $T/NAME.out.
many() {
    _m_url="http://127.0.0.1:$PORT1$3"
    set -- "$1" "$2"
    _m_i=0 _m_args=
    while [ "$_m_i" -lt "$2" ]; do
        _m_args="$_m_args $_m_url -o /dev/null"
        _m_i=$((_m_i + 1))
    done
    # shellcheck disable=SC2086
    curl -q -s -Z --parallel-immediate --parallel-max "$2" --max-time 10 \
        -D "$T/$1.heads" -w '%{http_code} %{size_download}\n' $_m_args >"$T/$1.out" 2>"$T/$1.err"
}
xcount() { grep -c "^X-Cache: $2" "$T/$1.heads" | tr -d ' '; }

if curl --help all 2>/dev/null | grep -q -- '--parallel-immediate'; then
    many lock 100 '/lock/k?delay_ms=1000'
    is "$(sort "$T/lock.out" | uniq -c | wc -l | tr -d ' ')" 1 "lock: 100 answers alike"
    like "$(head -n 1 "$T/lock.out")" '^200 [1-9]' "lock: they are 200s with a body"
    is "$(wc -l <"$T/lock.out" | tr -d ' ')" 100 "lock: 100 answers"
    is "$(xcount lock MISS) $(xcount lock HIT)" "1 99" "lock: one MISS, 99 HITs"
    seen_n=$(backend_count "$PORT9" req)
    is "$((seen_n - B))" 1 "lock: one request reached the backend"
    B=$seen_n
    many nolock 10 '/nolock/k?delay_ms=1000'
    is "$(xcount nolock MISS)" 10 "no lock: 10 MISSes"
    seen_n=$(backend_count "$PORT9" req)
    is "$((seen_n - B))" 10 "no lock: each reached the backend"
    B=$seen_n

    t0=$(t_now_ms)
    many lockto 5 '/lockto/k?delay_ms=1500'
    is "$(xcount lockto MISS)" 5 "lock_timeout 300ms: 5 MISSes"
    seen_n=$(backend_count "$PORT9" req)
    is "$((seen_n - B))" 5 "lock_timeout: the waiters went to the backend themselves"
    B=$seen_n
    ms=$(($(t_now_ms) - t0))
    [ "$ms" -lt 2900 ]
    ok $? "lock_timeout: the waiters did not wait for the first ($ms ms)"
    get /lockto/k
    seen "lock_timeout: the lock holder's answer was stored" 200 HIT 0
else
    skip "curl without --parallel-immediate" 12
fi

# -------------------------------------------------------------- revalidate
n0=$(notmod)
get '/reval/e?etag=%22v1%22'
seen "revalidate, same ETag" 200 REVALIDATED 1
is "$(($(notmod) - n0))" 1 "REVALIDATED: the backend answered 304"
like "$H_BODY" '^GET /reval/e\?etag=%22v1%22 HTTP' "REVALIDATED: the stored body"
unlike "$H_BODY" '^If-None-Match' "REVALIDATED: the stored body (not a conditional request)"
is "$(hhdr ETag)" '"v1"' "REVALIDATED: the ETag"
get /reval/e
seen "after REVALIDATED: fresh again" 200 HIT 0
n0=$(notmod)
get '/reval/l?lm=Sat,+01+Jan+2022+00:00:00+GMT'
seen "revalidate, same Last-Modified" 200 REVALIDATED 1
is "$(($(notmod) - n0))" 1 "REVALIDATED by If-Modified-Since: the backend answered 304"
is "$(hhdr Last-Modified)" "Sat, 01 Jan 2022 00:00:00 GMT" "REVALIDATED: the Last-Modified"
n0=$(notmod)
get '/reval/c?etag=%22v2%22'
seen "revalidate, the ETag changed" 200 EXPIRED 1
is "$(($(notmod) - n0))" 0 "changed ETag: a full answer"
like "$H_BODY" '^If-None-Match: "v1"$' "changed ETag: nginx asked with the stored ETag"
like "$H_BODY" '^GET /reval/c\?etag=%22v2%22 HTTP' "changed ETag: the new body"
get /reval/c
seen "changed ETag: the new answer stored" 200 HIT 0
n0=$(notmod)
get '/noreval/e?etag=%22v1%22'
seen "revalidate off" 200 EXPIRED 1
is "$(($(notmod) - n0))" 0 "revalidate off: no 304"
unlike "$H_BODY" '^If-(None-Match|Modified-Since)' "revalidate off: an unconditional request"

fc_stop
is $? 0 "graceful stop"
done_testing

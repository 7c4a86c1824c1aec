# 422-http-cache-disk: the cache on disk, as nginx 1.22 keeps it.
# Files at PATH/x/yz/<md5 of the key> with levels=1:2; no temp files left
# with use_temp_path=off (temps in PATH) or on (temps in proxy_temp_path); a
# backend that dies mid-body, or a worker killed mid-body, leaves no entry
# (the next request is a MISS); max_size evicts the least recently used
# entries and inactive= the idle ones (the cache manager, within a bounded
# time); entries survive a reload and a restart (served from disk, the
# backend untouched).  Skips while fulcrum lacks the cache.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf disk.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    proxy_temp_path @T@/ptmp;
    proxy_cache_path @T@/c levels=1:2 keys_zone=c:1m use_temp_path=off;
    proxy_cache_path @T@/t keys_zone=t:1m;
    proxy_cache_path @T@/s keys_zone=s:1m max_size=16k;
    proxy_cache_path @T@/i keys_zone=i:1m inactive=2s;

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache_key $uri; # the query string steers the backend only
        proxy_cache_valid 10m;

        location /c/ {
            proxy_cache c;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /t/ {
            proxy_cache t;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /s/ {
            proxy_cache s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /i/ {
            proxy_cache i;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        # one key, two backends: a trickling one (killed mid-body), a good one
        location /crash/slow {
            proxy_cache c;
            proxy_cache_key crashkey;
            proxy_read_timeout 10s;
            proxy_pass http://127.0.0.1:@PORT8@;
        }
        location /crash/ok {
            proxy_cache c;
            proxy_cache_key crashkey;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF

need_cache "$T/disk.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
backend_start slow "$PORT8" -t 20 \
    -b 'HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Slow: 1\r\n\r\n0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789' ||
    t_bail "slow backend"
FC_WAIT_PORTS=$PORT1 fc_start disk.conf
ok $? "starts" || t_bail "cannot start"

get() { cache_get "$@"; }
seen() { cache_seen "$@"; }
md5() { printf '%s' "$1" | md5sum | cut -d' ' -f1; }
# cfile DIR KEY: where levels=1:2 puts KEY: DIR/<last hex>/<two before>/<md5>
cfile() {
    _cf_h=$(md5 "$2")
    echo "$1/$(echo "$_cf_h" | cut -c32)/$(echo "$_cf_h" | cut -c30-31)/$_cf_h"
}
files() { find "$1" -type f 2>/dev/null | sort; }
nfiles() { files "$1" | wc -l | tr -d ' '; }
# strays DIR: regular files whose name is not an md5 (temp files)
strays() { files "$1" | grep -Ev '/[0-9a-f]{32}$'; }

# ---------------------------------------- fill the eviction zones first
# (the cache manager's clock starts now; checked at the end)
i=1
while [ "$i" -le 8 ]; do
    get "/s/$i?size=3000"
    seen "max_size zone: entry $i" 200 MISS 1
    i=$((i + 1))
done
get /i/1
seen "inactive=2s zone: an entry" 200 MISS 1
get /i/1
seen "inactive=2s zone: at once" 200 HIT 0

# --------------------------------------------------------------- layout
get '/c/layout?size=5000'
seen "an entry" 200 MISS 1
f=$(cfile "$T/c" /c/layout)
test -f "$f"
ok $? "levels=1:2: the entry is ${f#"$T"/}" || { diag "files:"; files "$T/c" | sed 's/^/#   /'; }
test "$(t_size "$f")" -gt 5000
ok $? "the file holds the 5000-byte body ($(t_size "$f") bytes)"
get /c/layout
seen "then" 200 HIT 0
is "$(t_size "$T/h.body")" 5000 "HIT: the whole body"
is "$(strays "$T/c")" "" "use_temp_path=off: no temp file left in the cache"
get '/t/a?size=5000'
seen "use_temp_path on" 200 MISS 1
test -f "$T/t/$(md5 /t/a)"
ok $? "no levels: the entry is t/<md5>"
is "$(files "$T/ptmp")" "" "use_temp_path on: nothing left in proxy_temp_path"

# ------------------------------------------------- backend dies mid-body
for z in c t; do
    get "/$z/die?size=100000&die_after=30000"
    isnt "$H_RC" 0 "/$z/: backend dies mid-body: the client sees a truncated answer"
    is "$X" MISS "/$z/: it was a MISS"
    B=$(backend_count "$PORT9" req)
    if [ $z = c ]; then f=$(cfile "$T/c" /c/die); else f=$T/t/$(md5 /t/die); fi
    test ! -e "$f"
    ok $? "/$z/: no cache file for it"
    get "/$z/die?size=100000"
    seen "/$z/: the next request" 200 MISS 1
    is "$(t_size "$T/h.body")" 100000 "/$z/: the whole body this time"
    get "/$z/die"
    seen "/$z/: and then" 200 HIT 0
    is "$(t_size "$T/h.body")" 100000 "/$z/: HIT: the whole body"
done
is "$(strays "$T/c") $(strays "$T/t")" " " "no temp file left in either cache"
is "$(files "$T/ptmp")" "" "nothing left in proxy_temp_path"

# ---------------------------------------------- a worker killed mid-body
workers() {
    for _w_p in $(fc_workers); do
        tr '\0' ' ' <"/proc/$_w_p/cmdline" 2>/dev/null | grep -q 'worker process' && echo "$_w_p"
    done
}
old_workers=$(workers)
curl -q -s --max-time 8 -D "$T/crash.head" -o "$T/crash.body" \
    "http://127.0.0.1:$PORT1/crash/slow" &
crash_pid=$!
t_track $crash_pid
backend_wait_count "$PORT8" 1 accept 5
ok $? "the trickling backend was asked"
# The proxy buffers what it gets, so nothing outside shows how far the
# transfer is: the backend sends the ~50-byte head in ~1 s (a byte every
# 20 ms), then the 100-byte body in 2 s; 1.5 s is mid-body.
sleep 1.5
# shellcheck disable=SC2086
kill -KILL $old_workers
wait $crash_pid
isnt $? 0 "the client of the killed worker got a broken answer"
[ "$(t_size "$T/crash.body")" -lt 100 ]
ok $? "... $(t_size "$T/crash.body") of 100 body bytes"
new_workers() {
    _nw=$(workers)
    [ -n "$_nw" ] && [ "$_nw" != "$old_workers" ]
}
wait_for 5 new_workers
ok $? "the master started a new worker"
test ! -e "$(cfile "$T/c" crashkey)"
ok $? "no cache file for the key of the killed transfer"
get /crash/ok
seen "the same key, a good backend" 200 MISS 1
get /crash/ok
seen "then" 200 HIT 0

# ------------------------------------------------------- eviction (manager)
# max_size=16k: eight 3000-byte entries do not fit; the least recently used
# (the first ones) must go.  inactive=2s: an entry nobody asked for goes.
evicted() {
    [ "$(nfiles "$T/s")" -le 4 ] && [ ! -e "$T/s/$(md5 /s/1)" ] && [ ! -e "$T/i/$(md5 /i/1)" ]
}
t0=$(t_now_ms)
wait_for 13 evicted
ok $? "the cache manager evicted, after $(($(t_now_ms) - t0)) ms" ||
    { diag "s:"; files "$T/s" | sed 's/^/#   /'; diag "i:"; files "$T/i" | sed 's/^/#   /'; }
n=$(nfiles "$T/s")
[ "$n" -ge 1 ] && [ "$n" -le 4 ]
ok $? "max_size: 1 to 4 entries of 8 are left ($n)"
test -f "$T/s/$(md5 /s/8)"
ok $? "max_size: the newest entry is still there"
get /s/8
seen "max_size: the newest" 200 HIT 0
get /s/1
seen "max_size: the oldest" 200 MISS 1
get /i/1
seen "inactive: the idle entry" 200 MISS 1

# --------------------------------------------------------- reload, restart
fc_reload
ok $? "reload" || t_bail "reload failed"
get /c/layout
seen "after a reload" 200 HIT 0
is "$(t_size "$T/h.body")" 5000 "after a reload: the whole body"
fc_stop
is $? 0 "graceful stop"
FC_WAIT_PORTS=$PORT1 fc_start disk.conf
ok $? "a new server on the same cache" || t_bail "cannot restart"
get /c/layout
seen "after a restart" 200 HIT 0
is "$(t_size "$T/h.body")" 5000 "after a restart: the whole body"
get /crash/ok
seen "after a restart, another key" 200 HIT 0
get /c/never
seen "after a restart, a new key" 200 MISS 1
fc_stop
is $? 0 "graceful stop"
done_testing

# 423-http-cache-purge: proxy_cache_purge, beyond nginx's open-source build,
# with NGINX Plus' documented semantics: "proxy_cache_purge string ...;" - a
# request is a purge when one of the strings is neither empty nor "0"
# (typically a map of $request_method); the entry of the request's cache key
# is removed and the answer is 204 (No Content); a key ending in "*" removes
# every entry whose key starts with what precedes it.  allow/deny (the
# access phase) restrict it like any request.  Plus documents no other
# answer, so purging a key that is not cached is a 204 too (purging is
# idempotent).  A purge never reaches the backend.
# Skips with nginx OSS (no such directive) and while fulcrum lacks it.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf purge.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    map $request_method $purge_method {
        PURGE   1;
        default 0;
    }
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache z;
        proxy_cache_valid 10m;

        location /p/ {
            proxy_cache_key $uri;
            proxy_cache_purge $purge_method;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        # the keys of /p/, purged from elsewhere: refused, then allowed
        location ~ ^/locked(/p/.*)$ {
            allow 192.0.2.1;
            deny all;
            proxy_cache_key $1;
            proxy_cache_purge $purge_method;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location ~ ^/open(/p/.*)$ {
            allow 127.0.0.1;
            deny all;
            proxy_cache_key $1;
            proxy_cache_purge $purge_method;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        # several strings: any one neither empty nor "0" makes a purge
        location /multi/ {
            proxy_cache_key $uri;
            proxy_cache_purge $arg_zero $http_x_purge;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        # no proxy_cache_purge: PURGE is just another method, proxied
        location /plain/ {
            proxy_cache_key $uri;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF

if [ "${FC_BIN##*/}" = nginx ] && ! fc_run -t -c "$T/purge.conf" &&
    grep -q 'unknown directive "proxy_cache_purge"' "$T/fc_run.out"; then
    skip_all "nginx OSS has no proxy_cache_purge (an NGINX Plus directive)"
fi
need_cache "$T/purge.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
FC_WAIT_PORTS=$PORT1 fc_start purge.conf
ok $? "starts" || t_bail "cannot start"

get() { cache_get "$@"; }
purge() {
    get "$1" -X PURGE
}
seen() { cache_seen "$@"; }
# purged DESC: the last request was a successful purge (204, no body) that
# did not reach the backend
purged() {
    is "$H_STATUS" 204 "$1: 204"
    is "$(t_size "$T/h.body")" 0 "$1: no body"
    _p_n=$(backend_count "$PORT9" req)
    is "$((_p_n - B))" 0 "$1: not passed to the backend"
    B=$_p_n
}
# cached PATH...: each is fetched (MISS) then served from the cache (HIT)
cached() {
    for _c_p in "$@"; do
        get "$_c_p"
        seen "$_c_p" 200 MISS 1
        get "$_c_p"
        seen "$_c_p again" 200 HIT 0
    done
}

# ----------------------------------------------------------------- one key
cached /p/a /p/b
purge /p/a
purged "PURGE /p/a"
get /p/a
seen "/p/a after its purge" 200 MISS 1
get /p/a
seen "/p/a stored again" 200 HIT 0
get /p/b
seen "/p/b untouched" 200 HIT 0
purge /p/never
purged "PURGE of a key never cached"
get /p/never
seen "the key never cached" 200 MISS 1

# ---------------------------------------------------------------- wildcard
cached /p/w1 /p/w2 /p/wx/3 /p/other
purge '/p/w*'
purged "PURGE /p/w*"
for p in /p/w1 /p/w2 /p/wx/3; do
    get "$p"
    seen "$p after PURGE /p/w*" 200 MISS 1
done
get /p/other
seen "/p/other after PURGE /p/w*" 200 HIT 0
get /p/a
seen "/p/a after PURGE /p/w*" 200 HIT 0

# ------------------------------------------------------------- allow/deny
cached /p/d
purge /locked/p/d
is "$H_STATUS" 403 "PURGE from a denied address: 403"
is "$(($(backend_count "$PORT9" req) - B))" 0 "denied PURGE: not passed to the backend"
get /p/d
seen "/p/d after the denied PURGE" 200 HIT 0
purge /open/p/d
purged "PURGE from an allowed address"
get /p/d
seen "/p/d after the allowed PURGE" 200 MISS 1

# ------------------------------------------------ the purge condition
cached /multi/m
get '/multi/m?zero=0'
seen "GET with strings \"0\" and empty: a normal request" 200 HIT 0
get '/multi/m?zero=0' -X PURGE
seen "PURGE with strings \"0\" and empty: not a purge (proxied)" 200 - 1
like "$H_BODY" '^PURGE /multi/m\?zero=0 HTTP' "... the backend got the PURGE"
get /multi/m
seen "/multi/m still cached" 200 HIT 0
get /multi/m -H 'X-Purge: yes'
purged "any method with a non-empty, non-\"0\" string purges (X-Purge)"
get /multi/m
seen "/multi/m after it" 200 MISS 1

cached /plain/a
get /plain/a -X PURGE
seen "PURGE where proxy_cache_purge is not set: proxied" 200 - 1
like "$H_BODY" '^PURGE /plain/a HTTP' "... the backend got the PURGE"
get /plain/a
seen "/plain/a still cached" 200 HIT 0

# ------------------------------------------------- a purge survives restart
purge /p/b
purged "PURGE /p/b"
fc_stop
is $? 0 "graceful stop"
FC_WAIT_PORTS=$PORT1 fc_start purge.conf
ok $? "restart on the same cache" || t_bail "cannot restart"
get /p/other
seen "after a restart, an entry kept" 200 HIT 0
get /p/b
seen "after a restart, the purged /p/b stays purged" 200 MISS 1
fc_stop
is $? 0 "graceful stop"
done_testing

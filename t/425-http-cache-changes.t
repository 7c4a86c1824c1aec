# 425-http-cache-changes: an entry whose upstream changes its answer.
# A key whose responses stopped varying is cached under its main key again
# (lookups stop following variants); a background update that revalidates
# (304) makes the entry fresh again and keeps its body; a client that leaves
# while its answer is being stored does not cut the entry short. Passes on
# nginx 1.22.
# Skips in a build without the cache (./configure --without-http_cache).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf changes.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;
    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache z;
        proxy_cache_key $uri;
        location /v/ {
            proxy_cache_valid 1s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /bg/ {
            proxy_cache_revalidate on;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            proxy_cache_valid 200 1s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /abort/ {
            proxy_cache_valid 1m;
            proxy_pass http://127.0.0.1:@PORT8@;
        }
        location /bgany/ {
            proxy_cache_revalidate on;
            proxy_cache_use_stale updating;
            proxy_cache_background_update on;
            proxy_cache_valid 200 1s;
            proxy_cache_valid any 1m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF2

need_cache "$T/changes.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
# A backend that trickles a 40-byte body, one byte every 20 ms.
backend_start slow "$PORT8" -t 20 \
    -b 'HTTP/1.1 200 OK\r\nContent-Length: 40\r\n\r\n0123456789012345678901234567890123456789' ||
    t_bail "slow backend"
FC_WAIT_PORTS=$PORT1 fc_start changes.conf
ok $? "starts" || t_bail "cannot start"

get() { cache_get "$@"; }

# ------------------------------------------------- Vary, then no Vary any more
get '/v/a?hdr=Vary:Accept-Encoding' -H 'Accept-Encoding: gzip'
is "$H_STATUS $X" "200 MISS" "a response with Vary is stored"
for l in bg bgany; do
    get "/$l/e?etag=%22v1%22"
    is "$H_STATUS $X" "200 MISS" "$l: stored with an ETag"
done
sleep 2.1 # 1s validity counts whole seconds, in nginx too
get /v/a -H 'Accept-Encoding: gzip'
is "$H_STATUS $X" "200 EXPIRED" "expired; the backend answers without Vary now"
get /v/a -H 'Accept-Encoding: gzip'
is "$H_STATUS $X" "200 HIT" "the answer without Vary is a HIT"
get /v/a -H 'Accept-Encoding: br'
is "$H_STATUS $X" "200 HIT" "... for any Accept-Encoding"

# --------------------------------------- background update that revalidates
for l in bg bgany; do
    get "/$l/e?etag=%22v1%22"
    is "$H_STATUS $X" "200 STALE" "$l: expired: STALE, revalidated in the background"
done
wait_304() { [ "$(backend_count "$PORT9" notmod)" -ge 2 ]; }
wait_for 3 wait_304
ok $? "the backend answered both revalidations with 304"
sleep 0.2
for l in bg bgany; do
    get "/$l/e?etag=%22v1%22"
    is "$H_STATUS $X" "200 HIT" "$l: the 304 made the entry fresh again"
    like "$H_BODY" '^GET /'"$l"'/e' "$l: with the entry's body, not the 304's"
done

# ---------------------------------- the client leaves while the entry is stored
# nginx goes on reading a response it is storing: the entry is complete.
curl -q -s --max-time 1.2 -o /dev/null "http://127.0.0.1:$PORT1/abort/a"
is "$?" 28 "the client gave up in the middle of the body"
stored() {
    get /abort/a --max-time 1
    [ "$X" = HIT ]
}
wait_for 3 stored
ok $? "the entry was stored whole all the same: HIT"
is "$H_BODY" "0123456789012345678901234567890123456789" "... with the whole body"

fc_stop
ok $? "graceful stop"
done_testing

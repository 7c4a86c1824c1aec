# 426-http-cache-policy: what decides whether and how long a response is
# stored, as nginx decides it, and what a cacheable response gets even when it
# is not stored (304 and 206 with proxy_no_cache): a response that is not buffered
# (proxy_buffering off, X-Accel-Buffering: no) is never stored;
# proxy_cache_valid lines are taken in order, "any" included; a malformed
# Cache-Control number forbids storing; a malformed X-Accel-Expires is
# ignored (Cache-Control decides); a 304 that says nothing of freshness makes
# the entry fresh again for its own max-age; $upstream_http_* on a HIT are
# the entry's fields; a Vary variant is made of every line of each named
# field, Accept-Encoding & co by their tokens; Cache-Control
# stale-while-revalidate and stale-if-error let an expired entry answer
# without proxy_cache_use_stale. Passes on nginx 1.22.
# Skips in a build without the cache (./configure --without-http_cache).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf policy.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;
    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        add_header X-UH $upstream_http_x_up always;
        proxy_cache z;
        location /nobuf/ {
            proxy_cache_valid 10m;
            proxy_buffering off;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /buf/ {
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /order/ {
            proxy_cache_valid any 1s;
            proxy_cache_valid 200 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /own/ {
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /reval/ {
            proxy_cache_revalidate on;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /nc/ {
            proxy_cache_valid 10m;
            proxy_cache_bypass $cookie_nocache;
            proxy_no_cache $cookie_nocache;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /var/ {
            proxy_cache $arg_z;
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /hoff/ {
            proxy_cache_convert_head off;
            proxy_cache_key $request_method$uri;
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /vary/ {
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        # RFC 5861 fields, with no proxy_cache_use_stale at all
        location /sie/ {
            proxy_cache_key $uri;
            proxy_pass http://127.0.0.1:@PORT8@;
        }
        location /swr/ {
            proxy_cache_key $uri;
            proxy_cache_background_update on;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF2

need_cache "$T/policy.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
backend_start reflect "$PORT8" || t_bail "reflect backend 2"
FC_WAIT_PORTS=$PORT1 fc_start policy.conf
ok $? "starts" || t_bail "cannot start"
B=0

# ------------------------------------------------------------- not buffered
cache_get /nobuf/a
cache_seen "proxy_buffering off" 200 MISS 1
cache_get /nobuf/a
cache_seen "proxy_buffering off, again: never stored" 200 MISS 1
cache_get '/buf/b?hdr=X-Accel-Buffering:no'
cache_seen "X-Accel-Buffering: no" 200 MISS 1
cache_get '/buf/b?hdr=X-Accel-Buffering:no'
cache_seen "X-Accel-Buffering: no, again: never stored" 200 MISS 1

# --------------------------------------------- $upstream_http_* on a HIT
cache_get '/buf/j?hdr=X-Up:v1'
cache_seen "a response with X-Up" 200 MISS 1
is "$(hhdr X-UH)" v1 '...$upstream_http_x_up'
cache_get '/buf/j?hdr=X-Up:v1'
cache_seen "again" 200 HIT 0
is "$(hhdr X-UH)" v1 '...$upstream_http_x_up on the HIT: the entry'"'"'s field, as nginx'

# ----------------------- a cacheable response that is not stored: 304, 206
cache_get '/nc/a?etag=%22v1%22' -H 'Cookie: nocache=1' -H 'If-None-Match: "v1"'
cache_seen "proxy_cache_bypass + proxy_no_cache, If-None-Match matching: 304 (nginx)" 304 BYPASS 1
cache_get '/nc/b?size=10&hdr=Accept-Ranges:bytes' -H 'Cookie: nocache=1' -H 'Range: bytes=0-3'
cache_seen "...Range: 206" 206 BYPASS 1
is "$(hhdr Content-Range)" "bytes 0-3/10" "...bytes 0-3 of 10"
cache_get '/own/c?status=404&hdr=Accept-Ranges:bytes'
cache_seen "a 404 with no proxy_cache_valid for it" 404 MISS 1
ok "$(hhas Accept-Ranges && echo 1 || echo 0)" "...its Accept-Ranges is not passed on (nginx: the range filter's, on a 200 only)"

# --------------------------------------------- proxy_cache_convert_head off
cache_get '/hoff/a?size=17' -I
cache_seen "convert_head off: HEAD stored as HEAD" 200 MISS 1
is "$(hhdr Content-Length)" 17 "...the upstream's Content-Length"
cache_get '/hoff/a?size=17' -I
cache_seen "...HEAD again" 200 HIT 0
is "$(hhdr Content-Length)" 17 "...answered with the stored HEAD's length, as nginx"

# ------------------------------------------------------- proxy_cache $var
cache_get '/var/a?z=nope'
cache_seen "proxy_cache \$arg_z naming no zone: 500, as nginx" 500 - 0
like "$(cat "$T/error.log")" 'cache "nope" not found' "...logged"
cache_get '/var/a?z=z'
cache_seen "...naming the zone: cached" 200 MISS 1
cache_get '/var/a?z=off'
cache_seen "...off: no cache" 200 - 1

# ------------------------------------------------------------------- Vary
V='/vary/a?hdr=Vary:Accept-Encoding'
cache_get "$V" -H 'Accept-Encoding: gzip, deflate'
cache_seen "Vary: Accept-Encoding, 'gzip, deflate'" 200 MISS 1
cache_get "$V" -H 'Accept-Encoding: gzip,deflate'
cache_seen "...'gzip,deflate' is the same variant (nginx compares the tokens)" 200 HIT 0
cache_get "$V" -H 'Accept-Encoding: gzip,   deflate'
cache_seen "...'gzip,   deflate' too" 200 HIT 0
cache_get "$V" -H 'Accept-Encoding: gzip' -H 'Accept-Encoding: deflate'
cache_seen "...and the two lines 'gzip' + 'deflate'" 200 HIT 0
V='/vary/b?hdr=Vary:X-A'
cache_get "$V" -H 'X-A: 1' -H 'X-A: 2'
cache_seen "Vary: X-A, two lines 1 + 2" 200 MISS 1
cache_get "$V" -H 'X-A: 1' -H 'X-A: 3'
cache_seen "...1 + 3 is another variant (every line counts)" 200 MISS 1
cache_get "$V" -H 'X-A: 1'
cache_seen "...and 1 alone another" 200 MISS 1

# ------------------------------------------------ proxy_cache_valid in order
cache_get /order/c
cache_seen "proxy_cache_valid any 1s before 200 10m" 200 MISS 1
for u in '/own/d?hdr=Cache-Control:max-age=60abc' '/own/e?hdr=Cache-Control:max-age=%2260%22' \
    '/own/f?hdr=Cache-Control:max-age=60,%20stale-if-error=1x' \
    '/buf/g?hdr=X-Accel-Expires:abc&hdr=Cache-Control:no-store' '/own/h?hdr=X-Accel-Expires:10abc'; do
    cache_get "$u"
    cache_get "$u"
    cache_seen "${u#*\?}: not stored" 200 MISS 2
done
cache_get '/own/i?hdr=X-Accel-Expires:abc&hdr=Cache-Control:max-age=60'
cache_get '/own/i?hdr=X-Accel-Expires:abc&hdr=Cache-Control:max-age=60'
cache_seen "a malformed X-Accel-Expires is ignored: Cache-Control max-age=60 stores" 200 HIT 1

cache_get '/reval/r?etag=%22e1%22&hdr=Cache-Control:max-age=1'
cache_seen "max-age=1 with an ETag" 200 MISS 1
SWR='hdr=Cache-Control:max-age=1,%20stale-while-revalidate=60'
cache_get "/swr/a?$SWR"
cache_seen "max-age=1, stale-while-revalidate=60" 200 MISS 1
cache_get '/sie/a?hdr=Cache-Control:max-age=1,%20stale-if-error=60'
is "$H_STATUS $X" "200 MISS" "max-age=1, stale-if-error=60"
cache_get '/sie/b?hdr=Cache-Control:max-age=1'
is "$H_STATUS $X" "200 MISS" "max-age=1 alone"
sleep 2.1 # whole seconds, in nginx too
cache_get /order/c
cache_seen "...the 200 lived 1 s: the first matching line (any) counts" 200 EXPIRED 1
cache_get '/reval/r?etag=%22e1%22&hdr=Cache-Control:max-age=1'
cache_seen "expired: revalidated with a 304 that says nothing of freshness" 200 REVALIDATED 1
cache_get '/reval/r?etag=%22e1%22&hdr=Cache-Control:max-age=1'
cache_seen "...fresh again for its own max-age (no proxy_cache_valid)" 200 HIT 0

# stale-while-revalidate: with proxy_cache_background_update the expired entry
# answers at once (STALE) while it is updated, though use_stale is not set
cache_get "/swr/a?delay_ms=1500&$SWR"
is "$H_STATUS $X" "200 STALE" "stale-while-revalidate: STALE, updated in the background"
ok "$([ "$MS" -lt 1000 ] && echo 0 || echo 1)" "...at once, not after the slow update (${MS} ms)"
# stale-if-error: a failed trip answers with the expired entry
backend_stop "$PORT8"
cache_get /sie/a
is "$H_STATUS $X" "200 STALE" "stale-if-error: the upstream is down, the expired entry answers"
cache_get /sie/b
is "$H_STATUS $X" "502 EXPIRED" "...without it, 502"

fc_stop
is $? 0 "graceful stop"
done_testing

# 410-http-range: the range and not-modified filters on cached responses
# (src/http/range.c, src/http/not_modified.c), as nginx 1.22 answers:
# single, suffix, open-ended and multipart ranges, 416, If-Range, max_ranges,
# Range on a HEAD and on HTTP/1.0, one range only on the MISS that stores;
# 304 for If-None-Match / If-Modified-Since (if_modified_since exact, before,
# off) on a HIT and on the MISS that stores, 412 for If-Match /
# If-Unmodified-Since; Accept-Ranges on cached responses only, and neither
# filter on a response that is not cached.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf range.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    proxy_cache_path @T@/cache keys_zone=rz:1m;
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_cache rz;
        proxy_cache_valid 200 10m;
        add_header X-Cache $upstream_cache_status;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        location /mr0/ {
            max_ranges 0;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /mr1/ {
            max_ranges 1;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /before/ {
            if_modified_since before;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /off/ {
            if_modified_since off;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /nc/ {
            proxy_cache off;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF

need_cache "$T/range.conf" || t_bail "the config is rejected"

backend_start reflect "$PORT9"
FC_WAIT_PORTS=$PORT1 fc_start range.conf
ok $? "starts" || t_bail "cannot start"

LM='Wed, 21 Oct 2015 07:28:00 GMT'
LM_Q='Wed,%2021%20Oct%202015%2007:28:00%20GMT'
# A 100-byte entity with validators, from a backend that allows ranges.
Q="size=100&hdr=Accept-Ranges:bytes&hdr=ETag:%22abc%22&hdr=Last-Modified:$LM_Q"
U="http://127.0.0.1:$PORT1"

# The entity reflect sends for size=N: byte i is [0-9a-zA-Z][i % 62], every 64th "\n".
awk 'BEGIN {
    s = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for (i = 0; i < 100; i++) printf "%s", (i % 64 == 63) ? "\n" : substr(s, i % 62 + 1, 1)
}' >"$T/entity"

# part START LEN: bytes of the entity
part() {
    tail -c +$(($1 + 1)) "$T/entity" | head -c "$2"
}

# warm PATH: a GET that stores PATH?Q, then one that must be its HIT.
warm() {
    hreq "$U$1?$Q"
    hreq "$U$1?$Q"
    is "$(hhdr X-Cache)" HIT "$1: cached"
}

# ---- ranges on a HIT --------------------------------------------------------------

hreq "$U/a?$Q"
is "$H_STATUS" 200 "MISS: 200"
is "$(hhdr X-Cache)" MISS "MISS: from the backend"
is "$(hhdr Accept-Ranges)" bytes "MISS that is stored: Accept-Ranges"
hreq "$U/a?$Q"
is "$(hhdr X-Cache)" HIT "then a HIT"
is "$(hhdr Accept-Ranges)" bytes "HIT: Accept-Ranges: bytes"
ok_cmd "HIT: the whole entity" cmp "$T/h.body" "$T/entity"

hreq -H 'Range: bytes=0-9' "$U/a?$Q"
is "$H_STATUS" 206 "single range: 206"
is "$(hhdr Content-Range)" "bytes 0-9/100" "single range: Content-Range"
is "$(hhdr Content-Length)" 10 "single range: Content-Length"
is "$H_BODY" 0123456789 "single range: its bytes"
is "$(hhdr Accept-Ranges)" "" "206: no Accept-Ranges"
is "$(hhdr ETag)" '"abc"' "206 keeps ETag"

hreq -H 'Range: bytes=-5' "$U/a?$Q"
is "$H_STATUS $(hhdr Content-Range)" "206 bytes 95-99/100" "suffix range"
part 95 5 >"$T/want"
ok_cmd "suffix range: the last 5 bytes" cmp "$T/h.body" "$T/want"

hreq -H 'Range: bytes=90-' "$U/a?$Q"
is "$H_STATUS $(hhdr Content-Range) $(hhdr Content-Length)" "206 bytes 90-99/100 10" \
    "open-ended range"
part 90 10 >"$T/want"
ok_cmd "open-ended range: its bytes" cmp "$T/h.body" "$T/want"

hreq -H 'Range: bytes=95-500' "$U/a?$Q"
is "$H_STATUS $(hhdr Content-Range)" "206 bytes 95-99/100" "a range past the end is cut"

hreq -H 'Range: bytes= 10 - 19' "$U/a?$Q"
is "$H_STATUS $(hhdr Content-Range)" "206 bytes 10-19/100" "spaces around the numbers"

hreq -H 'Range: bytes=0-9,20-29' "$U/a?$Q"
is "$H_STATUS" 206 "two ranges: 206"
ct=$(hhdr Content-Type)
like "$ct" '^multipart/byteranges; boundary=[0-9]{20}$' "two ranges: multipart/byteranges"
b=${ct##*boundary=}
is "$(hhdr Content-Length)" 218 "two ranges: Content-Length (nginx's)"
{
    printf '\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-9/100\r\n\r\n' "$b"
    part 0 10
    printf '\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 20-29/100\r\n\r\n' "$b"
    part 20 10
    printf '\r\n--%s--\r\n' "$b"
} >"$T/want"
ok_cmd "two ranges: nginx's multipart body" cmp "$T/h.body" "$T/want"

hreq -H 'Range: bytes=50-52,0-0,99-' "$U/a?$Q"
b=$(hhdr Content-Type)
b=${b##*boundary=}
{
    for r in '50 3 50-52' '0 1 0-0' '99 1 99-99'; do
        set -- $r
        printf '\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes %s/100\r\n\r\n' "$b" "$3"
        part "$1" "$2"
    done
    printf '\r\n--%s--\r\n' "$b"
} >"$T/want"
is "$H_STATUS" 206 "three ranges out of order: 206"
ok_cmd "three ranges: parts in the order asked" cmp "$T/h.body" "$T/want"

hreq -H 'Range: bytes=0-,0-' "$U/a?$Q"
is "$H_STATUS $(hhdr Accept-Ranges)" "200 bytes" "ranges larger than the entity in all: 200"
ok_cmd "... with the whole entity" cmp "$T/h.body" "$T/entity"

hreq -H 'Range: bytes=200-300' "$U/a?$Q"
is "$H_STATUS" 416 "a range past the end: 416"
is "$(hhdr Content-Range)" "bytes */100" "416: Content-Range: bytes */LENGTH"
like "$H_BODY" '416 Requested Range Not Satisfiable' "416: the error page"
is "$(hhdr Content-Length)" "$(wc -c <"$T/h.body" | tr -d ' ')" "416: its Content-Length"
hhas ETag
isnt $? 0 "416: no ETag"
hreq -H 'Range: bytes=abc' "$U/a?$Q"
is "$H_STATUS" 416 "a syntax error: 416"
hreq -H 'Range: items=0-1' "$U/a?$Q"
is "$H_STATUS $(hhdr Accept-Ranges)" "200 bytes" "another unit: 200"

# The answer after a 416 on the same connection is whole: the page had its length.
hraw "$PORT1" "GET /a?$Q HTTP/1.1\r\nHost: h\r\nRange: bytes=500-\r\n\r\nGET /a?$Q HTTP/1.1\r\nHost: h\r\nRange: bytes=1-2\r\nConnection: close\r\n\r\n"
is "$R_NRESP" 2 "416 then a range on one connection: two answers"
like "$(tail -c 4 "$T/r.out")" '^12$' "... the second one's bytes"

# ---- If-Range -------------------------------------------------------------------------

hreq -H 'Range: bytes=0-3' -H 'If-Range: "abc"' "$U/a?$Q"
is "$H_STATUS $H_BODY" "206 0123" "If-Range with the ETag: 206"
hreq -H 'Range: bytes=0-3' -H 'If-Range: "abd"' "$U/a?$Q"
is "$H_STATUS $(hhdr Accept-Ranges)" "200 bytes" "If-Range with another tag: the whole entity"
ok_cmd "... all of it" cmp "$T/h.body" "$T/entity"
hreq -H 'Range: bytes=0-3' -H "If-Range: $LM" "$U/a?$Q"
is "$H_STATUS" 206 "If-Range with the date: 206"
hreq -H 'Range: bytes=0-3' -H 'If-Range: Wed, 21 Oct 2015 07:28:01 GMT' "$U/a?$Q"
is "$H_STATUS" 200 "If-Range with another date: 200"

# ---- max_ranges -------------------------------------------------------------------------

warm /mr0/x
hreq -H 'Range: bytes=0-9' "$U/mr0/x?$Q"
is "$H_STATUS" 200 "max_ranges 0: 200"
is "$(hhdr Accept-Ranges)" "" "max_ranges 0: no Accept-Ranges"
warm /mr1/x
hreq -H 'Range: bytes=0-9' "$U/mr1/x?$Q"
is "$H_STATUS" 206 "max_ranges 1: one range is 206"
hreq -H 'Range: bytes=0-9,20-29' "$U/mr1/x?$Q"
is "$H_STATUS $(hhdr Accept-Ranges)" "200 bytes" "max_ranges 1: two ranges are the whole entity"

# ---- HEAD, HTTP/1.0 ------------------------------------------------------------------------

hraw "$PORT1" "HEAD /a?$Q HTTP/1.1\r\nHost: h\r\nRange: bytes=95-\r\nConnection: close\r\n\r\n"
is "$R_STATUS" 206 "HEAD with Range: 206"
like "$R_HEAD" '^Content-Range: bytes 95-99/100$' "HEAD with Range: Content-Range"
like "$R_HEAD" '^Content-Length: 5$' "HEAD with Range: the range's Content-Length"
like "$(tail -c 4 "$T/r.out" | od -An -c | tr -d ' ')" '\\r\\n\\r\\n$' "HEAD with Range: no body"
hreq -0 -H 'Range: bytes=1-2' "$U/a?$Q"
is "$H_STATUS $H_BODY" "206 12" "HTTP/1.0: ranges too"

# ---- the MISS that stores --------------------------------------------------------------------

hreq -H 'Range: bytes=0-9' "$U/b?$Q"
is "$H_STATUS $(hhdr X-Cache)" "206 MISS" "MISS with one range: 206"
is "$H_BODY" 0123456789 "MISS with one range: its bytes"
hreq "$U/b?$Q"
is "$(hhdr X-Cache)" HIT "... and the whole entity was stored"
ok_cmd "... all of it" cmp "$T/h.body" "$T/entity"
hreq -H 'Range: bytes=500-' "$U/h?$Q"
is "$H_STATUS $(hhdr X-Cache) $(hhdr Content-Range)" "416 MISS bytes */100" "MISS with a range past the end: 416"
like "$H_BODY" '416 Requested Range Not Satisfiable' "... the error page only"
hreq -H 'Range: bytes=0-9,20-29' "$U/c?$Q"
is "$H_STATUS $(hhdr X-Cache) $(hhdr Accept-Ranges)" "200 MISS bytes" \
    "MISS with two ranges: the whole entity (nginx cuts one range only while storing)"
hreq -H 'Range: bytes=0-9,20-29' "$U/c?$Q"
is "$H_STATUS $(hhdr X-Cache)" "206 HIT" "then its HIT: multipart"

# A larger entity: the MISS comes in several buffers, the HIT in one file part.
awk 'BEGIN {
    s = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for (i = 0; i < 200000; i++) printf "%s", (i % 64 == 63) ? "\n" : substr(s, i % 62 + 1, 1)
}' >"$T/big"
QB="size=200000&hdr=Accept-Ranges:bytes"
hreq -H 'Range: bytes=8000-70099' "$U/big?$QB"
is "$H_STATUS $(hhdr X-Cache) $(hhdr Content-Length)" "206 MISS 62100" \
    "MISS of 200 KB, a range across its buffers: 206"
tail -c +8001 "$T/big" | head -c 62100 >"$T/want"
ok_cmd "... its bytes" cmp "$T/h.body" "$T/want"
hreq -H 'Range: bytes=-3' "$U/big?$QB"
is "$H_STATUS $(hhdr X-Cache) $(hhdr Content-Range)" "206 HIT bytes 199997-199999/200000" \
    "HIT of 200 KB, the last bytes"
tail -c 3 "$T/big" >"$T/want"
ok_cmd "... its bytes" cmp "$T/h.body" "$T/want"
hreq -H 'Range: bytes=150000-150001,1-1' "$U/big?$QB"
b=$(hhdr Content-Type)
b=${b##*boundary=}
{
    printf '\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 150000-150001/200000\r\n\r\n' "$b"
    tail -c +150001 "$T/big" | head -c 2
    printf '\r\n--%s\r\nContent-Type: text/plain\r\nContent-Range: bytes 1-1/200000\r\n\r\n' "$b"
    tail -c +2 "$T/big" | head -c 1
    printf '\r\n--%s--\r\n' "$b"
} >"$T/want"
is "$H_STATUS" 206 "HIT of 200 KB, two ranges: 206"
ok_cmd "... the multipart body" cmp "$T/h.body" "$T/want"

# ---- 304 ------------------------------------------------------------------------------------

hreq -H 'If-None-Match: "abc"' "$U/a?$Q"
is "$H_STATUS $(hhdr X-Cache)" "304 HIT" "If-None-Match on a HIT: 304"
is "$(hhdr ETag)" '"abc"' "304 keeps ETag"
is "$(hhdr Last-Modified)" "$LM" "304 keeps Last-Modified"
is "$(hhdr Content-Length)$(hhdr Content-Type)$(hhdr Accept-Ranges)" "" \
    "304: no Content-Length, Content-Type, Accept-Ranges"
is "$(t_size "$T/h.body")" 0 "304: no body"
hreq -H 'If-None-Match: "x", W/"abc"' "$U/a?$Q"
is "$H_STATUS" 304 "If-None-Match: a list, weak comparison"
hreq -H 'If-None-Match: *' "$U/a?$Q"
is "$H_STATUS" 304 "If-None-Match: *"
hreq -H 'If-None-Match: "x"' "$U/a?$Q"
is "$H_STATUS" 200 "If-None-Match with another tag: 200"
hreq -H "If-Modified-Since: $LM" "$U/a?$Q"
is "$H_STATUS" 304 "If-Modified-Since the same date: 304"
hreq -H 'If-Modified-Since: Wed, 21 Oct 2015 07:29:00 GMT' "$U/a?$Q"
is "$H_STATUS" 200 "If-Modified-Since a later date: 200 (exact)"
hreq -H "If-Modified-Since: $LM" -H 'If-None-Match: "x"' "$U/a?$Q"
is "$H_STATUS" 200 "If-Modified-Since matches, If-None-Match does not: 200"
hreq -H "If-Modified-Since: $LM" -H 'Range: bytes=0-9' "$U/a?$Q"
is "$H_STATUS" 304 "a conditional GET with Range: 304"
hraw "$PORT1" "HEAD /a?$Q HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"abc\"\r\nConnection: close\r\n\r\n"
is "$R_STATUS" 304 "HEAD: 304 too"

warm /before/x
hreq -H 'If-Modified-Since: Wed, 21 Oct 2015 07:29:00 GMT' "$U/before/x?$Q"
is "$H_STATUS" 304 "if_modified_since before: a later date is 304"
hreq -H 'If-Modified-Since: Wed, 21 Oct 2015 07:27:00 GMT' "$U/before/x?$Q"
is "$H_STATUS" 200 "if_modified_since before: an earlier date is 200"
warm /off/x
hreq -H "If-Modified-Since: $LM" "$U/off/x?$Q"
is "$H_STATUS" 200 "if_modified_since off: 200"
hreq -H 'If-None-Match: "abc"' "$U/off/x?$Q"
is "$H_STATUS" 304 "if_modified_since off: If-None-Match still 304"

hreq -H 'If-None-Match: "abc"' "$U/d?$Q"
is "$H_STATUS $(hhdr X-Cache)" "304 MISS" "If-None-Match on the MISS that stores: 304"
hreq "$U/d?$Q"
is "$(hhdr X-Cache)" HIT "... and the entity was stored"
ok_cmd "... all of it" cmp "$T/h.body" "$T/entity"
hreq -H "If-Modified-Since: $LM" "$U/e?$Q"
is "$H_STATUS $(hhdr X-Cache)" "304 MISS" "If-Modified-Since on the MISS that stores: 304"

# ---- 412 ------------------------------------------------------------------------------------

hreq -H 'If-Match: "zzz"' "$U/a?$Q"
is "$H_STATUS" 412 "If-Match with another tag: 412"
like "$H_BODY" '412 Precondition Failed' "412: the error page"
hhas ETag
isnt $? 0 "412: no ETag"
hreq -H 'If-Match: "abc"' "$U/a?$Q"
is "$H_STATUS" 200 "If-Match with the tag: 200"
hreq -H 'If-Unmodified-Since: Wed, 21 Oct 2015 07:27:00 GMT' "$U/a?$Q"
is "$H_STATUS" 412 "If-Unmodified-Since an earlier date: 412"
hreq -H "If-Unmodified-Since: $LM" "$U/a?$Q"
is "$H_STATUS" 200 "If-Unmodified-Since the same date: 200"
hreq -H 'If-Match: "zzz"' "$U/f?$Q"
is "$H_STATUS" 412 "If-Match on the MISS that stores: 412"

# ---- responses the filters leave alone ------------------------------------------------------

# No Accept-Ranges from the backend: nginx allows no ranges on the cached copy either.
QN="size=100&hdr=ETag:%22abc%22"
hreq "$U/g?$QN"
hreq -H 'Range: bytes=0-9' "$U/g?$QN"
is "$H_STATUS $(hhdr X-Cache)" "200 HIT" "cached without the backend's Accept-Ranges: Range ignored"
is "$(hhdr Accept-Ranges)" "" "... and no Accept-Ranges"

hreq -H 'Range: bytes=0-9' "$U/nc/x?$QN"
is "$H_STATUS" 200 "not cached: Range ignored"
is "$(hhdr Accept-Ranges)$(hhdr Content-Range)" "" "not cached: no Accept-Ranges, no Content-Range"
ok_cmd "not cached: the whole entity" cmp "$T/h.body" "$T/entity"
hreq -H 'If-None-Match: "abc"' -H 'If-Match: "zzz"' "$U/nc/x?$QN"
is "$H_STATUS" 200 "not cached: no 304, no 412"

hreq -H 'Range: bytes=0-9' "$U/a?$Q&status=404"
is "$H_STATUS" 404 "a 404 is not cut"

unlike "$(cat "$T/error.log")" '\[(alert|crit)\]' "no alert in the error log"
fc_stop
is $? 0 "stops"
done_testing

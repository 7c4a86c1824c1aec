# 400-http-gzip: gzip on, gzip_types (text/html always, *), gzip_min_length,
# gzip_comp_level, gzip_buffers, gzip_proxied, gzip_vary, gzip_http_version,
# gzip_disable (regex, msie6), $gzip_ratio. Round trips (gunzip gives back
# the backend's bytes) for length, chunked and close-delimited bodies, tiny
# and large, with small gzip_buffers, unbuffered proxying and a slow
# client on a small socket buffer; no double
# compression; Accept-Encoding as nginx reads it; HEAD; 204/304; ETag
# weakening; a cache hit's file body when proxy_cache is there; config
# errors. Every expectation is nginx 1.22's (FC_BIN=/usr/sbin/nginx passes).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

command -v gzip >/dev/null 2>&1 || skip_all "gzip(1) is not installed"

NAME=${FC_BIN##*/}
TEXT="gzip me, gzip me, gzip me, gzip me, gzip me, gzip me, gzip me, gzip me!"

fc_conf gzip.conf <<EOF
@PRELUDE@
http {
    log_format g '\$request_uri \$gzip_ratio';
    access_log @T@/access.log g;
    gzip on;
    gzip_types text/plain;
    server {
        listen 127.0.0.1:@PORT1@;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        location /vary/ { gzip_vary on; proxy_pass http://127.0.0.1:@PORT9@; }
        location /min/ { gzip_min_length 100; proxy_pass http://127.0.0.1:@PORT9@; }
        location /json/ { gzip_types application/json; proxy_pass http://127.0.0.1:@PORT9@; }
        location /star/ { gzip_types *; proxy_pass http://127.0.0.1:@PORT9@; }
        location /off/ { gzip off; proxy_pass http://127.0.0.1:@PORT9@; }
        location /addetag/ { add_header ETag '"abc"'; proxy_pass http://127.0.0.1:@PORT9@; }
        location /lvl9/ {
            gzip_comp_level 9;
            gzip_buffers 2 4k;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /tiny/ { gzip_buffers 1 512; proxy_pass http://127.0.0.1:@PORT9@; }
        location /stream/ { proxy_buffering off; proxy_pass http://127.0.0.1:@PORT9@; }
        location /any/ { gzip_proxied any; proxy_pass http://127.0.0.1:@PORT9@; }
        location /expired/ { gzip_proxied expired; proxy_pass http://127.0.0.1:@PORT9@; }
        location /nocache/ { gzip_proxied no-cache private; proxy_pass http://127.0.0.1:@PORT9@; }
        location /auth/ { gzip_proxied auth; proxy_pass http://127.0.0.1:@PORT9@; }
        location /nolm/ { gzip_proxied no_last_modified; proxy_pass http://127.0.0.1:@PORT9@; }
        location /v10/ { gzip_http_version 1.0; proxy_pass http://127.0.0.1:@PORT9@; }
        location /disable/ {
            gzip_disable "somebot" msie6;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location = /if {
            gzip off;
            if (\$arg_z) { gzip on; }
            return 200 "$TEXT";
        }
        location = /ret { return 200 "$TEXT"; }
    }
    # A client socket that fills up at once: the filter must wait for it.
    server {
        listen 127.0.0.1:@PORT5@ sndbuf=4k;
        location / { proxy_pass http://127.0.0.1:@PORT9@; }
        location /tiny/ { gzip_buffers 1 512; proxy_pass http://127.0.0.1:@PORT9@; }
    }
    # A second proxy in front of the first, gzip on as well: one compression.
    server {
        listen 127.0.0.1:@PORT2@;
        location / { proxy_pass http://127.0.0.1:@PORT1@; }
    }
}
EOF
if ! fc_run -t -c "$T/gzip.conf" && grep -q 'unknown directive "gzip"' "$T/fc_run.out"; then
    skip_all "built without the gzip module (./configure --without-http_gzip)"
fi
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT5" fc_start gzip.conf
ok $? "$NAME starts" || t_bail "cannot start"

AE='Accept-Encoding: gzip'
U=http://127.0.0.1:$PORT1

# orig NAME QUERY: the backend's own body for ?QUERY, in $T/NAME.orig.
orig() {
    curl -q -s --max-time 10 -o "$T/$1.orig" "http://127.0.0.1:$PORT9/x?$2"
}

# gunzips_to NAME: the last body is one gzip stream whose content is $T/NAME.orig.
gunzips_to() {
    gzip -dc <"$T/h.body" >"$T/h.plain" 2>/dev/null && cmp -s "$T/h.plain" "$T/$1.orig"
}

# compressed DESC: the last response is gzip'ed as nginx sends it.
compressed() {
    is "$(hhdr Content-Encoding)" gzip "$1: Content-Encoding: gzip"
    hhas Content-Length
    isnt $? 0 "$1: no Content-Length"
}

# plain NAME DESC: the last response is not compressed and is $T/NAME.orig.
plain() {
    hhas Content-Encoding
    isnt $? 0 "$2: no Content-Encoding"
    cmp -s "$T/h.body" "$T/$1.orig"
    ok $? "$2: the backend's bytes as they are"
}

# ---- round trips -----------------------------------------------------------------

for n in 1 10 19 20 1000 1048576; do orig "s$n" "size=$n"; done
orig s300000 "size=300000"

hreq -H "$AE" "$U/a?size=1048576"
is "$H_STATUS" 200 "1 MB: 200"
compressed "1 MB with Content-Length"
is "$(hhdr Transfer-Encoding)" chunked "1 MB: chunked framing instead"
gunzips_to s1048576
ok $? "1 MB: gunzip gives the original back"
zsize=$(t_size "$T/h.body")
[ "$zsize" -lt 100000 ]
ok $? "1 MB: compressed to $zsize bytes"

hreq -H "$AE" "$U/a?size=1048576&chunked=1"
compressed "1 MB chunked upstream"
gunzips_to s1048576
ok $? "1 MB chunked upstream: round trip"

hreq -H "$AE" "$U/a?size=300000&eof=1"
compressed "close-delimited upstream"
gunzips_to s300000
ok $? "close-delimited upstream: round trip"

hreq -H "$AE" --http1.0 "$U/v10/a?size=300000"
compressed "HTTP/1.0 client (gzip_http_version 1.0)"
hhas Transfer-Encoding
isnt $? 0 "HTTP/1.0 client: close-delimited, not chunked"
gunzips_to s300000
ok $? "HTTP/1.0 client: round trip"

for loc in lvl9 tiny stream; do
    hreq -H "$AE" "$U/$loc/a?size=1048576&chunked=1"
    compressed "/$loc/"
    gunzips_to s1048576
    ok $? "/$loc/ (level 9 / 1 x 512 buffers / proxy_buffering off): 1 MB round trip"
done

# An incompressible 1 MB (the backend reflects the request body) to a client reading at
# 2 MB/s through a 4k send buffer: the write filter blocks again and again.
head -c 1000000 /dev/urandom >"$T/random.orig"
for loc in "" tiny/; do
    hreq -H "$AE" --limit-rate 2M --data-binary "@$T/random.orig" -H "Content-Type: text/plain" \
        "http://127.0.0.1:$PORT5/${loc}slow"
    compressed "slow client, random 1 MB, /$loc"
    gzip -dc <"$T/h.body" 2>/dev/null | tail -c 1000000 | cmp -s - "$T/random.orig"
    ok $? "slow client, random 1 MB, /$loc: round trip"
done

hreq -H "$AE" "$U/a?size=1&chunked=1"
compressed "1 byte, length unknown"
gunzips_to s1
ok $? "1 byte: round trip"

hreq -H "$AE" "$U/a?size=0&chunked=1"
compressed "empty chunked body"
gzip -dc <"$T/h.body" >"$T/h.plain" 2>/dev/null && [ ! -s "$T/h.plain" ]
ok $? "empty body: an empty gzip stream"

hreq -H "$AE" "$U/a?size=10"
plain s10 "10 bytes, under gzip_min_length 20"
is "$(hhdr Content-Length)" 10 "10 bytes: Content-Length kept"
hreq -H "$AE" "$U/a?size=19"
plain s19 "gzip_min_length 20, 19 bytes"
hreq -H "$AE" "$U/a?size=20"
compressed "gzip_min_length 20, 20 bytes"
gunzips_to s20
ok $? "20 bytes: round trip"

orig s99 "size=99"
orig s100 "size=100"
hreq -H "$AE" "$U/min/a?size=99"
plain s99 "gzip_min_length 100, 99 bytes"
hreq -H "$AE" "$U/min/a?size=100"
compressed "gzip_min_length 100, 100 bytes"
gunzips_to s100
ok $? "gzip_min_length 100, 100 bytes: round trip"

hreq -H "$AE" "$U/ret"
compressed "return 200 text"
[ "$(gzip -dc <"$T/h.body" 2>/dev/null)" = "$TEXT" ]
ok $? "return 200 text: round trip"

hreq -H "$AE" "$U/if"
plain_text=$(cat "$T/h.body")
[ "$plain_text" = "$TEXT" ]
ok $? "gzip off, if false: not compressed"
hreq -H "$AE" "$U/if?z=1"
compressed "gzip on inside if"

# ---- types ------------------------------------------------------------------------

orig s100 "size=100"
hreq -H "$AE" "$U/json/a?size=100"
plain s100 "text/plain not in gzip_types application/json"
hreq -H "$AE" "$U/json/a?size=100&hdr=Content-Type:application/json"
compressed "application/json listed"
hreq -H "$AE" "$U/json/a?size=100&hdr=Content-Type:text/html"
compressed "text/html is always in gzip_types"
hreq -H "$AE" "$U/a?size=100&hdr=Content-Type:TEXT/Plain;%20charset=utf-8"
compressed "type compared without charset, in any case"
hreq -H "$AE" "$U/a?size=100&hdr=Content-Type:text/plain;%20foo=bar"
plain s100 "a parameter other than charset: no match (nginx)"
hreq -H "$AE" "$U/star/a?size=100&hdr=Content-Type:application/octet-stream"
compressed "gzip_types *"
hreq -H "$AE" "$U/off/a?size=100"
plain s100 "gzip off"

# ---- never twice ------------------------------------------------------------------

hreq -H "$AE" "$U/a?size=100&hdr=Content-Encoding:br"
is "$(hhdr Content-Encoding)" br "upstream Content-Encoding: br kept alone"
cmp -s "$T/h.body" "$T/s100.orig"
ok $? "upstream Content-Encoding: br: the body as it is"
hreq -H "$AE" "http://127.0.0.1:$PORT2/a?size=1048576"
compressed "two gzip proxies in a row"
gunzips_to s1048576
ok $? "two gzip proxies in a row: one gunzip gives the original"

# ---- Accept-Encoding ------------------------------------------------------------------

hreq "$U/a?size=100"
plain s100 "no Accept-Encoding"
for ae in "gzip;q=0" "gzip; q=0.000" "identity" "x-gzip" "deflate" "gzip;q=1.5"; do
    hreq -H "Accept-Encoding: $ae" "$U/a?size=100"
    hhas Content-Encoding
    isnt $? 0 "Accept-Encoding: $ae: not compressed"
done
for ae in "GZIP" "deflate, gzip" "gzip;q=0.5" "br, gzip;q=1.0"; do
    hreq -H "Accept-Encoding: $ae" "$U/a?size=100"
    is "$(hhdr Content-Encoding)" gzip "Accept-Encoding: $ae: compressed"
done

# ---- Vary, HEAD, statuses, ETag ----------------------------------------------------------

hreq -H "$AE" "$U/vary/a?size=100"
is "$(hhdr Vary)" Accept-Encoding "gzip_vary on: Vary"
hreq "$U/vary/a?size=100"
is "$(hhdr Vary)" Accept-Encoding "gzip_vary on: Vary also when not compressed"
hreq -H "$AE" "$U/vary/a?size=10"
hhas Vary
isnt $? 0 "gzip_vary on: no Vary when gzip does not apply (min length)"
hreq -H "$AE" "$U/a?size=100"
hhas Vary
isnt $? 0 "gzip_vary off: no Vary"

hreq -I -H "$AE" "$U/vary/a?size=100"
is "$H_STATUS" 200 "HEAD: 200"
is "$(hhdr Content-Encoding)" gzip "HEAD: Content-Encoding: gzip as for GET"
hhas Content-Length
isnt $? 0 "HEAD: no Content-Length"
hhas Transfer-Encoding
isnt $? 0 "HEAD: no Transfer-Encoding"
is "$(hhdr Vary)" Accept-Encoding "HEAD: Vary"
# No body bytes: a GET on the same connection is answered right after the head.
head_get='HEAD /vary/a?size=100 HTTP/1.1\r\nHost: h\r\nAccept-Encoding: gzip\r\n\r\n'
hraw "$PORT1" "${head_get}GET /a?size=10 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
is "$R_NRESP" 2 "HEAD then GET: two responses"
is "$(printf '%s\n' "$R_OUT" | sed -n '/^$/{n;p;q;}' | cut -c1-12)" "HTTP/1.1 200" \
    "HEAD: no body before the next response"
hreq -I "$U/a?size=100"
is "$(hhdr Content-Length)" 100 "HEAD without Accept-Encoding: Content-Length"

for st in 204 304; do
    hreq -H "$AE" "$U/vary/a?size=100&status=$st"
    is "$H_STATUS" "$st" "$st passes"
    hhas Content-Encoding
    isnt $? 0 "$st: never compressed"
done
for st in 201 500; do
    hreq -H "$AE" "$U/a?size=100&status=$st"
    hhas Content-Encoding
    isnt $? 0 "$st: not compressed (only 200, 403, 404)"
done
for st in 403 404; do
    hreq -H "$AE" "$U/a?size=100&status=$st"
    is "$(hhdr Content-Encoding)" gzip "$st: compressed"
done

hreq -H "$AE" "$U/a?size=100&hdr=ETag:%22v1%22"
is "$(hhdr ETag)" 'W/"v1"' "compressed: the ETag made weak"
hreq -H "$AE" "$U/a?size=100&hdr=ETag:W/%22v1%22"
is "$(hhdr ETag)" 'W/"v1"' "compressed: a weak ETag as it is"
hreq -H "$AE" "$U/a?size=100&hdr=ETag:v1"
hhas ETag
isnt $? 0 "compressed: an unquoted ETag dropped"
hreq "$U/a?size=100&hdr=ETag:%22v1%22"
is "$(hhdr ETag)" '"v1"' "not compressed: the ETag untouched"
hreq -H "$AE" "$U/addetag/a?size=100&hdr=ETag:%22v1%22"
is "$(hhdr ETag)" 'W/"abc"' "add_header ETag replaces the upstream's and is made weak too (nginx)"
hreq -H "$AE" "$U/a?size=100&hdr=Accept-Ranges:bytes"
hhas Accept-Ranges
isnt $? 0 "compressed: Accept-Ranges dropped"

# ---- gzip_proxied, gzip_http_version, gzip_disable -----------------------------------------

VIA='Via: 1.1 cache.example'
EXP_PAST='hdr=Expires:Thu,%2001%20Jan%201970%2000:00:01%20GMT'
EXP_FUTURE='hdr=Expires:Thu,%2031%20Dec%202037%2023:55:55%20GMT'
LM='hdr=Last-Modified:Thu,%2001%20Jan%201970%2000:00:01%20GMT'
# proxied LOC QUERY EXPECT DESC [CURL_ARGS]: EXPECT is gzip or "-".
proxied() {
    _p_loc=$1 _p_q=$2 _p_want=$3 _p_desc=$4
    shift 4
    hreq -H "$AE" -H "$VIA" "$@" "$U/$_p_loc/a?size=100&$_p_q"
    _p_got=$(hhdr Content-Encoding)
    is "${_p_got:--}" "$_p_want" "gzip_proxied: $_p_desc"
}
hreq -H "$AE" -H "$VIA" "$U/a?size=100"
plain s100 "Via, gzip_proxied off (default)"
proxied any "" gzip "any"
proxied expired "$EXP_PAST" gzip "expired, Expires in the past"
proxied expired "$EXP_FUTURE" - "expired, Expires in the future"
proxied expired "hdr=Expires:soon" - "expired, Expires not a date"
proxied expired "" gzip "expired, no Expires nor Cache-Control (nginx)"
proxied nocache "hdr=Cache-Control:public,%20no-cache" gzip "no-cache"
proxied nocache "hdr=Cache-Control:private" gzip "private"
proxied nocache "hdr=Cache-Control:no-store" - "no-cache private, Cache-Control: no-store"
proxied nocache "$EXP_FUTURE" - "no-cache private, an Expires"
proxied auth "hdr=Cache-Control:public" gzip "auth with Authorization" \
    -H "Authorization: Basic eDp5"
proxied auth "hdr=Cache-Control:public" - "auth without Authorization"
proxied nolm "" gzip "no_last_modified, none"
proxied nolm "$LM" - "no_last_modified, Last-Modified"

hreq -H "$AE" --http1.0 "$U/a?size=100"
plain s100 "HTTP/1.0 request, gzip_http_version 1.1"

hreq -H "$AE" -A "Mozilla/5.0 (SomeBot/2.1)" "$U/disable/a?size=100"
plain s100 "gzip_disable: caseless regex on User-Agent"
hreq -H "$AE" -A "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)" "$U/disable/a?size=100"
plain s100 "gzip_disable msie6: MSIE 6"
hreq -H "$AE" -A "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)" "$U/disable/a?size=100"
is "$(hhdr Content-Encoding)" gzip "gzip_disable msie6: MSIE 6 SP2 is fine"
hreq -H "$AE" -A "curl/8" "$U/disable/a?size=100"
is "$(hhdr Content-Encoding)" gzip "gzip_disable: other agents compressed"

# ---- $gzip_ratio --------------------------------------------------------------------------

hreq -H "$AE" "$U/ratio/a?size=1048576"
zsize=$(t_size "$T/h.body")
want=$(awk -v i=1048576 -v o="$zsize" 'BEGIN {
    w = int(i / o); f = int(i * 100 / o) % 100
    if (int(i * 1000 / o) % 10 > 4) { f++; if (f > 99) { w++; f = 0 } }
    printf "%d.%02d", w, f }')
hreq "$U/ratio/plain?size=100"
t_wait_lines "$T/access.log" 1
wait_for 5 grep -q '^/ratio/plain' "$T/access.log"
is "$(sed -n 's|^/ratio/a?size=1048576 ||p' "$T/access.log")" "$want" \
    "\$gzip_ratio: original / compressed, nginx's rounding"
is "$(sed -n 's|^/ratio/plain?size=100 ||p' "$T/access.log")" - \
    "\$gzip_ratio: \"-\" when not compressed"

# ---- a cache hit: the body comes from a file ---------------------------------------------------

fc_conf cache.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    gzip on;
    gzip_types text/plain;
    proxy_cache_path @T@/cache keys_zone=gz:1m;
    server {
        listen 127.0.0.1:@PORT3@;
        location / {
            proxy_cache gz;
            proxy_cache_valid 200 10m;
            add_header X-Cache $upstream_cache_status;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF
if fc_run -t -c "$T/cache.conf"; then
    fc_stop
    FC_WAIT_PORTS=$PORT3 fc_start cache.conf
    ok $? "$NAME starts with proxy_cache"
    C=http://127.0.0.1:$PORT3
    hreq -H "$AE" "$C/hit?size=300000"
    is "$(hhdr X-Cache)" MISS "cache: first request is a MISS"
    gunzips_to s300000
    ok $? "cache MISS: compressed round trip"
    hreq -H "$AE" "$C/hit?size=300000"
    is "$(hhdr X-Cache)" HIT "cache: second request is a HIT"
    compressed "cache HIT"
    gunzips_to s300000
    ok $? "cache HIT (a file body read in pieces): round trip"
    hreq "$C/hit?size=300000"
    is "$(hhdr X-Cache)" HIT "cache: HIT without Accept-Encoding"
    plain s300000 "cache HIT without Accept-Encoding"
    is "$(grep -c '^req .* /hit?size=300000' "$(backend_log "$PORT9")")" 1 \
        "cache: the backend saw one request"
else
    skip "proxy_cache is not available: $(head -n 1 "$T/fc_run.out")" 11
fi

# ---- config errors ----------------------------------------------------------------------

# bad NAME TEXT ERE DESC: a config whose line with TEXT makes -t fail with ERE at FILE:LINE.
bad() {
    fc_conf "$1" <<EOF
events { worker_connections 64; }
pid @T@/fulcrum.pid;
http {
    server {
        listen 127.0.0.1:@PORT4@;
        location / {
            $2
        }
    }
}
EOF
    fc_run -t -c "$T/$1"
    is $? 1 "$4: -t exits 1"
    _b_line=$(grep -n -F -- "$2" "$T/$1" | head -n 1 | cut -d: -f1)
    like "$(cat "$T/fc_run.out")" "\[emerg\].*$3.* in $T/$1:$_b_line\$" "$4: reason and $1:$_b_line"
}
bad lvl.conf "gzip_comp_level 10;" "value must be between 1 and 9" "gzip_comp_level 10"
bad lvl0.conf "gzip_comp_level 0;" "value must be between 1 and 9" "gzip_comp_level 0"
bad buf0.conf "gzip_buffers 0 4k;" '"gzip_buffers" directive invalid value' "gzip_buffers 0 4k"
bad bufsz.conf "gzip_buffers 4 big;" '"gzip_buffers" directive invalid value' "gzip_buffers 4 big"
bad bufn.conf "gzip_buffers 4;" 'invalid number of arguments in "gzip_buffers" directive' \
    "gzip_buffers with one argument"
bad ver.conf "gzip_http_version 2.0;" 'invalid value "2.0"' "gzip_http_version 2.0"
bad prox.conf "gzip_proxied sometimes;" 'invalid value "sometimes"' "gzip_proxied sometimes"
bad minl.conf "gzip_min_length -1;" '"gzip_min_length" directive invalid value' \
    "gzip_min_length -1"
bad dup.conf "gzip on; gzip off;" '"gzip" directive is duplicate' "gzip twice"
bad re.conf 'gzip_disable "(";' 'pcre2_compile\(\) failed: missing closing parenthesis' \
    "gzip_disable with a bad regex"
bad ifvary.conf 'if ($arg_a) { gzip_vary on; }' '"gzip_vary" directive is not allowed here' \
    "gzip_vary inside if"

done_testing

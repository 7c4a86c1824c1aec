# 420-http-cache: the response cache's basics, as nginx 1.22 does them.
# MISS then HIT with the backend untouched; proxy_cache_valid (codes, "any",
# a bare time = 200 301 302, expiry); upstream Cache-Control (no-store,
# private, no-cache, max-age=0, max-age, s-maxage), Expires, X-Accel-Expires
# (relative, @absolute, 0) and their precedence; Set-Cookie; Vary;
# proxy_ignore_headers; proxy_cache_methods; proxy_cache_bypass;
# proxy_no_cache; proxy_cache_min_uses; proxy_cache_key and its default;
# HEAD on a cold key (fetched with GET); Range, If-None-Match and
# If-Modified-Since answered from cached entries; proxy_cache off in a nested
# location; $upstream_cache_status in the access log; config errors.
# Every step checks the status, $upstream_cache_status (as X-Cache) and how
# many requests reached the backend.  Skips while fulcrum lacks the cache.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf cache.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    log_format cache '$request_uri $upstream_cache_status';
    proxy_cache_path @T@/c levels=1:2 keys_zone=z:1m;

    server {
        listen 127.0.0.1:@PORT1@;
        add_header X-Cache $upstream_cache_status always;
        proxy_cache z;
        proxy_cache_key $uri; # the query string steers the backend only

        location /basic/ {
            proxy_cache_valid 10m;
            access_log @T@/cache.log cache;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /short/ {
            proxy_cache_valid 1s;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /codes/ {
            proxy_cache_valid 200 302 10m;
            proxy_cache_valid 404 1m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /any/ {
            proxy_cache_valid 200 10m;
            proxy_cache_valid any 1m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /novalid/ {
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /ignore/ {
            proxy_cache_valid 10m;
            proxy_ignore_headers Cache-Control Set-Cookie Expires X-Accel-Expires Vary;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /post/ {
            proxy_cache_valid 10m;
            proxy_cache_methods GET HEAD POST;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /bypass/ {
            proxy_cache_valid 10m;
            proxy_cache_bypass $arg_nocache;
            proxy_no_cache $arg_nostore;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /minuses/ {
            proxy_cache_valid 10m;
            proxy_cache_min_uses 3;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /nested/ {
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
            location /nested/off/ {
                proxy_cache off;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
        }
    }

    # no proxy_cache_key: the default $scheme$proxy_host$request_uri
    server {
        listen 127.0.0.1:@PORT2@;
        add_header X-Cache $upstream_cache_status always;
        location / {
            proxy_cache z;
            proxy_cache_valid 10m;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF

need_cache "$T/cache.conf"

backend_start reflect "$PORT9" || t_bail "reflect backend"
FC_WAIT_PORTS="$PORT1 $PORT2" fc_start cache.conf
ok $? "starts with a proxy_cache_path" || t_bail "cannot start"

# get PATH [CURL_ARGS]: a request through the first server; X = its X-Cache
# ("-" when absent: the cache was not used at all).
PORT=$PORT1
get() { CACHE_PORT=$PORT cache_get "$@"; }

# headreq PATH: a HEAD through the first server on a raw connection (curl
# would read no body whatever comes); H_STATUS, X, and HB = the bytes after
# the header.
headreq() {
    hraw "$PORT" "HEAD $1 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    H_STATUS=$R_STATUS
    X=$(printf '%s\n' "$R_HEAD" | sed -n 's/^X-Cache: //p')
    [ -n "$X" ] || X=-
    HB=$(printf '%s\n' "$R_OUT" | sed '1,/^$/d')
    HL=$(printf '%s\n' "$R_HEAD" | sed -n 's/^Content-Length: //p')
}

# seen DESC STATUS CACHE NEW: the last get answered STATUS with X-Cache
# CACHE, and NEW requests reached the backend since the previous `seen`.
seen() { cache_seen "$@"; }

# ---------------------------------------------------------------- MISS, HIT
get /basic/a
seen "first GET" 200 MISS 1
like "$H_BODY" '^GET /basic/a HTTP/1\.[01]$' "MISS: the backend's answer (the request it saw)"
first=$H_BODY
first_size=$(t_size "$T/h.body")
conn=$(hhdr X-Conn)
get /basic/a
seen "second GET" 200 HIT 0
is "$H_BODY" "$first" "HIT: the same body"
is "$(hhdr X-Conn)" "$conn" "HIT: the stored headers (X-Conn of the first answer)"
get /basic/a?other=1
seen "another query, key \$uri" 200 HIT 0
headreq /basic/a
seen "HEAD on a cached key" 200 HIT 0
is "$HB" "" "HEAD HIT: no body"
is "$HL" "$first_size" "HEAD HIT: the stored Content-Length"

# ------------------------------------------ entries that must expire (1 s)
# All primed now, checked after one shared wait: nginx keeps validity in
# whole seconds, so "1s" lives between 1 and 2 s.
get /short/a
seen "valid 1s" 200 MISS 1
get /short/a
seen "valid 1s, again at once" 200 HIT 0
get '/basic/ma?hdr=Cache-Control:max-age=1'
seen "max-age=1 over valid 10m" 200 MISS 1
get '/basic/sma?hdr=Cache-Control:max-age=600,+s-maxage=1'
seen "s-maxage=1 over max-age=600" 200 MISS 1
get '/basic/xa?hdr=X-Accel-Expires:1&hdr=Cache-Control:max-age=600'
seen "X-Accel-Expires 1 over max-age=600" 200 MISS 1
get '/short/ma?hdr=Cache-Control:max-age=600'
seen "max-age=600 over valid 1s" 200 MISS 1
LC_ALL=C
export LC_ALL
future=$(date -u -d '+1 hour' '+%a, %d %b %Y %H:%M:%S GMT')
get "/short/exp?hdr=Expires:$(printf '%s' "$future" | sed 's/ /+/g')"
seen "Expires in an hour over valid 1s" 200 MISS 1

not_hit() {
    get "$1"
    [ "$X" != HIT ]
}
wait_for 4 not_hit /short/a
seen "valid 1s, later" 200 EXPIRED 1
get /short/a
seen "valid 1s, refreshed" 200 HIT 0
wait_for 2 not_hit /basic/ma
seen "max-age=1, later" 200 EXPIRED 1
wait_for 2 not_hit /basic/sma
seen "s-maxage=1, later" 200 EXPIRED 1
wait_for 2 not_hit /basic/xa
seen "X-Accel-Expires 1, later" 200 EXPIRED 1
get /short/ma
seen "max-age=600, later" 200 HIT 0
get /short/exp
seen "Expires in an hour, later" 200 HIT 0

# --------------------------------------------------- proxy_cache_valid codes
get '/codes/r?status=302'
seen "valid 200 302 10m: a 302" 302 MISS 1
get '/codes/r?status=302'
seen "valid 200 302 10m: a 302 again" 302 HIT 0
get '/codes/nf?status=404'
seen "valid 404 1m: a 404" 404 MISS 1
get '/codes/nf?status=404'
seen "valid 404 1m: a 404 again" 404 HIT 0
get '/codes/e?status=500'
seen "no valid for 500: a 500" 500 MISS 1
get '/codes/e?status=500'
seen "no valid for 500: a 500 again" 500 MISS 1
get '/any/e?status=500'
seen "valid any 1m: a 500" 500 MISS 1
get '/any/e?status=500'
seen "valid any 1m: a 500 again" 500 HIT 0
get '/any/nf?status=404'
seen "valid any 1m: a 404" 404 MISS 1
get '/any/nf?status=404'
seen "valid any 1m: a 404 again" 404 HIT 0
for code in 301 302; do
    get "/basic/r$code?status=$code"
    seen "bare time (200 301 302): a $code" "$code" MISS 1
    get "/basic/r$code?status=$code"
    seen "bare time (200 301 302): a $code again" "$code" HIT 0
done
for code in 404 500; do
    get "/basic/e$code?status=$code"
    seen "bare time: a $code" "$code" MISS 1
    get "/basic/e$code?status=$code"
    seen "bare time: a $code is not cached" "$code" MISS 1
done

# ------------------------------------------ what the upstream says: not cached
past='Thu,+01+Jan+1970+00:00:01+GMT'
for q in Cache-Control:no-store Cache-Control:private Cache-Control:no-cache \
    Cache-Control:max-age=0 'Cache-Control:public,+no-store' "Expires:$past" \
    X-Accel-Expires:0 Set-Cookie:id=1 'Vary:*'; do
    get "/basic/nc-$q?hdr=$q"
    seen "$q (valid 10m)" 200 MISS 1
    get "/basic/nc-$q?hdr=$q"
    seen "$q: not cached" 200 MISS 1
done

# ---------------------------------- cached by what the upstream says alone
# (no proxy_cache_valid; nothing saying "cache it" means not cached)
get /novalid/plain
seen "no valid, no headers" 200 MISS 1
get /novalid/plain
seen "no valid, no headers: not cached" 200 MISS 1
abs=$(($(date +%s) + 3600))
for q in Cache-Control:max-age=60 Cache-Control:s-maxage=60 \
    "Expires:$(printf '%s' "$future" | sed 's/ /+/g')" X-Accel-Expires:60 \
    "X-Accel-Expires:@$abs" 'X-Accel-Expires:60&hdr=Cache-Control:no-cache' \
    'X-Accel-Expires:60&hdr=Cache-Control:private'; do
    get "/novalid/c-$q?hdr=$q"
    seen "$q (no valid)" 200 MISS 1
    get "/novalid/c-$q?hdr=$q"
    seen "$q: cached" 200 HIT 0
done

# ---------------------------------------------------- proxy_ignore_headers
for q in Cache-Control:no-store Set-Cookie:id=1 "Expires:$past" X-Accel-Expires:0 'Vary:*'; do
    get "/ignore/i-$q?hdr=$q"
    seen "$q ignored" 200 MISS 1
    get "/ignore/i-$q?hdr=$q"
    seen "$q ignored: cached" 200 HIT 0
done
is "$(hhdr Vary)" "*" "an ignored header is still stored and replayed (Vary)"
get '/ignore/i-Set-Cookie:id=1?hdr=Set-Cookie:id=1'
is "$X $(hhdr Set-Cookie)" "HIT id=1" "an ignored Set-Cookie is stored and replayed on a HIT"

# --------------------------------------------------------------------- Vary
get '/basic/vary?hdr=Vary:Accept-Encoding' -H 'Accept-Encoding: gzip'
seen "Vary: Accept-Encoding, gzip" 200 MISS 1
get '/basic/vary?hdr=Vary:Accept-Encoding' -H 'Accept-Encoding: br'
seen "Vary: Accept-Encoding, br: its own variant" 200 MISS 1
get '/basic/vary?hdr=Vary:Accept-Encoding' -H 'Accept-Encoding: gzip'
seen "Vary: gzip again" 200 HIT 0
like "$H_BODY" '^Accept-Encoding: gzip$' "Vary: the gzip variant's body"
get '/basic/vary?hdr=Vary:Accept-Encoding' -H 'Accept-Encoding: br'
seen "Vary: br again" 200 HIT 0
like "$H_BODY" '^Accept-Encoding: br$' "Vary: the br variant's body"

# ------------------------------------------------------------------ methods
get /basic/a -d one
seen "POST to a cached key: not from the cache" 200 - 1
like "$H_BODY" '^POST /basic/a HTTP' "POST: the backend answered"
get /basic/p -d one
seen "POST" 200 - 1
get /basic/p -d two
seen "POST again: not cached by default" 200 - 1
get /post/p -d one
seen "proxy_cache_methods POST: POST" 200 MISS 1
get /post/p -d two
seen "proxy_cache_methods POST: POST again" 200 HIT 0
like "$H_BODY" '^one$' "the key has no body: the first POST's answer"
get /post/p
seen "GET of a key stored by a POST (the method is not in the key)" 200 HIT 0
headreq /basic/head
seen "HEAD on a cold key" 200 MISS 1
is "$(grep '^req ' "$(backend_log "$PORT9")" | tail -n 1 | cut -d' ' -f4-)" "GET /basic/head" \
    "HEAD on a cold key: the backend is asked with GET"
is "$HB" "" "HEAD MISS: no body to the client"
get /basic/head
seen "GET after the HEAD" 200 HIT 0
like "$H_BODY" '^GET /basic/head HTTP' "GET after the HEAD: the GET's whole body was stored"

# ---------------------------------- ranges and conditionals on cached answers
# nginx serves ranges of an upstream answer (cached, or being stored: one
# range only) when the upstream sent Accept-Ranges, or with
# proxy_force_ranges; the backend is always asked for the whole answer.
get '/basic/rg?size=1000&hdr=Accept-Ranges:bytes' -H 'Range: bytes=0-9'
seen "Range on a MISS being stored" 206 MISS 1
is "$H_BODY $(hhdr Content-Range)" "0123456789 bytes 0-9/1000" "... the first 10 bytes"
get /basic/rg -H 'Range: bytes=10-19'
seen "Range on a HIT" 206 HIT 0
is "$H_BODY $(hhdr Content-Range)" "abcdefghij bytes 10-19/1000" "... from the cache"
get /basic/rg -H 'Range: bytes=0-1,5-6'
seen "two ranges on a HIT" 206 HIT 0
like "$(hhdr Content-Type)" '^multipart/byteranges; boundary=' "... multipart/byteranges"
get '/basic/rm?size=1000&hdr=Accept-Ranges:bytes' -H 'Range: bytes=0-1,5-6'
seen "two ranges on a MISS being stored: the whole answer" 200 MISS 1
get '/basic/rgr?hdr=Accept-Ranges:bytes' -H 'Range: bytes=0-3'
seen "Range on a cold key, reflecting backend" 206 MISS 1
is "$H_BODY" "GET " "... 4 bytes of the reflection"
get /basic/rgr
seen "the whole entry" 200 HIT 0
unlike "$H_BODY" '^Range:' "the backend was asked without the Range"
get '/basic/nr?size=1000' -H 'Range: bytes=0-9'
seen "no Accept-Ranges upstream: no range on a MISS" 200 MISS 1
get /basic/nr -H 'Range: bytes=0-9'
seen "no Accept-Ranges upstream: no range on a HIT" 200 HIT 0
is "$(t_size "$T/h.body")" 1000 "... the whole body"
get '/basic/cond?etag=%22e1%22&lm=Sat,+01+Jan+2022+00:00:00+GMT' -H 'If-None-Match: "e1"'
seen "If-None-Match on a MISS being stored" 304 MISS 1
is "$(backend_count "$PORT9" notmod)" 0 "... the backend was asked unconditionally"
get /basic/cond -H 'If-None-Match: "e1"'
seen "If-None-Match on a HIT" 304 HIT 0
get /basic/cond -H 'If-Modified-Since: Sat, 01 Jan 2022 00:00:00 GMT'
seen "If-Modified-Since on a HIT" 304 HIT 0
get /basic/cond -H 'If-None-Match: "other"'
seen "another ETag on a HIT" 200 HIT 0

# ------------------------------------------------- bypass, no_cache, min_uses
get /bypass/b
seen "bypass location" 200 MISS 1
get /bypass/b
seen "bypass location again" 200 HIT 0
get '/bypass/b?nocache=1'
seen "proxy_cache_bypass \$arg_nocache" 200 BYPASS 1
like "$H_BODY" '^GET /bypass/b\?nocache=1 ' "BYPASS: the backend's fresh answer"
get /bypass/b
seen "after a BYPASS" 200 HIT 0
like "$H_BODY" '^GET /bypass/b\?nocache=1 ' "the BYPASS answer replaced the entry"
get '/bypass/b?nostore=1'
seen "proxy_no_cache does not stop a lookup" 200 HIT 0
get '/bypass/n?nostore=1'
seen "proxy_no_cache \$arg_nostore" 200 MISS 1
get /bypass/n
seen "after proxy_no_cache: nothing stored" 200 MISS 1
get /bypass/n
seen "then stored" 200 HIT 0
for i in 1 2 3; do
    get /minuses/m
    seen "proxy_cache_min_uses 3: request $i" 200 MISS 1
done
get /minuses/m
seen "proxy_cache_min_uses 3: request 4" 200 HIT 0

# ------------------------------------------------------- keys, nested off
PORT=$PORT2
get /d/a
seen "default key" 200 MISS 1
get /d/a
seen "default key again" 200 HIT 0
get '/d/a?x=1'
seen "default key: the query string is part of it" 200 MISS 1
get /basic/a
seen "default key: not \$uri's /basic/a entry" 200 MISS 1
PORT=$PORT1
get /nested/on
seen "outer location" 200 MISS 1
get /nested/on
seen "outer location again" 200 HIT 0
get /nested/off/x
seen "nested proxy_cache off" 200 - 1
get /nested/off/x
seen "nested proxy_cache off again" 200 - 1

# --------------------------------------------------------------- access log
t_wait_lines "$T/cache.log" 4
is "$(head -n 4 "$T/cache.log")" "/basic/a MISS
/basic/a HIT
/basic/a?other=1 HIT
/basic/a HIT" "\$upstream_cache_status in the access log"
like "$(cat "$T/cache.log")" '^/basic/a -$' "access log: '-' when the cache was not used (POST)"

fc_stop
is $? 0 "graceful stop"

# ------------------------------------------------------------ config errors
# bad NAME MSG MARKER... < http block: `-t` fails and prints
# "[emerg] ... MSG in FILE:LINE", LINE being that of one of the MARKERs (the
# first line of the file containing it; LAST: the last line, where nginx
# reports what it finds when the http block ends).
bad() {
    _b_name=$1 _b_msg=$2
    shift 2
    { fc_conf_prelude; cat; } >"$T/.bad.in"
    fc_conf "$_b_name" <"$T/.bad.in"
    fc_run -t -c "$T/$_b_name"
    isnt $? 0 "$_b_name: -t fails"
    _b_ok=1 _b_lines=
    for _b_m in "$@"; do
        if [ "$_b_m" = LAST ]; then
            _b_l=$(t_lines "$T/$_b_name")
        else
            _b_l=$(grep -n -F -- "$_b_m" "$T/$_b_name" | head -n 1 | cut -d: -f1)
        fi
        _b_lines="$_b_lines $_b_l"
        grep -F "[emerg] " "$T/fc_run.out" | grep -Fq "$_b_msg in $T/$_b_name:$_b_l" && _b_ok=0
    done
    ok $_b_ok "$_b_name: '$_b_msg' at line$_b_lines" || sed 's/^/#   /' "$T/fc_run.out"
}

bad nokz.conf '"proxy_cache_path" must have "keys_zone" parameter' 'levels=' <<'EOF'
http {
    proxy_cache_path @T@/e levels=1:2;
}
EOF
bad param.conf 'invalid parameter "foo=bar"' 'foo=bar' <<'EOF'
http {
    proxy_cache_path @T@/e keys_zone=e:1m foo=bar;
}
EOF
bad kzsize.conf 'invalid keys zone size "keys_zone=e"' 'keys_zone' <<'EOF'
http {
    proxy_cache_path @T@/e keys_zone=e;
}
EOF
for lv in 1:3 3 1:2:2:2 0; do
    bad "levels$lv.conf" "invalid \"levels\" \"levels=$lv\"" 'levels=' <<EOF
http {
    proxy_cache_path @T@/e levels=$lv keys_zone=e:1m;
}
EOF
done
bad dupzone.conf 'duplicate zone "e"' 'e2 keys_zone' <<'EOF'
http {
    proxy_cache_path @T@/e1 keys_zone=e:1m;
    proxy_cache_path @T@/e2 keys_zone=e:1m;
}
EOF
bad unknownzone.conf '"proxy_cache" zone "nope" is unknown' 'proxy_cache nope' LAST <<'EOF'
http {
    proxy_cache_path @T@/e keys_zone=e:1m;
    server {
        listen 127.0.0.1:@PORT3@;
        location / {
            proxy_cache nope;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
}
EOF
bad putmethod.conf 'invalid value "PUT"' 'proxy_cache_methods' <<'EOF'
http {
    proxy_cache_path @T@/e keys_zone=e:1m;
    proxy_cache_methods GET PUT;
}
EOF
bad inserver.conf '"proxy_cache_path" directive is not allowed here' 'proxy_cache_path' <<'EOF'
http {
    server {
        listen 127.0.0.1:@PORT3@;
        proxy_cache_path @T@/e keys_zone=e:1m;
    }
}
EOF
bad badvalid.conf 'invalid status "99"' 'proxy_cache_valid' <<'EOF'
http {
    proxy_cache_path @T@/e keys_zone=e:1m;
    server {
        listen 127.0.0.1:@PORT3@;
        proxy_cache e;
        proxy_cache_valid 99 1m;
    }
}
EOF

# a zone may be used before the proxy_cache_path that defines it
fc_conf later.conf <<'EOF'
@PRELUDE@
http {
    server {
        listen 127.0.0.1:@PORT3@;
        location / {
            proxy_cache late;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
    proxy_cache_path @T@/late keys_zone=late:1m;
}
EOF
fc_run -t -c "$T/later.conf"
ok $? "proxy_cache before the proxy_cache_path of its zone is fine" ||
    sed 's/^/#   /' "$T/fc_run.out"

done_testing

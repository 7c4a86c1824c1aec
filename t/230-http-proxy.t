# 230-http-proxy: proxy_pass with and without a URI (nginx's replacement
# rule, regex locations, rewrite ... break, variables), proxy_set_header
# defaults, empty values and inheritance, proxy_pass_request_headers,
# proxy_hide_header / proxy_pass_header, proxy_http_version, proxy_redirect,
# add_header [always] and its inheritance, X-Forwarded-For,
# proxy_intercept_errors, proxy_buffer_size.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf proxy.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    upstream back { server 127.0.0.1:@PORT9@; }
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_set_header X-Srv srv;
        add_header X-Srv-Add s;

        location /with/ { proxy_pass http://127.0.0.1:@PORT9@/base/; }
        location /rs/ { rewrite ^ $uri break; proxy_pass http://127.0.0.1:@PORT9@; }
        location /without/ { proxy_pass http://127.0.0.1:@PORT9@; }
        location /noslash { proxy_pass http://127.0.0.1:@PORT9@/b; }
        location /root/ { proxy_pass http://back/; }
        location ~ ^/re/(\w+) { proxy_pass http://127.0.0.1:@PORT9@; }
        location /rwb/ {
            rewrite ^/rwb/(.*)$ /changed/$1 break;
            proxy_pass http://127.0.0.1:@PORT9@/ignored/;
        }
        location /var/ {
            set $target 127.0.0.1:@PORT9@;
            proxy_pass http://$target;
        }
        location /varuri/ { proxy_pass http://127.0.0.1:@PORT9@/fixed$is_args$args; }

        location /hdr/inherit { proxy_pass http://back; }
        location /hdr/own {
            proxy_set_header X-Own own;
            proxy_set_header Host $host;
            proxy_set_header Accept-Encoding "";
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Req-Id $request_id;
            proxy_pass http://back;
        }
        location /hdr/none {
            proxy_pass_request_headers off;
            proxy_pass http://back;
        }
        location /hdr/v11 {
            proxy_http_version 1.1;
            proxy_pass http://back;
        }

        location /resp/hide {
            proxy_hide_header X-Secret;
            proxy_pass http://back;
        }
        location /resp/pass {
            proxy_pass_header Server;
            proxy_pass http://back;
        }
        location /xa/ { proxy_pass http://127.0.0.1:@PORT9@; }
        location /ck/ {
            proxy_cookie_domain backend.test front.test;
            proxy_cookie_domain ~^(.+)\.internal$ $1.example;
            proxy_cookie_path /base/ /app/;
            proxy_cookie_path ~*^/UP/(.*)$ /lower/$1;
            proxy_pass http://127.0.0.1:@PORT9@;
            location /ck/off/ {
                proxy_cookie_domain off;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
        }
        location /bind/ {
            proxy_bind 127.0.0.2;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /bindvar/ {
            proxy_bind $arg_src;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /bindbad/ {
            proxy_bind 192.0.2.1;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /xa-ignored/ {
            proxy_ignore_headers X-Accel-Redirect;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /internal/ {
            internal;
            return 200 "internal uri=$uri args=$args method=$request_method\n";
        }
        location @xa_named { return 200 "named from $uri\n"; }
        location /resp/upvar {
            proxy_pass http://back;
            add_header X-Seen "[$upstream_http_x_multi]";
        }

        location /rd/default/ { proxy_pass http://127.0.0.1:@PORT9@/base/; }
        location /rd/off/ {
            proxy_redirect off;
            proxy_pass http://127.0.0.1:@PORT9@/base/;
        }
        location /rd/rel/ {
            proxy_redirect /base/ /front/;
            proxy_pass http://127.0.0.1:@PORT9@/base/;
        }
        location /rd/ab/ {
            proxy_redirect http://backend.test/ http://front.test/x/;
            proxy_pass http://127.0.0.1:@PORT9@;
        }

        location /ah/inherit { proxy_pass http://back; }
        location /ah/own {
            add_header X-Loc-Add l;
            add_header X-Always a always;
            proxy_pass http://back;
        }

        location /icpt/on {
            proxy_intercept_errors on;
            error_page 404 = /intercepted;
            proxy_pass http://back;
        }
        location /icpt/off {
            error_page 404 = /intercepted;
            proxy_pass http://back;
        }
        location = /intercepted { return 200 "intercepted\n"; }

        location /bigheader {
            proxy_buffer_size 1k;
            proxy_pass http://back;
        }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS=$PORT1 fc_start proxy.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1
# sent PATH [CURL ARGS]: the request line the backend got (path as is)
sent() {
    _p=$1
    shift
    hreq --path-as-is "$@" "$U$_p"
    printf '%s\n' "$H_BODY" | sed -n '1s/ HTTP\/1\.[01]$//p'
}

# --- the URI replacement rule
is "$(sent '/with/x/y?q=1')" "GET /base/x/y?q=1" "with a URI: the location prefix is replaced"
is "$(sent '/with/')" "GET /base/" "with a URI: the prefix alone"
is "$(sent '/with/a%20b/./c')" "GET /base/a%20b/c" "with a URI: the normalized URI, escaped again"
is "$(sent '/with/a%7Bb%7D%22%5C%5E%60%7C%3C%3E')" "GET /base/a%7Bb%7D%22%5C%5E%60%7C%3C%3E" \
    '...with the escape set of nginx 1.21.1+: braces, quote, backslash, caret, backquote, bar, angles'
is "$(sent '/without/x?q=1')" "GET /without/x?q=1" "without a URI: the request URI as is"
is "$(sent '/rs/a/../x//y%41')" "GET /rs/x/yA" \
    "without a URI after a rewrite to the same \$uri: the normalized URI (nginx)"
is "$(sent '/without/a%20b/./c')" "GET /without/a%20b/./c" "without a URI: as the client sent it"
is "$(sent '/noslash/x')" "GET /b/x" "URI without a trailing /: /noslash/x -> /b/x"
is "$(sent '/noslashy')" "GET /by" "...and /noslashy -> /by"
is "$(sent '/root/deep/er')" "GET /deep/er" "proxy_pass http://upstream/: prefix replaced by /"
is "$(sent '/re/abc/d?e=f')" "GET /re/abc/d?e=f" "regex location without a URI: as is"
is "$(sent '/rwb/x?q=2')" "GET /changed/x?q=2" "rewrite ... break: the changed URI, proxy_pass's URI ignored"
is "$(sent '/var/v?z=1')" "GET /var/v?z=1" "proxy_pass http://\$var: the request URI"
is "$(sent '/varuri/v?z=1')" "GET /fixed?z=1" "proxy_pass with variables in the URI: exactly that URI"
fc_conf bad-regex.conf <<'EOF'
@PRELUDE@
http { server { listen 127.0.0.1:@PORT2@; location ~ ^/x { proxy_pass http://127.0.0.1:@PORT9@/uri/; } } }
EOF
fc_run -t -c "$T/bad-regex.conf"
isnt $? 0 "a URI in proxy_pass inside a regex location is a config error"
like "$(cat "$T/fc_run.out")" 'cannot have URI part' "...with nginx's message"

# --- request headers
hreq -H 'X-Client: c' -H 'Accept-Encoding: gzip' "$U/hdr/inherit"
like "$H_BODY" '^Host: back$' "default Host is \$proxy_host"
like "$H_BODY" '^Connection: close$' "default Connection: close"
like "$H_BODY" '^X-Srv: srv$' "proxy_set_header at server level is inherited"
like "$H_BODY" '^X-Client: c$' "client headers are passed"
like "$H_BODY" '^Accept-Encoding: gzip$' "...Accept-Encoding too"
is "$(printf '%s\n' "$H_BODY" | grep -c '^Host:')" 1 "one Host header"
hreq -H 'Host: front.test' -H 'Accept-Encoding: gzip' -H 'X-Forwarded-For: 10.0.0.1' "$U/hdr/own"
like "$H_BODY" '^X-Own: own$' "a location's proxy_set_header"
unlike "$H_BODY" '^X-Srv:' "...replaces the server level ones (no inheritance)"
like "$H_BODY" '^Host: front\.test$' "proxy_set_header Host \$host"
unlike "$H_BODY" '^Accept-Encoding:' "proxy_set_header with an empty value removes the header"
like "$H_BODY" '^X-Forwarded-For: 10\.0\.0\.1, 127\.0\.0\.1$' "X-Forwarded-For via \$proxy_add_x_forwarded_for"
like "$H_BODY" '^X-Req-Id: [0-9a-f]{32}$' "\$request_id in a header"
is "$(printf '%s\n' "$H_BODY" | grep -c '^X-Forwarded-For:')" 1 "...the client's X-Forwarded-For replaced"
hreq -H 'X-Client: c' -A agent "$U/hdr/none"
unlike "$H_BODY" '^(X-Client|User-Agent):' "proxy_pass_request_headers off: client headers dropped"
like "$H_BODY" '^Host: back$' "...Host is still set"
like "$H_BODY" '^X-Srv: srv$' "...and proxy_set_header ones too"
hreq "$U/hdr/v11"
like "$H_BODY" '^GET /hdr/v11 HTTP/1\.1$' "proxy_http_version 1.1"
hreq "$U/hdr/inherit"
like "$H_BODY" '^GET /hdr/inherit HTTP/1\.0$' "default proxy_http_version 1.0"

# --- response headers
hreq "$U/resp/hide?hdr=X-Secret:%20s&hdr=X-Public:%20p&hdr=Server:%20backsrv&hdr=X-Accel-Expires:%2010&hdr=X-Pad:%20x"
is "$(hhdr X-Public)" p "response headers pass"
hhas X-Secret
isnt $? 0 "proxy_hide_header hides one"
hhas X-Accel-Expires
isnt $? 0 "X-Accel-Expires is hidden by default"
hhas X-Pad
isnt $? 0 "X-Pad is hidden by default"
unlike "$(hhdr Server)" 'backsrv' "the backend's Server is replaced by ours"
hreq "$U/resp/upvar?hdr=X-Multi:%20a&hdr=x-multi:%20b"
is "$(hhdr X-Seen)" "[a, b]" "\$upstream_http_NAME: any case, repeated fields joined by ', '"
hreq "$U/resp/pass?hdr=Server:%20backsrv"
is "$(hhdr Server)" backsrv "proxy_pass_header Server: the backend's, alone"
hreq "$U/resp/pass?hdr=Date:%20Thu,%2001%20Jan%201970%2000:00:00%20GMT"
unlike "$(hhdr Date)" '1970' "the backend's Date is replaced by ours"

# --- proxy_redirect
hreq "$U/rd/default/x?status=302&hdr=Location:%20http://127.0.0.1:$PORT9/base/new"
is "$H_STATUS" 302 "a backend redirect is passed"
is "$(hhdr Location)" "http://127.0.0.1:$PORT1/rd/default/new" \
    "proxy_redirect default rewrites the proxy_pass URL to the location (made absolute)"
hreq "$U/rd/default/x?status=302&hdr=Location:%20http://elsewhere.test/base/new"
is "$(hhdr Location)" "http://elsewhere.test/base/new" "proxy_redirect default leaves other URLs"
hreq "$U/rd/off/x?status=302&hdr=Location:%20http://127.0.0.1:$PORT9/base/new"
is "$(hhdr Location)" "http://127.0.0.1:$PORT9/base/new" "proxy_redirect off: unchanged"
hreq "$U/rd/default/x?status=302&hdr=Location:%20/other/rel"
is "$(hhdr Location)" "/other/rel" "a relative Location no rule rewrites goes out as sent (as nginx)"
hreq "$U/rd/off/x?status=302&hdr=Location:%20/base/rel"
is "$(hhdr Location)" "/base/rel" "...also with proxy_redirect off"
hreq "$U/rd/rel/x?status=302&hdr=Location:%20/base/rel"
is "$(hhdr Location)" "http://127.0.0.1:$PORT1/front/rel" \
    "a relative Location proxy_redirect rewrites is made absolute"
hreq "$U/rd/ab/x?status=301&hdr=Location:%20http://backend.test/p/q&hdr=Refresh:%205;%20url=http://backend.test/r"
is "$(hhdr Location)" "http://front.test/x/p/q" "proxy_redirect A B: Location"
is "$(hhdr Refresh)" "5; url=http://front.test/x/r" "proxy_redirect A B: Refresh"

# --- add_header
hreq "$U/ah/inherit"
is "$(hhdr X-Srv-Add)" s "add_header at server level is inherited"
hreq "$U/ah/own"
is "$(hhdr X-Loc-Add)" l "a location's add_header"
hhas X-Srv-Add
isnt $? 0 "...replaces the server level ones"
is "$(hhdr X-Always)" a "add_header always on a 200"
hreq "$U/ah/own?status=404"
hhas X-Loc-Add
isnt $? 0 "add_header without always: not on a 404"
is "$(hhdr X-Always)" a "add_header always: on a 404 too"
hreq "$U/ah/own?status=302&hdr=Location:%20/x"
is "$(hhdr X-Loc-Add)" l "add_header without always: on a 302"
hreq "$U/ah/own?status=500"
is "$(hhdr X-Always)" a "add_header always: on a 500"

# --- proxy_cookie_domain / proxy_cookie_path on the upstream's Set-Cookie
ck() { hreq "$U$1?hdr=Set-Cookie:%20$2"; hhdr Set-Cookie; }
is "$(ck /ck/a 'a=1%3B%20Domain=backend.test%3B%20Path=/base/x')" "a=1; Domain=front.test; Path=/app/x" \
    "proxy_cookie_domain and proxy_cookie_path: domain replaced whole, path by prefix"
is "$(ck /ck/b 'b=2%3B%20domain=.BACKEND.test%3B%20path=/other')" "b=2; domain=.front.test; path=/other" \
    "...a domain in any case, its leading dot kept; a path no rule matches is left"
is "$(ck /ck/c 'c=3%3B%20Domain=svc.internal%3B%20Path=/up/z')" "c=3; Domain=svc.example; Path=/lower/z" \
    "...regex rules with captures (~ for the domain is caseless; ~* for the path)"
is "$(ck /ck/d 'd=4%3B%20Path=/base/')" "d=4; Path=/app/" "...a cookie without a domain: only its path"
is "$(ck /ck/off/e 'e=5%3B%20Domain=backend.test%3B%20Path=/base/')" "e=5; Domain=backend.test; Path=/app/" \
    "proxy_cookie_domain off in an inner location: its domains are left, the outer path rule stays"

# --- proxy_bind: the local address of upstream connections
hreq "$U/bind/x"
is "$H_STATUS" 200 "proxy_bind 127.0.0.2: 200"
like "$(grep '^accept ' "$(backend_log "$PORT9")" | tail -n 1)" ' 127\.0\.0\.2:[0-9]+$' \
    "...the backend sees the connection come from 127.0.0.2"
hreq "$U/bindvar/x?src=127.0.0.3"
like "$(grep '^accept ' "$(backend_log "$PORT9")" | tail -n 1)" ' 127\.0\.0\.3:[0-9]+$' \
    "proxy_bind \$arg_src: the address from a variable"
hreq "$U/bindvar/y"
like "$(grep '^accept ' "$(backend_log "$PORT9")" | tail -n 1)" ' 127\.0\.0\.1:[0-9]+$' \
    "...an empty value binds nothing, as nginx"
hreq "$U/bindbad/x"
is "$H_STATUS" 500 "proxy_bind to an address this host does not have: 500, as nginx"
like "$(cat "$T/error.log")" '\[crit\].*bind\(192\.0\.2\.1\) failed' "...logged at crit"

# --- X-Accel-Redirect / X-Accel-Buffering from the upstream
hreq "$U/xa/x?hdr=X-Accel-Redirect:%20/internal/file%3Fa=1&hdr=Set-Cookie:%20s=1&hdr=X-Other:%20o"
is "$H_STATUS" 200 "X-Accel-Redirect: the request goes on at the given URI"
is "$H_BODY" "internal uri=/internal/file args=a=1 method=GET" \
    "...internally (an internal location serves it), with its args, as a GET"
is "$(hhdr Set-Cookie)" "s=1" "...Set-Cookie of the first answer is kept"
hhas X-Other
isnt $? 0 "...its other fields are not"
hhas X-Accel-Redirect
isnt $? 0 "...and the field itself is hidden"
hreq --data-binary 'body' "$U/xa/x?hdr=X-Accel-Redirect:%20@xa_named"
is "$H_BODY" "named from /xa/x" "X-Accel-Redirect: @name goes to a named location (a POST too)"
hreq "$U/xa/x?hdr=X-Accel-Redirect:%20/internal/../etc"
is "$H_STATUS" 404 "X-Accel-Redirect with a .. segment: 404"
hreq "$U/xa-ignored/x?hdr=X-Accel-Redirect:%20/internal/file"
is "$H_STATUS" 200 "proxy_ignore_headers X-Accel-Redirect: the answer itself is sent"
like "$H_BODY" '^GET /xa-ignored/x' "...with the upstream's body"
hreq "$U/xa/x?hdr=X-Accel-Buffering:%20no"
is "$H_STATUS" 200 "X-Accel-Buffering: no is accepted"
hhas X-Accel-Buffering
isnt $? 0 "...and hidden"

# --- connection fields of the upstream: as nginx, only Connection and Keep-Alive stay behind
hreq "$U/xa/h?hdr=Keep-Alive:%20timeout=5&hdr=Upgrade:%20h2c&hdr=Proxy-Connection:%20x&hdr=Trailer:%20X-T"
is "$H_STATUS" 200 "an answer with connection fields: 200"
hhas Keep-Alive
isnt $? 0 "the upstream's Keep-Alive is not passed"
is "$(hhdr Upgrade)" h2c "Upgrade in a non-101 answer is passed (as nginx)"
is "$(hhdr Proxy-Connection)" x "...so are Proxy-Connection"
is "$(hhdr Trailer)" X-T "...and Trailer"

# --- proxy_intercept_errors
hreq "$U/icpt/on?status=404"
is "$H_STATUS" 200 "proxy_intercept_errors on: error_page applies to a backend 404"
is "$H_BODY" intercepted "...with the error_page's body"
hreq "$U/icpt/on?status=201"
like "$H_BODY" '^GET /icpt/on' "...not to a 201"
hreq "$U/icpt/off?status=404"
is "$H_STATUS" 404 "proxy_intercept_errors off (default): the backend's 404"
like "$H_BODY" '^GET /icpt/off' "...with the backend's body"

# --- proxy_buffer_size bounds the response header
hreq "$U/bigheader?hdr=X-Big:%20$(t_str 1500 z)"
is "$H_STATUS" 502 "a response header larger than proxy_buffer_size: 502"
like "$(cat "$T/error.log")" 'upstream sent too big header' "...logged as nginx does"
hreq "$U/bigheader?hdr=X-Small:%20$(t_str 300 z)"
is "$H_STATUS" 200 "a smaller one passes"

# A client that shuts its side right behind the request (the FIN may come in
# the same event as the request) is gone, as nginx judges with EPOLLRDHUP: the
# slow upstream is given up at once and the request logged 499.
t0=$(t_now_ms)
hraw "$PORT1" 'GET /without/slow?delay_ms=4000 HTTP/1.1\r\nHost: h\r\n\r\n' -c -t 6000
dt=$(($(t_now_ms) - t0))
halfclosed() { grep -q 'client prematurely closed connection' "$T/error.log"; }
wait_for 3 halfclosed
ok $? "a client half-closed behind its request is noticed while the upstream works"
[ "$dt" -lt 3000 ]
ok $? "...and its connection closed before the upstream answered ($dt ms)"
unlike "$R_OUT" '^HTTP/' "...without a response"

unlike "$(grep -v "bind(192\.0\.2\.1) failed" "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log (but the bind failure asked for)"
fc_stop
is $? 0 "graceful stop"
done_testing

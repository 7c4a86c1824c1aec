# 215-http-vhosts-locations: the virtual server chosen by Host (exact,
# *.wildcard, wildcard.*, .name, ~regex with captures, default_server) and
# the location chosen by URI (=, prefix, ^~, ~, ~* in nginx's order, nested,
# captures, named locations through error_page, $uri normalization).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf vhosts.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        server_name first.test;
        return 200 "first\n";
    }
    server {
        listen 127.0.0.1:@PORT1@ default_server;
        server_name dflt.test;
        return 200 "default:$host\n";
    }
    server {
        listen 127.0.0.1:@PORT1@;
        server_name exact.test www.exact.test www.wild.test;
        return 200 "exact:$server_name\n";
    }
    server { listen 127.0.0.1:@PORT1@; server_name *.wild.test; return 200 "lead\n"; }
    server { listen 127.0.0.1:@PORT1@; server_name *.deep.wild.test; return 200 "lead-longer\n"; }
    server { listen 127.0.0.1:@PORT1@; server_name www.trail.*; return 200 "trail\n"; }
    server { listen 127.0.0.1:@PORT1@; server_name .dot.test; return 200 "dot\n"; }
    server {
        listen 127.0.0.1:@PORT1@;
        server_name ~^(?<sub>[a-z]+)\.re\.test$;
        return 200 "regex:$sub\n";
    }
    server {
        listen 127.0.0.1:@PORT1@;
        server_name ~^num(\d+)\.(zone|wild)\.test$ ~^www\.trail\.(re)$;
        return 200 "num:$1:$2\n";
    }

    # no default_server: the first server of the address is the default
    server { listen 127.0.0.1:@PORT2@; server_name a.test; return 200 "p2-first\n"; }
    server { listen 127.0.0.1:@PORT2@; server_name b.test; return 200 "p2-b\n"; }

    server {
        listen 127.0.0.1:@PORT3@;
        location = / { return 200 "exact-root\n"; }
        location / { return 200 "prefix-root\n"; }
        location /docs/ { return 200 "prefix-docs\n"; }
        location /docs/api/ { return 200 "prefix-docs-api\n"; }
        location ^~ /static/ { return 200 "noregex-static\n"; }
        location ~ \.(png|jpg)$ { return 200 "regex-img\n"; }
        location ~* \.PDF$ { return 200 "iregex-pdf\n"; }
        location ~ ^/docs/.*\.txt$ { return 200 "regex-txt\n"; }
        location ~ ^/docs/.*\.t { return 200 "regex-txt-second\n"; }
        location = /exact { return 200 "exact\n"; }
        location /exact { return 200 "prefix-exact\n"; }
        location ~ ^/cap/(\w+)/(\d+)$ { return 200 "cap:$1:$2\n"; }
        location ~ ^/named/(?<word>\w+)/(?<num>\d+)$ { return 200 "named:$word:$num:$2\n"; }
        location /nest/ {
            location /nest/inner/ { return 200 "nest-inner\n"; }
            location ~ \.gif$ { return 200 "nest-regex\n"; }
            return 200 "nest-outer\n";
        }
        location ~ \.gif$ { return 200 "top-gif\n"; }
        location /err/ {
            error_page 404 = @fallback;
            return 404;
        }
        location @fallback { return 200 "fallback:$uri\n"; }
        location /app/ { proxy_pass http://127.0.0.1:@PORT9@; }
        location /app2/ { proxy_pass http://127.0.0.1:@PORT9@; }
        location = /app2 { proxy_pass http://127.0.0.1:@PORT9@; }
        location /uri/ { return 200 "uri=$uri args=$args request_uri=$request_uri\n"; }
    }
    server {
        listen 127.0.0.1:@PORT4@;
        location /only/ { return 200 "only\n"; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4" fc_start vhosts.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"

# vh HOST EXPECTED DESC: the answer of PORT1 for Host HOST
vh() {
    hreq -H "Host: $1" "http://127.0.0.1:$PORT1/"
    is "$H_BODY" "$2" "$3"
}
vh exact.test "exact:exact.test" "exact name"
vh www.exact.test "exact:exact.test" "second exact name of a server (\$server_name is the first)"
vh EXACT.Test "exact:exact.test" "Host is case-insensitive"
vh exact.test:8080 "exact:exact.test" "the port in Host is ignored"
vh exact.test. "exact:exact.test" "a trailing dot in Host is ignored"
vh www.wild.test "exact:exact.test" "an exact name wins over *.wild.test"
vh a.wild.test "lead" "*.wild.test"
vh a.b.wild.test "lead" "*.wild.test matches several labels"
vh wild.test "default:wild.test" "*.wild.test does not match wild.test"
vh x.deep.wild.test "lead-longer" "the longest leading wildcard wins"
vh www.trail.org "trail" "www.trail.*"
vh www.trail.re "trail" "a trailing wildcard wins over a regex"
vh dot.test "dot" ".dot.test matches the name itself"
vh a.dot.test "dot" ".dot.test matches subdomains"
vh abc.re.test "regex:abc" "regex server_name with a named capture"
vh num42.zone.test "num:42:zone" "regex server_name with numbered captures"
vh num42.wild.test "lead" "a leading wildcard wins over a regex"
vh num42.other.test "default:num42.other.test" "an unmatched name goes to the default_server"
vh unknown.test "default:unknown.test" "unknown Host: the default_server, not the first server"
hraw "$PORT1" 'GET / HTTP/1.0\r\n\r\n'
like "$R_OUT" '^default:dflt\.test$' "no Host (HTTP/1.0): the default_server, \$host is its name"
hraw "$PORT1" 'GET http://exact.test/ HTTP/1.1\r\nHost: a.wild.test\r\nConnection: close\r\n\r\n'
like "$R_OUT" '^exact:exact.test$' "the host of an absolute-form target wins over Host"

hreq -H "Host: b.test" "http://127.0.0.1:$PORT2/"
is "$H_BODY" p2-b "second address: by name"
hreq -H "Host: zzz.test" "http://127.0.0.1:$PORT2/"
is "$H_BODY" p2-first "second address: the first server is the default"

# loc PATH EXPECTED DESC: the answer of PORT3 for PATH (sent as is)
loc() {
    hreq --path-as-is "http://127.0.0.1:$PORT3$1"
    is "$H_BODY" "$2" "$3"
}
loc / exact-root "= / matches /"
loc "/?a=1" exact-root "= / ignores the args"
loc /index prefix-root "/ for anything else"
loc /docs/ prefix-docs "prefix /docs/"
loc /docs prefix-root "/docs does not match /docs/"
loc /docs/api/x prefix-docs-api "the longest prefix wins"
loc /docs/a.png regex-img "a regex wins over a prefix"
loc /static/a.png noregex-static "^~ stops the regex search"
loc /docs/api/x.txt regex-txt "regexes are tried in order: the first match wins"
loc /docs/x.tar regex-txt-second "...a later regex matches when earlier ones do not"
loc /a.pdf iregex-pdf "~* is case-insensitive"
loc /a.Pdf iregex-pdf "~* is case-insensitive (mixed case)"
loc /A.PNG prefix-root "~ is case-sensitive"
loc /exact exact "= wins over an equal prefix"
loc /exactly prefix-exact "= matches nothing longer"
loc /cap/abc/42 "cap:abc:42" "regex captures \$1 \$2 in return text"
loc /named/foo/7 "named:foo:7:7" "named captures (and their numbers)"
loc /nest/ nest-outer "nested: the outer location"
loc /nest/inner/a nest-inner "nested prefix location"
loc /nest/a.gif nest-regex "a nested regex is tried before the outer ones"
loc /nest/inner/a.gif nest-regex "a nested regex applies to a nested prefix's URIs"
loc /other/a.gif top-gif "outside the nest: the top regex"
loc /err/x "fallback:/err/x" "error_page 404 = @named: a named location"

# $uri is decoded and normalized before the search; $request_uri is not
loc "/docs/../static/a.png" noregex-static "/../ is resolved before the search"
loc "/docs//api//x" prefix-docs-api "merge_slashes: // is one /"
loc "/docs/./api/x" prefix-docs-api "/./ is dropped"
loc "/docs%2Fapi/x" prefix-docs-api "%2F decodes to / before the search"
loc "/uri/a%20b/./c?x=%20y" "uri=/uri/a b/c args=x=%20y request_uri=/uri/a%20b/./c?x=%20y" \
    "\$uri decoded and normalized, \$args and \$request_uri as sent"
hraw "$PORT3" 'GET /../x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n'
is "$R_STATUS" 400 "/.. above the root: 400"

# a prefix location ending in / with proxy_pass redirects the URI without it
hreq "http://127.0.0.1:$PORT3/app?q=1"
is "$H_STATUS" 301 "/app -> 301 (location /app/ with proxy_pass)"
like "$(hhdr Location)" "^http://127\.0\.0\.1:$PORT3/app/\?q=1\$" "...to /app/ with the args"
hreq "http://127.0.0.1:$PORT3/app/x"
is "$H_STATUS" 200 "/app/x is proxied"
like "$H_BODY" '^GET /app/x HTTP' "...as is"
hreq "http://127.0.0.1:$PORT3/app2"
is "$H_STATUS" 200 "no redirect when an exact location matches the URI without /"
like "$H_BODY" '^GET /app2 HTTP' "...it is proxied"

hreq "http://127.0.0.1:$PORT4/only/x"
is "$H_BODY" only "a server without location /: its location"
hreq "http://127.0.0.1:$PORT4/elsewhere"
is "$H_STATUS" 404 "...and 404 for what no location matches"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

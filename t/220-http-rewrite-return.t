# 220-http-rewrite-return: return (code, text, URL), rewrite with last /
# break / redirect / permanent and args handling, server-level rewrite, set,
# a rewrite loop (500), error_page (code, =code, =, @named, URL), allow/deny.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf rewrite.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        server_name rw.test;
        rewrite ^/srv/(.*)$ /target/srv-$1 last;

        location /ret/text { return 200 "text $uri $arg_a\n"; }
        location /ret/code { return 403; }
        location /ret/url { return 301 http://example.test/moved; }
        location /ret/rel { return 302 /relative; }
        location /ret/bare { return http://example.test/bare; }
        location /ret/vars { return 301 $scheme://$host$request_uri; }
        location /ret/204 { return 204; }
        location /ret/307 { return 307 /t; }
        location /ret/444 { return 444; }
        location /ret/status { return 200 "st=$status\n"; }
        location /ret/418 { return 418; }
        location /types/ {
            types {
                application/json json;
                image/png png PNG2;
            }
            return 200 "typed\n";
        }
        location /builtin/ { return 200 "typed\n"; }
        location /ret/found { return 302 http://example.test/found; }
        location /ret/default {
            if ($arg_page = "") {
                set $arg_page 1;
            }
            return 200 "page=$arg_page\n";
        }
        location /ret/first {
            return 200 "first\n";
            return 200 "second\n";
        }

        location /rw/ {
            rewrite ^/rw/last/(.*)$ /target/$1 last;
            rewrite ^/rw/break/(.*)$ /target/$1 break;
            rewrite ^/rw/redir/(.*)$ /target/$1 redirect;
            rewrite ^/rw/perm/(.*)$ /target/$1 permanent;
            rewrite ^/rw/abs/(.*)$ http://other.test/$1;
            rewrite ^/rw/args/(.*)$ /target/$1?new=1 last;
            rewrite ^/rw/noargs/(.*)$ /target/$1? last;
            rewrite ^/rw/chain/(.*)$ /rw/last/$1;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /target/ { return 200 "target uri=$uri args=$args\n"; }
        location /loop/ { rewrite ^/loop/(.*)$ /loop/$1 last; }

        location /set/ {
            set $a "x";
            set $b "$a-$uri";
            return 200 "b=$b word=[$word]\n";
        }
        location ~ ^/setcap/(\w+)$ {
            set $word $1;
            proxy_set_header X-Word "w=$word";
            proxy_pass http://127.0.0.1:@PORT9@;
        }

        location /ep/code { error_page 404 /target/from404; return 404; }
        location /ep/eqcode { error_page 404 =200 /target/eq200; return 404; }
        location /ep/eq { error_page 404 = /made; return 404; }
        location = /made { return 201 "made\n"; }
        location /ep/named { error_page 403 @named; return 403; }
        location @named { return 200 "named $uri\n"; }
        location /ep/url { error_page 404 http://example.test/nf; return 404; }
        location /ep/url301 { error_page 404 =301 http://example.test/nf301; return 404; }
        location /ep/multi { error_page 500 502 503 =503 /target/multi; return 502; }
        location /ep/args { error_page 404 /target/x?from=ep; return 404; }

        location /acl/ {
            location /acl/deny-all { deny all; proxy_pass http://127.0.0.1:@PORT9@; }
            location /acl/allow-local {
                allow 127.0.0.1;
                deny all;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
            location /acl/deny-cidr {
                deny 127.0.0.0/8;
                allow all;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
            location /acl/allow-other {
                allow 10.0.0.0/8;
                allow 192.168.1.1;
                deny all;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
            location /acl/first-wins {
                allow 127.0.0.1;
                deny 127.0.0.1;
                proxy_pass http://127.0.0.1:@PORT9@;
            }
            location /acl/rewrite-phase-first { deny all; return 200 "return runs before access\n"; }
            location /acl/page { deny all; error_page 403 /target/denied; proxy_pass http://127.0.0.1:@PORT9@; }
        }
    }
    # absolute redirects: the host and port nginx's header filter picks
    server {
        listen 127.0.0.1:@PORT3@;
        server_name redir.test;
        location /r { return 301 /t; }
        location /sn { server_name_in_redirect on; return 301 /t; }
        location /np { port_in_redirect off; return 301 /t; }
        location /rel { absolute_redirect off; return 301 /t; }
    }
    server {
        listen 127.0.0.1:@PORT2@;
        deny all;
        location /x { proxy_pass http://127.0.0.1:@PORT9@; }
        location /y { allow all; proxy_pass http://127.0.0.1:@PORT9@; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3" fc_start rewrite.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1
reqs() { grep -c '^req ' "$(backend_log "$PORT9")"; }

# --- return
hreq "$U/ret/text?a=1"
is "$H_STATUS" 200 "return 200 text: 200"
is "$H_BODY" "text /ret/text 1" "...its text with variables"
like "$(hhdr Content-Type)" '^text/plain' "...Content-Type default_type text/plain"
hreq "$U/ret/code"
is "$H_STATUS" 403 "return 403: 403"
like "$H_BODY" '403 Forbidden' "...with the default error page"
hreq "$U/ret/url"
is "$H_STATUS" 301 "return 301 URL: 301"
is "$(hhdr Location)" "http://example.test/moved" "...Location is the URL"
hreq -H "Host: rw.test" "$U/ret/rel"
is "$H_STATUS" 302 "return 302 /relative: 302"
is "$(hhdr Location)" "http://rw.test:$PORT1/relative" "...made absolute from Host and the port"
like "$(grep -i -E '^(location|connection):' "$T/h.head" | head -n 1)" '^Location:' \
    "...sent before Connection, where nginx's header filter puts it"
hreq "$U/ret/bare"
is "$H_STATUS" 302 "return URL alone: 302"
is "$(hhdr Location)" "http://example.test/bare" "...to that URL"
hreq -H "Host: rw.test" "$U/ret/vars?q=1"
is "$(hhdr Location)" "http://rw.test/ret/vars?q=1" "return 301 \$scheme://\$host\$request_uri"
hreq "$U/ret/204"
is "$H_STATUS" 204 "return 204: 204"
is "$(wc -c <"$T/h.body" | tr -d ' ')" 0 "...no body"
hreq "$U/ret/307"
is "$H_STATUS" 307 "return 307 /t: 307"
hraw "$PORT1" 'GET /ret/444 HTTP/1.1\r\nHost: h\r\n\r\n' -t 3000
is "$R_OUT" "" "return 444: no response"
is "$R_RC" 0 "...the connection is closed"
hreq "$U/ret/first"
is "$H_BODY" first "the first return ends the rewrite phase"
hreq "$U/types/a.json"
is "$(hhdr Content-Type)" application/json "return's text: the Content-Type from types by the extension"
hreq "$U/types/b.Png2"
is "$(hhdr Content-Type)" image/png "...the extension in any case"
hreq "$U/types/c.txt"
is "$(hhdr Content-Type)" text/plain "...default_type for an extension types does not name"
hreq "$U/builtin/d.jpg"
is "$(hhdr Content-Type)" image/jpeg "...nginx's built-in types without a types block (jpg)"
hreq "$U/ret/418"
is "$H_STATUS" 418 "return 418 (no page of nginx's): 418"
is "$(hhdr Content-Length)" 0 "...with an empty body, as nginx"
hhas Content-Type
isnt $? 0 "...and no Content-Type"
hreq "$U/ret/status"
is "$H_BODY" "st=200" "return's text sees \$status (set before the text, as nginx)"
hreq "$U/ret/found"
like "$(head -n 2 "$T/h.head")" '^HTTP/1\.1 302 Moved Temporarily' "302: the status line says Moved Temporarily"
like "$H_BODY" '<title>302 Found</title>' "...the page says 302 Found, as nginx's"
hreq "$U/ret/default?page=7"
is "$H_BODY" "page=7" "set \$arg_page in an if: \$arg_page still reads the query"
hreq "$U/ret/default"
is "$H_BODY" "page=1" "...and the default is set when the argument is missing"

# --- rewrite
n=$(reqs)
hreq "$U/rw/last/a?x=1"
is "$H_BODY" "target uri=/target/a args=x=1" "rewrite last: a new location search, args kept"
hreq "$U/srv/b"
is "$H_BODY" "target uri=/target/srv-b args=" "server-level rewrite before the location search"
hreq "$U/rw/chain/c"
is "$H_BODY" "target uri=/target/c args=" "rewrites without a flag go on to the next one"
is "$(reqs)" "$n" "...none of those reached the backend"
hreq "$U/rw/break/d?y=2"
like "$H_BODY" '^GET /target/d\?y=2 HTTP' "rewrite break: stays in the location, proxies the new URI"
hreq "$U/rw/redir/e?z=3"
is "$H_STATUS" 302 "rewrite redirect: 302"
like "$(hhdr Location)" "^http://127\.0\.0\.1:$PORT1/target/e\?z=3\$" "...to the new URI, args appended"
hreq "$U/rw/perm/f"
is "$H_STATUS" 301 "rewrite permanent: 301"
like "$(hhdr Location)" "/target/f\$" "...to the new URI"
hreq "$U/rw/abs/g"
is "$H_STATUS" 302 "rewrite to http://...: a redirect"
is "$(hhdr Location)" "http://other.test/g" "...to that URL"
hreq "$U/rw/args/h?old=2"
is "$H_BODY" "target uri=/target/h args=new=1&old=2" "replacement args come first, the old ones appended"
hreq "$U/rw/noargs/i?old=2"
is "$H_BODY" "target uri=/target/i args=" "a trailing ? drops the old args"
hreq "$U/rw/nomatch"
like "$H_BODY" '^GET /rw/nomatch HTTP' "no regex matches: the URI is unchanged"
hreq "$U/loop/x"
is "$H_STATUS" 500 "a rewrite loop: 500"
like "$(cat "$T/error.log")" 'rewrite or internal redirection cycle' "...logged as a cycle"

# --- set
hreq "$U/set/p"
is "$H_BODY" "b=x-/set/p word=[]" "set with variables; one set elsewhere only is empty here"
hreq "$U/setcap/hello"
like "$H_BODY" '^X-Word: w=hello$' "set from a capture, sent with proxy_set_header"

# --- error_page
hreq "$U/ep/code"
is "$H_STATUS" 404 "error_page 404 /uri: the status stays 404"
is "$H_BODY" "target uri=/target/from404 args=" "...the body comes from the internal redirect"
hreq "$U/ep/eqcode"
is "$H_STATUS" 200 "error_page 404 =200 /uri: 200"
is "$H_BODY" "target uri=/target/eq200 args=" "...with the target's body"
hreq "$U/ep/eq"
is "$H_STATUS" 201 "error_page 404 = /uri: the target's own status"
is "$H_BODY" made "...and body"
hreq "$U/ep/named"
is "$H_STATUS" 403 "error_page 403 @named: the status stays 403"
is "$H_BODY" "named /ep/named" "...the named location answers with the same \$uri"
hreq "$U/ep/url"
is "$H_STATUS" 302 "error_page 404 URL: 302"
is "$(hhdr Location)" "http://example.test/nf" "...to the URL"
hreq "$U/ep/url301"
is "$H_STATUS" 301 "error_page 404 =301 URL: 301"
is "$(hhdr Location)" "http://example.test/nf301" "...to the URL"
hreq "$U/ep/multi"
is "$H_STATUS" 503 "error_page with several codes and =503"
is "$H_BODY" "target uri=/target/multi args=" "...the target's body"
hreq "$U/ep/args"
is "$H_BODY" "target uri=/target/x args=from=ep" "error_page URI with args"

# --- allow / deny
n=$(reqs)
hreq "$U/acl/deny-all"
is "$H_STATUS" 403 "deny all: 403"
hreq "$U/acl/deny-cidr"
is "$H_STATUS" 403 "deny 127.0.0.0/8: 403"
hreq "$U/acl/allow-other"
is "$H_STATUS" 403 "allow 10.0.0.0/8 and 192.168.1.1, deny all: 403 for 127.0.0.1"
is "$(reqs)" "$n" "denied requests never reach the backend"
hreq "$U/acl/allow-local"
is "$H_STATUS" 200 "allow 127.0.0.1; deny all: 200"
hreq "$U/acl/first-wins"
is "$H_STATUS" 200 "the first matching rule wins"
is "$(reqs)" $((n + 2)) "...those two reached the backend"
hreq "$U/acl/rewrite-phase-first"
is "$H_STATUS" 200 "return (rewrite phase) runs before deny (access phase), as in nginx"
hreq "$U/acl/page"
is "$H_STATUS" 403 "deny with error_page 403: still 403"
is "$H_BODY" "target uri=/target/denied args=" "...with the error_page body"
hreq "http://127.0.0.1:$PORT2/x"
is "$H_STATUS" 403 "deny all at server level is inherited"
hreq "http://127.0.0.1:$PORT2/y"
is "$H_STATUS" 200 "a location's own allow replaces the server's rules"
like "$(cat "$T/error.log")" 'access forbidden by rule' "denials are logged"

# --- absolute redirects, as nginx: Host, else the local address; the port unless 80
loc() { # PATH [HOST]: the Location answered to an HTTP/1.0 request with that Host, if any
    hraw "$PORT3" "GET $1 HTTP/1.0\r\n${2:+Host: $2\r\n}\r\n"
    printf '%s\n' "$R_HEAD" | sed -n 's/^Location: //p'
}
is "$(loc /r h.example)" "http://h.example:$PORT3/t" "relative Location: Host and the local port"
is "$(loc /r)" "http://127.0.0.1:$PORT3/t" "...no Host: the local address, not server_name"
is "$(loc /sn h.example)" "http://redir.test:$PORT3/t" "server_name_in_redirect on: server_name"
is "$(loc /np h.example)" "http://h.example/t" "port_in_redirect off: no port"
is "$(loc /rel h.example)" "/t" "absolute_redirect off: as written"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

# 225-http-vars-log: the variables of issue #3 as return and the access log
# see them; log_format (combined, escape=default|json|none), access_log at
# http / server / location level, off, buffer= and flush=, reopen on USR1;
# map (exact, default, regex with captures, ~*, hostnames).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf vars.conf <<'EOF'
@PRELUDE@
http {
    log_format all 'host=$host ra=$remote_addr rp=$remote_port sa=$server_addr sp=$server_port '
                   'scheme=$scheme request="$request" method=$request_method ruri=$request_uri '
                   'uri=$uri args=$args status=$status bbs=$body_bytes_sent rt=$request_time '
                   'uaddr=$upstream_addr ust=$upstream_status urt=$upstream_response_time '
                   'uct=$upstream_connect_time tl=[$time_local] ti=$time_iso8601 msec=$msec '
                   'conn=$connection rid=$request_id xm=$http_x_missing';
    log_format js escape=json '{"q":"$http_x_q","m":"$http_x_missing","s":$status}';
    log_format esc '$http_x_q|$http_x_missing';
    log_format none escape=none '$http_x_q|$http_x_missing|';
    log_format plain '$uri $status';
    log_format extra '$uri pipe=$pipe rtt=$tcpinfo_rtt url=$upstream_response_length '
                     'uck=$upstream_cookie_sid cl=$content_length st=$sent_trailer_x';
    access_log @T@/http.log plain;
    map_hash_max_size 4096;
    map_hash_bucket_size 128;

    map $http_x_map $mapped {
        default            dflt;
        exact              exact-val;
        ~^re-(?<tail>.+)$  "re:$tail";
        ~*^CASE            icase;
        ~^cap-(\d+)-(\d+)$ "$2/$1";
    }
    map $host $hn {
        hostnames;
        default      other;
        map.test     exact;
        *.map.test   wild;
    }
    map $mapped $chained { default "chained:$mapped"; }

    server {
        listen 127.0.0.1:@PORT1@;
        access_log @T@/all.log all;
        access_log @T@/combined.log combined;
        access_log @T@/js.log js;
        access_log @T@/esc.log esc;
        access_log @T@/none.log none;
        location /v {
            return 200 "host=$host ra=$remote_addr rp=$remote_port sa=$server_addr sp=$server_port scheme=$scheme request=$request method=$request_method ruri=$request_uri uri=$uri args=$args a=$arg_a b=$arg_b ua=$http_user_agent hw=$http_x_hello_world ck=$cookie_sess xff=$proxy_add_x_forwarded_for conn=$connection rid=$request_id\n";
        }
        location /p { proxy_pass http://127.0.0.1:@PORT9@; }
        location /offlog/ {
            access_log off;
            access_log @T@/offlog.log plain;
            return 200 "off\n";
        }
        location /vlog/ {
            access_log @T@/v-$arg_n.log plain;
            return 200 "vlog\n";
        }
        location /extra/ {
            access_log @T@/extra.log extra;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /retry { proxy_pass http://pair; }
        location /map { return 200 "$mapped|$hn|$chained\n"; }
        location /loc {
            access_log @T@/loc.log plain;
            return 200 "loc\n";
        }
        location /off {
            access_log off;
            return 200 "off\n";
        }
    }
    upstream pair {
        server 127.0.0.1:@PORT8@;
        server 127.0.0.1:@PORT9@;
    }
    server {
        listen 127.0.0.1:@PORT2@;
        location / { return 200 "http-level\n"; }
    }
    server {
        listen 127.0.0.1:@PORT3@;
        access_log @T@/buf.log plain buffer=32k flush=1s;
        location / { return 200 "buf\n"; }
    }
    server {
        listen 127.0.0.1:@PORT4@;
        access_log @T@/buf2.log plain buffer=64k;
        location / { return 200 "buf2\n"; }
    }
    # error_log per server and per location, as nginx
    server {
        listen 127.0.0.1:@PORT5@;
        access_log off;
        error_log @T@/srv_error.log info;
        location / { return 200 "srv\n"; }
        location /el/ {
            error_log @T@/loc_error.log info;
            return 200 "loc\n";
        }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5" fc_start vars.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
U=http://127.0.0.1:$PORT1
# field NAME TEXT: the value of NAME=... in a line of space-separated fields
field() { printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p" | head -n 1; }

# --- request variables, seen by return
hreq -w '%{local_port}' -A 'agent/1' -H 'Host: Vars.Test:81' -H 'X-Hello-World: hw' \
    -H 'Cookie: a=1; sess=abc; b=2' -H 'X-Forwarded-For: 10.1.2.3' "$U/v%2Fx?a=1&B=2&a=3"
port=$H_STATUS
v=$H_BODY
is "$(field host "$v")" vars.test "\$host: from Host, lowercased, without the port"
is "$(field ra "$v")" 127.0.0.1 "\$remote_addr"
is "$(field rp "$v")" "$port" "\$remote_port is the client's port"
is "$(field sa "$v")" 127.0.0.1 "\$server_addr"
is "$(field sp "$v")" "$PORT1" "\$server_port"
is "$(field scheme "$v")" http "\$scheme"
like "$v" "request=GET /v%2Fx\\?a=1&B=2&a=3 HTTP/1\\.1 " "\$request"
is "$(field method "$v")" GET "\$request_method"
is "$(field ruri "$v")" "/v%2Fx?a=1&B=2&a=3" "\$request_uri: as sent"
hraw "$PORT1" 'GET http://Abs.Test:99/v%2Fy?q=1 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n'
like "$R_OUT" ' ruri=/v%2Fy\?q=1 uri=/v/y ' "absolute-form request: \$request_uri is the path and query, as nginx"
hraw "$PORT1" 'GET http://abs.test?q=2 HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n'
like "$(grep -a 'request="GET http://abs.test?q=2 ' "$T/all.log")" ' ruri=\?q=2 ' "...with no path: what follows the host"
is "$(field uri "$v")" "/v/x" "\$uri: decoded"
# nginx's other variables: $pipe, $tcpinfo_*, $upstream_response_length,
# $upstream_cookie_NAME, $content_length of a chunked body, $sent_trailer_NAME
hraw "$PORT1" 'GET /extra/a?size=10&hdr=Set-Cookie:%20sid=abc;%20Path=/ HTTP/1.1\r\nHost: h\r\n\r\nPOST /extra/b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n'
t_wait_lines "$T/extra.log" 2
like "$(grep -a '^/extra/a ' "$T/extra.log")" '^/extra/a pipe=\. rtt=[0-9]+ url=10 uck=abc cl=- st=-$' \
    "\$pipe ., \$tcpinfo_rtt, \$upstream_response_length (the body), \$upstream_cookie_sid"
like "$(grep -a '^/extra/b ' "$T/extra.log")" '^/extra/b pipe=p .* uck=- cl=3 st=-$' \
    "a pipelined request: \$pipe p; \$content_length of a chunked body once read"

hreq "$U/offlog/x"
is "$H_STATUS" 200 "access_log off and a log at one level: accepted, as nginx"
ok_cmd "...and off wins: nothing is logged there" test ! -s "$T/offlog.log"

# error_log at server and location level
hraw "$PORT5" 'GET / HTTP/1.1\r\n\r\n'
is "$R_STATUS" 400 "a request without Host on the error_log server: 400"
wait_for 3 grep -q 'without "Host"' "$T/srv_error.log"
ok $? "...logged in the server's error_log"
unlike "$(cat "$T/error.log")" 'without "Host"' "...and not in the main one"
hraw "$PORT5" 'GET /el/x HTTP/1.1\r\nHost: h\r\n\r\n' -t 200
wait_for 3 grep -q 'closed keepalive connection' "$T/loc_error.log"
ok $? "a location's error_log takes its requests' lines"

# access_log with variables in its path: opened for each line, as nginx
hreq "$U/vlog/a?n=1"
hreq "$U/vlog/b?n=2"
hreq "$U/vlog/c?n=1"
is "$(cat "$T/v-1.log" 2>/dev/null | tr '\n' ,)" "/vlog/a 200,/vlog/c 200," "access_log with a variable path: the lines of n=1 in v-1.log"
is "$(cat "$T/v-2.log" 2>/dev/null)" "/vlog/b 200" "...and those of n=2 in v-2.log"

# a head that fails is logged with what came, as nginx logs it
hraw "$PORT1" 'GET /part%41?q=1 HTTP/1.1\r\nHost: Part.Test\r\nX-A: 1\r\n' -c
l=$(grep -a 'uri=/partA ' "$T/all.log")
like "$l" 'request="GET /part%41\?q=1 HTTP/1\.1" ' "a head cut by the client's close: \$request is logged"
like "$l" '^host=part\.test .* uri=/partA args=q=1 status=400 ' "...with \$host, \$uri, \$args and 400"
hraw "$PORT1" 'GET /bad HTTP/1.1 junk\r\nHost: h\r\n\r\n'
like "$(grep -a 'status=400' "$T/all.log")" 'request="GET /bad HTTP/1\.1 junk" ' \
    "a bad request line is logged as it came"
is "$(field args "$v")" "a=1&B=2&a=3" "\$args"
is "$(field a "$v")" 1 "\$arg_a: the first one"
is "$(field b "$v")" 2 "\$arg_b: names are case-insensitive"
is "$(field ua "$v")" agent/1 "\$http_user_agent"
is "$(field hw "$v")" hw "\$http_x_hello_world: dashes become underscores"
is "$(field ck "$v")" abc "\$cookie_sess"
is "$(field xff "$v")" "10.1.2.3," "\$proxy_add_x_forwarded_for appends the address..."
like "$v" 'xff=10\.1\.2\.3, 127\.0\.0\.1 ' "...after a comma and a space"
like "$(field conn "$v")" '^[0-9]+$' "\$connection is a number"
like "$(field rid "$v")" '^[0-9a-f]{32}$' "\$request_id: 32 hex digits"
rid1=$(field rid "$v")
hreq "$U/v"
is "$(field xff "$H_BODY")" 127.0.0.1 "\$proxy_add_x_forwarded_for without X-Forwarded-For: the address"
isnt "$(field rid "$H_BODY")" "$rid1" "\$request_id differs between requests"
# two requests on one connection share $connection
curl -q -s --max-time 10 -o "$T/c1" "$U/v" -o "$T/c2" "$U/v"
is "$(field conn "$(cat "$T/c1")")" "$(field conn "$(cat "$T/c2")")" "\$connection is the same on a keep-alive connection"
isnt "$(field conn "$(cat "$T/c1")")" "$(field conn "$v")" "...and differs between connections"

# --- the access log: status, sizes, times, upstream variables
hreq "$U/p/log?x=1"
t_wait_lines "$T/all.log" 5
l=$(grep 'uri=/p/log ' "$T/all.log")
is "$(field status "$l")" 200 "log: \$status"
is "$(field bbs "$l")" "$(wc -c <"$T/h.body" | tr -d ' ')" "log: \$body_bytes_sent is the body's size"
like "$(field rt "$l")" '^[0-9]+\.[0-9]{3}$' "log: \$request_time in seconds.millis"
is "$(field uaddr "$l")" "127.0.0.1:$PORT9" "log: \$upstream_addr"
is "$(field ust "$l")" 200 "log: \$upstream_status"
like "$(field urt "$l")" '^[0-9]+\.[0-9]{3}$' "log: \$upstream_response_time"
like "$(field uct "$l")" '^[0-9]+\.[0-9]{3}$' "log: \$upstream_connect_time"
like "$l" 'tl=\[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{4}\]' "log: \$time_local"
like "$(field ti "$l")" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$' "log: \$time_iso8601"
like "$(field msec "$l")" '^[0-9]{10}\.[0-9]{3}$' "log: \$msec"
is "$(field xm "$l")" "-" "log: an empty variable is '-'"
l=$(grep 'uri=/v ' "$T/all.log" | head -n 1)
is "$(field uaddr "$l")" "-" "log: no upstream: \$upstream_addr is '-'"
is "$(field bbs "$l")" "$(wc -c <"$T/c1" | tr -d ' ')" "log: \$body_bytes_sent of a return"
# a retry shows both attempts
hreq "$U/retry/a"
hreq "$U/retry/b"
t_wait_lines "$T/all.log" 7
l=$(grep 'uri=/retry/' "$T/all.log" | grep ', ' | head -n 1)
like "$l" "uaddr=127\\.0\\.0\\.1:$PORT8, 127\\.0\\.0\\.1:$PORT9 " "log: \$upstream_addr lists each attempt"
like "$l" "ust=502, 200 " "log: \$upstream_status lists each attempt"
like "$l" "urt=[0-9]+\\.[0-9]{3}, [0-9]+\\.[0-9]{3} " "log: \$upstream_response_time lists each attempt"

# --- formats and escaping
hraw "$PORT1" 'GET /esc?x=1 HTTP/1.1\r\nHost: h\r\nUser-Agent: ag "q"\r\nReferer: http://r.test/\r\nX-Q: a"b\\c\xe9\r\nConnection: close\r\n\r\n'
t_wait_lines "$T/js.log" 8
like "$(grep '/esc' "$T/combined.log")" \
    '^127\.0\.0\.1 - - \[[0-9]{2}/[A-Z][a-z]{2}/[0-9]{4}:[0-9:]{8} [+-][0-9]{4}\] "GET /esc\?x=1 HTTP/1\.1" 404 [0-9]+ "http://r\.test/" "ag \\x22q\\x22"$' \
    "combined: nginx's format, \" escaped as \\x22"
is "$(tail -n 1 "$T/js.log")" "$(printf '{"q":"a\\"b\\\\c\351","m":"","s":404}')" \
    "escape=json: \" and \\ escaped, bytes >= 0x80 as they are, empty is empty"
is "$(tail -n 1 "$T/esc.log")" 'a\x22b\x5Cc\xE9|-' "escape=default: \" \\ and bytes >= 0x80 as \\xHH, empty is -"
is "$(tail -n 1 "$T/none.log")" "$(printf 'a"b\\c\351||')" "escape=none: as received, a missing variable writes nothing"

# --- where requests are logged
hreq "$U/loc"
hreq "$U/off"
hreq "http://127.0.0.1:$PORT2/h"
t_wait_lines "$T/loc.log" 1
t_wait_lines "$T/http.log" 1
is "$(cat "$T/loc.log")" "/loc 200" "a location's access_log"
unlike "$(cat "$T/all.log")" 'uri=/loc ' "...replaces the server's"
unlike "$(cat "$T/all.log" "$T/http.log" "$T/loc.log")" '/off' "access_log off: logged nowhere"
is "$(cat "$T/http.log")" "/h 200" "a server without access_log uses the http level one"
is "$(grep -c 'uri=/p/log ' "$T/all.log")" 1 "several access_log at one level: each gets the line (all)"
is "$(grep -c '/p/log' "$T/combined.log")" 1 "...(combined)"

# --- buffer= and flush=
hreq "http://127.0.0.1:$PORT3/b1"
is "$(t_lines "$T/buf.log")" 0 "buffer=32k: not written at once"
t_wait_lines "$T/buf.log" 1 4
ok $? "flush=1s: written within a few seconds"
hreq "http://127.0.0.1:$PORT4/b2"
hreq "http://127.0.0.1:$PORT4/b3"
is "$(t_lines "$T/buf2.log")" 0 "buffer=64k without flush: held"

# --- USR1: buffered lines are flushed, files reopened
mv "$T/all.log" "$T/all.log.1"
hreq "$U/v?before"
kill -USR1 "$FC_PID"
wait_for 5 test -f "$T/all.log"
ok $? "USR1: the log file is created again"
t_wait_lines "$T/buf2.log" 2 5
ok $? "USR1: the buffered lines are written"
i=0
while [ "$i" -lt 40 ] && [ "$(t_lines "$T/all.log")" -eq 0 ]; do
    hreq "$U/v?after$i"
    i=$((i + 1))
    [ "$(t_lines "$T/all.log")" -eq 0 ] && sleep 0.05
done
like "$(cat "$T/all.log")" 'args=after' "USR1: new lines go to the new file"
like "$(cat "$T/all.log.1")" 'args=before ' "...the line before went to the renamed one"

# --- map
mp() { # X-Map value, Host, expected, desc
    hreq -H "X-Map: $1" -H "Host: $2" "$U/map"
    is "$H_BODY" "$3" "$4"
}
mp exact map.test "exact-val|exact|chained:exact-val" "map: exact key; hostnames: exact name; a map of a map"
mp re-foo a.map.test "re:foo|wild|chained:re:foo" "map: regex with a named capture; hostnames: *.map.test"
mp case-x other.test "icase|other|chained:icase" "map: ~* is case-insensitive; hostnames: default"
mp cap-1-2 h "2/1|other|chained:2/1" "map: numbered captures in the value"
mp nothing h "dflt|other|chained:dflt" "map: default"
mp EXACT h "exact-val|other|chained:exact-val" "map: exact keys are case-insensitive"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

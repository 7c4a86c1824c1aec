# 900-seed-http: the seed document's Layer 7 example
# (conf/examples/l7-http.conf) and hybrid example (conf/examples/hybrid.conf)
# run as written -- included straight from conf/examples, on their own fixed
# local ports -- with reflect/echo backends: /api/, /media/ and /auth/
# routing, the Host and X-Real-IP the backends see, round robin across each
# pair, and the hybrid's stream and http halves side by side.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

L7=$TOP/conf/examples/l7-http.conf
HY=$TOP/conf/examples/hybrid.conf
# the ports the examples use, as written
for p in 8080 9081 9082 9001 9002 9181 9182 5432 5433 5434 8081 8082; do
    port_busy "$p" && skip_all "port $p (used by the examples as written) is in use"
done

fc_conf l7.conf <<'EOF'
@PRELUDE@
include @TOP@/conf/examples/l7-http.conf;
EOF
fc_conf hybrid.conf <<'EOF'
@PRELUDE@
include @TOP@/conf/examples/hybrid.conf;
EOF
[ -f "$L7" ] && [ -f "$HY" ]
ok $? "conf/examples/l7-http.conf and hybrid.conf exist"
fc_run -t -c "$T/l7.conf"
ok $? "-t accepts conf/examples/l7-http.conf"
fc_run -t -c "$T/hybrid.conf"
ok $? "-t accepts conf/examples/hybrid.conf"

# ids PATH N: X-Backend of N sequential requests for PATH with Host example.com
ids() {
    _i=0
    _out=
    while [ "$_i" -lt "$2" ]; do
        _id=$(curl -q -s --max-time 10 -o /dev/null -w '%header{x-backend}' \
            -H 'Host: example.com' "http://127.0.0.1:8080$1" 2>/dev/null)
        _out="$_out ${_id:--}"
        _i=$((_i + 1))
    done
    echo "${_out# }"
}

# --- Layer 7
backend_start reflect 9081 -i api1
backend_start reflect 9082 -i api2
backend_start reflect 9001 -i media1
backend_start reflect 9002 -i media2
backend_start reflect 9181 -i auth1
backend_start reflect 9182 -i auth2
FC_WAIT_PORTS=8080 fc_start l7.conf
ok $? "the Layer 7 example runs" || t_bail "the binary did not start"

is "$(ids /api/users 4)" "api1 api2 api1 api2" "/api/ -> api_servers, round robin"
is "$(ids /media/a.jpg 4)" "media1 media2 media1 media2" "/media/ -> media_servers, round robin"
is "$(ids /auth/login 4)" "auth1 auth2 auth1 auth2" "/auth/ -> auth_servers, round robin"
hreq -H 'Host: example.com' "http://127.0.0.1:8080/api/v1/items?id=7"
is "$H_STATUS" 200 "/api/v1/items: 200"
like "$H_BODY" '^GET /api/v1/items\?id=7 HTTP/1\.[01]$' "the URI reaches the backend unchanged"
like "$H_BODY" '^Host: example\.com$' "proxy_set_header Host \$host"
like "$H_BODY" '^X-Real-IP: 127\.0\.0\.1$' "proxy_set_header X-Real-IP \$remote_addr"
is "$(printf '%s\n' "$H_BODY" | grep -c '^Host:')" 1 "one Host header"
hreq -H 'Host: www.other.test' "http://127.0.0.1:8080/auth/x"
like "$H_BODY" '^Host: www\.other\.test$' "another Host: the only server answers, Host passed as sent"
hreq -H 'Host: example.com' --data-binary 'user=a&pass=b' "http://127.0.0.1:8080/auth/login"
like "$H_BODY" 'user=a&pass=b$' "a POST body reaches the auth backend"
hreq -H 'Host: example.com' "http://127.0.0.1:8080/elsewhere"
is "$H_STATUS" 404 "a path outside the three locations: 404"
# count PORT...: requests the reflect backends on those ports got
count() { for _p in "$@"; do backend_count "$_p" req; done | awk '{ s += $1 } END { print s }'; }
is "$(count 9081 9082) $(count 9001 9002) $(count 9181 9182)" "5 4 6" \
    "each group got exactly its requests (api 5, media 4, auth 6)"
backend_stop 9081
is "$(ids /api/x 4)" "api2 api2 api2 api2" "api1 down: api2 serves every request"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
for p in 9082 9001 9002 9181 9182; do backend_stop "$p"; done
wait_port_closed 8080 5

# --- hybrid: stream 5432 and http 8080 in one config
backend_start echo 5433 -i db1
backend_start echo 5434 -i db2
backend_start reflect 8081 -i web1
backend_start reflect 8082 -i web2
FC_WAIT_PORTS="8080 5432" fc_start hybrid.conf
ok $? "the hybrid example runs" || t_bail "the binary did not start"
TC=$(helper tcpclient)
db=
n=0
while [ "$n" -lt 4 ]; do
    db="$db $("$TC" -p 5432 -n 1000 -E -k -T 3000 2>/dev/null | sed -n 's/^id=\([^ ]*\) sent=1000 recv=1000 .*/\1/p')"
    n=$((n + 1))
done
is "$db" " db1 db2 db1 db2" "stream: database, round robin, bytes echoed"
is "$(ids /anything 4)" "web1 web2 web1 web2" "http: web_servers, round robin"
hreq -H 'Host: example.com' "http://127.0.0.1:8080/page?q=1"
like "$H_BODY" '^GET /page\?q=1 HTTP' "http: location / passes every URI"
like "$H_BODY" '^Host: example\.com$' "http: proxy_set_header Host \$host"
unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

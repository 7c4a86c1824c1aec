# 226-http-realip: set_real_ip_from, real_ip_header, real_ip_recursive
# (nginx's realip module): behind a trusted proxy $remote_addr (and allow/deny,
# $proxy_add_x_forwarded_for) take the address from X-Real-IP, X-Forwarded-For
# or another field; recursion skips trusted proxies; the settings of a
# location apply too; the next request on the connection has the connection's
# own address again; $realip_remote_addr/_port keep it.
#
# Debian's nginx 1.22 passes every assertion but "real_ip_header
# proxy_protocol" (fulcrum has no PROXY protocol and refuses it).
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf realip.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        set_real_ip_from 127.0.0.1;
        location / {
            return 200 "ra=$remote_addr rp=$remote_port rra=$realip_remote_addr\n";
        }
        location /up/ {
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /deny/ {
            deny 10.1.2.3;
            allow all;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
    }
    server {
        listen 127.0.0.1:@PORT2@;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        location / { return 200 "ra=$remote_addr rp=$remote_port\n"; }
    }
    server {
        listen 127.0.0.1:@PORT3@;
        set_real_ip_from 127.0.0.1;
        set_real_ip_from 10.0.0.0/8;
        real_ip_header X-Forwarded-For;
        location / { return 200 "ra=$remote_addr\n"; }
    }
    server {
        listen 127.0.0.1:@PORT4@;
        real_ip_header X-Client;
        # in a location realip runs in PREACCESS: after `return` (rewrite
        # phase), before proxy_pass
        location / {
            set_real_ip_from 127.0.0.1;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_pass http://127.0.0.1:@PORT9@;
        }
        location /ret {
            set_real_ip_from 127.0.0.1;
            return 200 "ra=$remote_addr\n";
        }
        location /other { return 200 "ra=$remote_addr\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@;
        set_real_ip_from 10.0.0.0/8;
        location / { return 200 "ra=$remote_addr\n"; }
    }
}
EOF2
if ! fc_run -t -c "$T/realip.conf" && grep -q 'unknown directive "set_real_ip_from"' "$T/fc_run.out"; then
    skip_all "built without the realip module (./configure --without-http_realip)"
fi
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5" fc_start realip.conf
ok $? "starts with set_real_ip_from" || t_bail "the binary did not start"

body() { # PORT PATH [CURL_ARGS...]
    _b_port=$1 _b_path=$2
    shift 2
    hreq "$@" "http://127.0.0.1:$_b_port$_b_path"
    printf '%s' "$H_BODY"
}
is "$(body "$PORT1" / -H 'X-Real-IP: 10.1.2.3')" "ra=10.1.2.3 rp= rra=127.0.0.1" \
    "X-Real-IP from a trusted proxy: \$remote_addr, no port, \$realip_remote_addr the proxy's"
like "$(body "$PORT1" /)" "^ra=127\\.0\\.0\\.1 rp=[0-9]+ rra=127\\.0\\.0\\.1$" "no field: the connection's address"
like "$(body "$PORT1" / -H 'X-Real-IP: not-an-address')" "^ra=127\\.0\\.0\\.1 " "a field that is no address: unchanged"
like "$(body "$PORT1" / -H 'X-Forwarded-For: 10.9.9.9')" "^ra=127\\.0\\.0\\.1 " \
    "the default field is X-Real-IP: X-Forwarded-For is not read"
hreq -H 'X-Real-IP: 10.1.2.3' "http://127.0.0.1:$PORT1/up/x"
like "$H_BODY" '^X-Forwarded-For: 10\.1\.2\.3' "\$proxy_add_x_forwarded_for has the real address"
hreq -H 'X-Real-IP: 10.1.2.3' "http://127.0.0.1:$PORT1/deny/"
is "$H_STATUS" 403 "deny applies to the real address"
hreq -H 'X-Real-IP: 10.1.2.4' "http://127.0.0.1:$PORT1/deny/"
is "$H_STATUS" 200 "...another one is allowed"

XFF='X-Forwarded-For: 1.1.1.1, 10.0.0.5, 10.0.0.6'
is "$(body "$PORT2" / -H "$XFF")" "ra=1.1.1.1 rp=" "real_ip_recursive on: trusted proxies are skipped"
is "$(body "$PORT3" / -H "$XFF")" "ra=10.0.0.6" "real_ip_recursive off: the last address"
is "$(body "$PORT2" / -H 'X-Forwarded-For: 1.1.1.1' -H 'X-Forwarded-For: 10.0.0.7')" "ra=1.1.1.1 rp=" \
    "X-Forwarded-For on two lines: one list"
is "$(body "$PORT2" / -H 'X-Forwarded-For: 10.1.1.1:8080')" "ra=10.1.1.1 rp=8080" \
    "an address with a port: \$remote_port is that port"
is "$(body "$PORT3" / -H 'X-Forwarded-For: [2001:db8::1]:443')" "ra=2001:db8::1" "an IPv6 address"
like "$(body "$PORT4" /x -H 'X-Client: 10.2.2.2')" '^X-Forwarded-For: 10\.2\.2\.2' \
    "set_real_ip_from in the location, real_ip_header X-Client in the server"
is "$(body "$PORT4" /ret -H 'X-Client: 10.2.2.2')" "ra=127.0.0.1" \
    "...which return (rewrite phase) does not see yet, as in nginx"
is "$(body "$PORT4" /other -H 'X-Client: 10.2.2.2')" "ra=127.0.0.1" "...not in another location"
is "$(body "$PORT5" / -H 'X-Real-IP: 10.1.2.3')" "ra=127.0.0.1" "a proxy not trusted: unchanged"

hraw "$PORT1" 'GET / HTTP/1.1\r\nHost: a\r\nX-Real-IP: 10.1.2.3\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
like "$R_OUT" 'ra=10\.1\.2\.3 rp= ' "keep-alive: the first request has the field's address..."
like "$R_OUT" 'ra=127\.0\.0\.1 rp=[0-9]+ ' "...the next one the connection's own again"
fc_stop
is $? 0 "graceful stop"

http_check "real_ip_header proxy_protocol"
is $? 1 "real_ip_header proxy_protocol: refused (no PROXY protocol)"
http_check "set_real_ip_from not/an/address"
is $? 1 "set_real_ip_from with a bad address: refused"
done_testing

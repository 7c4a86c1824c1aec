# 160-stream-proxy-protocol: proxy_protocol on sends the PROXY protocol v1
# header ("PROXY TCP4 CLIENT SERVER CPORT SPORT\r\n") to the upstream before
# the client's bytes, once per upstream connection (again after a failover),
# counted in $upstream_bytes_sent; off (the default) sends nothing.
#
# Debian's nginx 1.22 passes every assertion.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf pp.conf <<'EOF2'
@PRELUDE@
stream {
    log_format pp '$server_port $upstream_addr $upstream_bytes_sent';
    access_log @T@/pp.log pp;
    upstream fo { server 127.0.0.1:@PORT8@; server 127.0.0.1:@PORT9@; }
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT9@; proxy_protocol on; }
    server { listen 127.0.0.1:@PORT2@; proxy_pass 127.0.0.1:@PORT9@; }
    server { listen 127.0.0.1:@PORT3@; proxy_pass fo; proxy_protocol on; }
}
EOF2
backend_start echo "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3" fc_start pp.conf
ok $? "starts with proxy_protocol on" || t_bail "the binary did not start"

hraw "$PORT1" 'hello\n' -t 1000
like "$R_OUT" "^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 [0-9]+ $PORT1\$" \
    "the upstream gets the PROXY header first: client, server, their ports"
like "$R_OUT" '^hello$' "...then the client's bytes"
is "$(head -c 6 "$T/r.out")" "PROXY " "...at the very start of the stream"
hraw "$PORT2" 'hello\n' -t 1000
is "$R_OUT" "hello" "proxy_protocol off (default): the bytes alone"
# nothing listens on PORT8: the second try gets its own header
hraw "$PORT3" 'again\n' -t 1000
like "$R_OUT" "^PROXY TCP4 127\\.0\\.0\\.1 127\\.0\\.0\\.1 [0-9]+ $PORT3\$" "after a failover: the header on the new connection"
is "$(grep -c '^PROXY ' "$T/r.out")" 1 "...once"
wait_for 5 grep -q "^$PORT1 " "$T/pp.log"
len=$(grep "^$PORT1 " "$T/pp.log" | head -n 1 | awk '{ print $3 }')
ok "$([ "$len" -gt 30 ] && echo 0 || echo 1)" "\$upstream_bytes_sent counts the header ($len bytes for 6 of data)"
# nginx's info lines for a proxied session, without the session context
like "$(cat "$T/error.log")" "\\[info\\] [0-9]+#[0-9]+: \\*[0-9]+ proxy 127\\.0\\.0\\.1:[0-9]+ connected to 127\\.0\\.0\\.1:$PORT9\$" \
    "info: \"proxy LOCAL connected to UPSTREAM\", as nginx"
like "$(cat "$T/error.log")" "(client|upstream) disconnected, bytes from/to client:6/6, bytes from/to upstream:6/6\$" \
    "info: \"... disconnected, bytes from/to client:6/6, bytes from/to upstream:6/6\""
fc_stop
is $? 0 "graceful stop"
done_testing

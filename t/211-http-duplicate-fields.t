# 211-http-duplicate-fields: a request field sent twice, as nginx 1.22 takes
# it. Fields that make no sense twice (the conditional ones, If-Range,
# Expect, Host, Authorization) are a 400; the others keep their first line (Accept-Encoding,
# User-Agent, ...), and Connection its last. ($http_NAME joins every line, as
# nginx does since 1.23; 1.22 gave the first: not tested here.)
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf dup.conf <<'EOF2'
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@;
        location / { return 200 "ok\n"; }
    }
}
EOF2
FC_WAIT_PORTS=$PORT1 fc_start dup.conf
ok $? "starts" || t_bail "cannot start"

twice() { # DESC FIELD VALUE1 VALUE2 STATUS
    hraw "$PORT1" "GET / HTTP/1.1\r\nHost: a\r\n$2: $3\r\n$2: $4\r\nConnection: close\r\n\r\n"
    is "$R_STATUS" "$5" "$1: $2 twice -> $5"
}
twice "conditional" If-None-Match '"a"' '"b"' 400
twice "conditional" If-Match '"a"' '"b"' 400
twice "conditional" If-Modified-Since 'Sat, 01 Jan 2022 00:00:00 GMT' 'Sun, 02 Jan 2022 00:00:00 GMT' 400
twice "conditional" If-Unmodified-Since 'Sat, 01 Jan 2022 00:00:00 GMT' 'Sun, 02 Jan 2022 00:00:00 GMT' 400
twice "range" If-Range '"a"' '"b"' 400
twice "credentials" Authorization 'Basic YTpi' 'Basic Yzpk' 400
twice "range" Range 'bytes=0-1' 'bytes=2-3' 200
twice "other" Accept-Encoding gzip identity 200
twice "other" Referer http://a/ http://b/ 200
like "$(cat "$T/error.log")" 'client sent duplicate header line: "If-None-Match: "b"", previous value: "If-None-Match: "a""' \
    "the 400 is logged with both lines"

hraw "$PORT1" "GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"
is "$R_NRESP" 1 "Connection twice: the last (close) counts: one answer, then the close"

fc_stop
ok $? "graceful stop"
done_testing

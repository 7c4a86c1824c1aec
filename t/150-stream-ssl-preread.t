# 150-stream-ssl-preread: ssl_preread routes TLS by SNI without terminating
# it. Three `openssl s_server` backends (a.test, b.test, default.test) sit
# behind `map $ssl_preread_server_name`; each client must see the backend's
# own certificate (the bytes pass through untouched) and a request must
# round-trip. The variables are checked in a stream access log for TLS 1.2
# and 1.3 with ALPN; a plain client on a port that maps "" protocol to an
# echo backend keeps its bytes intact; a ClientHello sent in small TCP
# segments and split over two records reaches the backend byte for byte;
# preread_timeout, an early close and a full preread buffer end the session
# as nginx does (200, 200, 400), without touching a backend.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "openssl is not installed"

TC=$(helper tcpclient)

t_mkcert a a.test
t_mkcert b b.test ec
t_mkcert d default.test

# tls_backend PORT NAME: `openssl s_server -www` with NAME's certificate.
tls_backend() {
    openssl s_server -accept "127.0.0.1:$1" -cert "$T/$2.crt" -key "$T/$2.key" -www -quiet \
        </dev/null >"$T/s_server-$1.log" 2>&1 &
    t_track $!
    wait_port "$1" || t_bail "s_server on $1 did not start"
}

# P1: SNI routing; P5: "" protocol (not TLS) to the echo backend P6, TLS to a.test;
# P7: preread_timeout 1s; P8: preread_buffer_size 100. P9 echo: P7's and P8's only target.
fc_conf preread.conf <<'EOF'
@PRELUDE@
stream {
    log_format sni '$server_port|$ssl_preread_server_name|$ssl_preread_protocol|'
                   '$ssl_preread_alpn_protocols|$upstream_addr|$status';
    access_log @T@/logs/preread.log sni;
    proxy_half_close on; # nginx: off by default; the echo sessions half-close

    map $ssl_preread_server_name $by_name {
        a.test     127.0.0.1:@PORT2@;
        b.test     127.0.0.1:@PORT3@;
        frag.test  127.0.0.1:@PORT6@;
        default    127.0.0.1:@PORT4@;
    }
    map $ssl_preread_protocol $by_proto {
        ""       127.0.0.1:@PORT6@;
        default  127.0.0.1:@PORT2@;
    }

    server {
        listen 127.0.0.1:@PORT1@;
        ssl_preread on;
        proxy_pass $by_name;
    }
    server {
        listen 127.0.0.1:@PORT5@;
        ssl_preread on;
        proxy_pass $by_proto;
    }
    server {
        listen 127.0.0.1:@PORT7@;
        ssl_preread on;
        preread_timeout 1s;
        proxy_pass 127.0.0.1:@PORT9@;
    }
    server {
        listen 127.0.0.1:@PORT8@;
        ssl_preread on;
        preread_buffer_size 100;
        proxy_pass 127.0.0.1:@PORT9@;
    }
}
EOF

tls_backend "$PORT2" a
tls_backend "$PORT3" b
tls_backend "$PORT4" d
backend_start echo "$PORT6" || t_bail "echo backend"
backend_start echo "$PORT9" || t_bail "echo backend"
FC_WAIT_PORTS="$PORT1 $PORT5 $PORT7 $PORT8" fc_start preread.conf
ok $? "starts with ssl_preread, map and proxy_pass \$var" || t_bail "no server"

LOG=$T/logs/preread.log
nlog=0
# logged PATTERN DESC: the next access log line matches PATTERN (an ERE).
logged() {
    nlog=$((nlog + 1))
    t_wait_lines "$LOG" "$nlog"
    like "$(sed -n "${nlog}p" "$LOG")" "$1" "$2"
}

# ---- routing by SNI: each backend's own certificate comes through ----
is "$(t_subject 127.0.0.1 "$PORT1" a.test)" "subject=CN = a.test" "SNI a.test reaches a.test"
logged "^$PORT1\\|a\\.test\\|TLSv1\\.3\\|\\|127\\.0\\.0\\.1:$PORT2\\|200\$" \
    "log: a.test, TLSv1.3, no ALPN, upstream a"
is "$(t_subject 127.0.0.1 "$PORT1" b.test)" "subject=CN = b.test" "SNI b.test reaches b.test"
logged "^$PORT1\\|b\\.test\\|TLSv1\\.3\\|\\|127\\.0\\.0\\.1:$PORT3\\|200\$" "log: b.test"
is "$(t_subject 127.0.0.1 "$PORT1" -)" "subject=CN = default.test" "no SNI goes to default"
logged "^$PORT1\\|\\|TLSv1\\.3\\|\\|127\\.0\\.0\\.1:$PORT4\\|200\$" \
    "log: empty server name (a hello without SNI), upstream default"
is "$(t_subject 127.0.0.1 "$PORT1" other.test)" "subject=CN = default.test" \
    "unknown SNI goes to default"
logged "^$PORT1\\|other\\.test\\|" "log: other.test"

# ---- protocol and ALPN ----
is "$(t_subject 127.0.0.1 "$PORT1" a.test -alpn h2,http/1.1 -tls1_2)" "subject=CN = a.test" \
    "TLS 1.2 with ALPN reaches a.test"
logged "^$PORT1\\|a\\.test\\|TLSv1\\.2\\|h2,http/1\\.1\\|127\\.0\\.0\\.1:$PORT2\\|200\$" \
    "log: TLSv1.2 and h2,http/1.1"
is "$(t_subject 127.0.0.1 "$PORT1" b.test -alpn h2,http/1.1 -tls1_3)" "subject=CN = b.test" \
    "TLS 1.3 with ALPN reaches b.test"
logged "^$PORT1\\|b\\.test\\|TLSv1\\.3\\|h2,http/1\\.1\\|127\\.0\\.0\\.1:$PORT3\\|200\$" \
    "log: TLSv1.3 and h2,http/1.1"

# ---- a request through: curl speaks TLS end to end with the backend ----
body=$(timeout 10 curl -sk --resolve "b.test:$PORT1:127.0.0.1" "https://b.test:$PORT1/" \
    -w '\ncode=%{http_code}')
like "$body" 's_server' "curl gets s_server's page through the proxy"
like "$body" '^code=200$' "curl: status 200"
logged "^$PORT1\\|b\\.test\\|TLSv1\\.3\\|h2,http/1\\.1\\|127\\.0\\.0\\.1:$PORT3\\|200\$" \
    "log: curl's hello (ALPN h2,http/1.1)"

# ---- not TLS: declined at once, proxied with every byte ----
hraw "$PORT5" 'plain text, not TLS\n' -c -t 3000
is "$R_OUT" "plain text, not TLS" "a plain client is echoed through an ssl_preread server"
logged "^$PORT5\\|-\\|-\\|-\\|127\\.0\\.0\\.1:$PORT6\\|200\$" "log: variables not found (-)"
out=$("$TC" -p "$PORT5" -n 1000000 -s 7)
like "$out" '^sent=1000000 recv=1000000 ' "1 MB of plain bytes through ssl_preread intact"
sent=$(printf '%s\n' "$out" | sed -n 's/.*sent_sum=\([0-9a-f]*\).*/\1/p')
recv=$(printf '%s\n' "$out" | sed -n 's/.*recv_sum=\([0-9a-f]*\).*/\1/p')
is "$recv" "$sent" "checksums match"
logged "^$PORT5\\|-\\|-\\|-\\|127\\.0\\.0\\.1:$PORT6\\|200\$" "log: the bulk session"
is "$(t_subject 127.0.0.1 "$PORT5" c.test)" "subject=CN = a.test" "TLS on the same port goes to a"
logged "^$PORT5\\|c\\.test\\|TLSv1\\.3\\|\\|127\\.0\\.0\\.1:$PORT2\\|200\$" "log: TLS by protocol"

# ---- a hello in 7-byte segments, in two records, reaches the backend intact ----
# ClientHello: SNI frag.test, ALPN h2, supported_versions {GREASE, 1.3, 1.2}, legacy 1.2.
ext='0000000e000c000009667261672e74657374''001000050003026832''002b0007060a0a03040303'
body_hex="0303$(t_str 64 0)00000213010100$(printf '%04x' $((${#ext} / 2)))$ext"
msg="01$(printf '%06x' $((${#body_hex} / 2)))$body_hex"
half=80 # hex digits: 40 bytes of the message in the first record
rec1="160301$(printf '%04x' $((half / 2)))$(printf '%s' "$msg" | cut -c1-$half)"
rest=$(printf '%s' "$msg" | cut -c$((half + 1))-)
rec2="160301$(printf '%04x' $((${#rest} / 2)))$rest"
hello="$rec1$rec2"
printf '%s' "$hello" | sed 's/../\\x&/g' >"$T/hello.in"
"$(helper rawhttp)" -p "$PORT1" -e -c -s 7 -d 20 -t 3000 "$T/hello.in" >"$T/hello.out"
ok $? "fragmented hello: session closed by the proxy after the echo"
is "$(od -An -v -tx1 "$T/hello.out" | tr -d ' \n')" "$hello" \
    "the echo backend got the hello byte for byte"
logged "^$PORT1\\|frag\\.test\\|TLSv1\\.3\\|h2\\|127\\.0\\.0\\.1:$PORT6\\|200\$" \
    "log: frag.test, TLSv1.3 from supported_versions, h2"

# ---- the phase ends without proxying ----
# (closed, or reset: peeked bytes are never read, and closing a socket with
# unread bytes sends RST, as nginx 1.25.5+ does; 1.22 reads them and sends FIN)
t0=$(t_now_ms)
hraw "$PORT7" '\x16\x03\x01\x00\x40\x01' -t 5000
t1=$(t_now_ms)
like "$R_RC" '^[03]$' "an unfinished hello: closed by the proxy at preread_timeout"
ok "$([ $((t1 - t0)) -ge 900 ] && [ $((t1 - t0)) -lt 4000 ]; echo $?)" \
    "after about 1s ($((t1 - t0)) ms)"
logged "^$PORT7\\|\\|\\|\\|-\\|200\$" "log: status 200, variables empty (not -), no upstream"

hraw "$PORT7" '\x16\x03\x01\x00\x40\x01' -c -t 3000
like "$R_RC" '^[03]$' "a client closing mid-hello: closed"
logged "^$PORT7\\|\\|\\|\\|-\\|200\$" "log: status 200, variables empty (not -), no upstream"

hraw "$PORT8" "\\x16\\x03\\x01\\x40\\x00$(t_str 200 A)" -t 3000
like "$R_RC" '^[03]$' "a hello larger than preread_buffer_size: closed"
logged "^$PORT8\\|\\|\\|\\|-\\|400\$" "log: status 400, variables empty, no upstream"
like "$(cat "$T/error.log")" '\[error\].*preread buffer full' "error log: preread buffer full"
is "$(backend_count "$PORT9")" 0 "no session reached the backend behind P7 and P8"

# ---- config ----
fc_conf bad.conf <<'EOF'
@PRELUDE@
stream {
    server { listen 127.0.0.1:@PORT1@; ssl_preread maybe; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
fc_run -t -c "$T/bad.conf"
isnt $? 0 "ssl_preread takes on|off"
like "$(cat "$T/fc_run.out")" '"ssl_preread" directive.*bad\.conf:[0-9]+$' "the error names file:line"

fc_stop
is $? 0 "graceful stop"
done_testing

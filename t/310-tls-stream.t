# 310-tls-stream: TLS termination in stream{} -- `listen ... ssl` with
# ssl_certificate/_key in front of the echo backend (1 MB of random bytes
# round trip through openssl s_client), TLS 1.2 and 1.3, ssl_protocols, the
# $ssl_* variables (stream `return`), session resumption by ticket, client
# certificates (ssl_verify_client on), ssl_handshake_timeout, and a missing
# certificate rejected by `-t`.
#
# Against Debian's nginx 1.22: every assertion passes but the `-t` one
# asking for file:line (nginx names the file, not the config line).
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v timeout >/dev/null 2>&1 || skip_all "no timeout(1)"

t_mkca ca "stream CA"
t_mkcert srv s.test ec ca
t_mkca cca "client CA"
t_mkcert client client.test ec cca

fc_conf stream.conf <<'EOF'
@PRELUDE@
stream {
    ssl_certificate @T@/srv.crt;
    ssl_certificate_key @T@/srv.key;
    ssl_protocols TLSv1.2 TLSv1.3;

    server {
        listen 127.0.0.1:@PORT1@ ssl;
        proxy_pass 127.0.0.1:@PORT9@;
    }
    server {
        listen 127.0.0.1:@PORT2@ ssl;
        return "proto=$ssl_protocol cipher=$ssl_cipher sni=$ssl_server_name reused=$ssl_session_reused\n";
    }
    server {
        listen 127.0.0.1:@PORT3@ ssl;
        ssl_protocols TLSv1.2;
        return "proto=$ssl_protocol\n";
    }
    server {
        listen 127.0.0.1:@PORT4@ ssl;
        ssl_client_certificate @T@/cca.crt;
        ssl_verify_client on;
        return "verify=$ssl_client_verify dn=$ssl_client_s_dn\n";
    }
    server {
        listen 127.0.0.1:@PORT5@ ssl;
        ssl_handshake_timeout 1s;
        return "late\n";
    }
}
EOF
backend_start echo "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5" fc_start stream.conf
ok $? "starts with stream TLS listeners" || t_bail "the binary did not start"

# sc PORT [s_client option...]: one connection, nothing sent; what the
# server sent (its `return` text) in $SC; s_client's session report (New,
# Reused...) in $T/sc.info.
sc() {
    _sc_p=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$_sc_p" -nocommands -ign_eof "$@" \
        </dev/null >"$T/sc.info" 2>&1
    SC=$(timeout 10 openssl s_client -connect "127.0.0.1:$_sc_p" -nocommands -quiet "$@" \
        </dev/null 2>/dev/null | tr -d '\r')
}

_size_ge() { [ "$(t_size "$1")" -ge "$2" ]; }

# Round trip: the client keeps its side open until all bytes came back
# (nginx ends a stream session at the client's end of input), then closes.
N=1000000
head -c "$N" /dev/urandom >"$T/data"
: >"$T/back"
{
    cat "$T/data"
    wait_for 20 _size_ge "$T/back" "$N"
} | timeout 30 openssl s_client -connect "127.0.0.1:$PORT1" -quiet -no_ign_eof -nocommands \
    >"$T/back" 2>"$T/sc.err"
is "$(t_size "$T/back")" "$N" "1 MB through stream TLS termination to the echo backend and back"
is "$(cksum <"$T/back")" "$(cksum <"$T/data")" "... the same bytes"
is "$(backend_count "$PORT9")" 1 "... over one backend connection"

# A client that sends its data and closes at once (close_notify and FIN in
# one flight): the proxy must see the end inside the TLS buffer and close
# the backend connection (nginx ends the session at the client's end).
est() { # PORT: established TCP connections whose local port is PORT
    _es_hex=$(printf '%04X' "$1")
    grep -Ec "^ *[0-9]+: [0-9A-F]+:$_es_hex [0-9A-F]+:[0-9A-F]+ 01 " /proc/net/tcp /proc/net/tcp6 2>/dev/null |
        awk -F: '{ n += $NF } END { print n + 0 }'
}
_no_est() { [ "$(est "$1")" -eq 0 ]; }
wait_for 5 _no_est "$PORT9"
i=0
while [ "$i" -lt 6 ]; do
    printf 'bye %s\n' "$i" | timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -quiet -no_ign_eof \
        -nocommands >/dev/null 2>&1
    i=$((i + 1))
done
backend_wait_count "$PORT9" 7
wait_for 3 _no_est "$PORT9"
ok $? "6 clients that close right after their data: every backend connection is closed ($(est "$PORT9") left)"

sc "$PORT2" -tls1_3 -servername s.test -sess_out "$T/sess.pem"
like "$SC" '^proto=TLSv1\.3 cipher=TLS_[A-Z0-9_]+ sni=s\.test reused=\.$' \
    'TLS 1.3: $ssl_protocol, $ssl_cipher, $ssl_server_name, $ssl_session_reused'
sc "$PORT2" -tls1_3 -servername s.test -sess_in "$T/sess.pem"
like "$(cat "$T/sc.info")" '^Reused, TLSv1\.3' "a session ticket resumes the session"
like "$SC" ' reused=r$' '... and $ssl_session_reused says so'
sc "$PORT2" -tls1_2
like "$SC" '^proto=TLSv1\.2 cipher=ECDHE-ECDSA-[A-Z0-9-]+ sni= reused=\.$' "TLS 1.2, no SNI"
sc "$PORT3" -tls1_3
unlike "$SC" '^proto=' "ssl_protocols TLSv1.2: a TLS 1.3-only client is refused"
sc "$PORT3" -tls1_2
like "$SC" '^proto=TLSv1\.2$' "ssl_protocols TLSv1.2: a TLS 1.2 client is served"

sc "$PORT4" -cert "$T/client.crt" -key "$T/client.key"
like "$SC" '^verify=SUCCESS dn=CN=client\.test$' "ssl_verify_client on: a certificate from the CA is accepted"
sc "$PORT4"
unlike "$SC" '^verify=' "ssl_verify_client on: no certificate, no session"

# Plain bytes on the TLS port: closed, and nothing reaches the backend.
hraw "$PORT1" 'hello, this is no TLS\n' -t 3000
ok $((R_RC != 0 && R_RC != 3)) "plain bytes on a stream TLS port: closed (rawhttp status $R_RC)"
is "$R_OUT" "" "... nothing echoed"
is "$(backend_count "$PORT9")" 7 "... no backend connection made"

s0=$(t_now_ms)
hraw "$PORT5" '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' -t 5000
ms=$(($(t_now_ms) - s0))
is "$R_RC" 0 "a stalled ClientHello is closed"
ok $((ms < 800 || ms > 3000)) "... after ssl_handshake_timeout 1s (${ms} ms)"

fc_stop
is $? 0 "graceful stop exits 0"
unlike "$(cat "$T/error.log")" 'exited on signal' "no worker crashed"

fc_conf bad.conf <<'EOF'
@PRELUDE@
stream {
    server {
        listen 127.0.0.1:@PORT1@ ssl;
        ssl_certificate @T@/missing.crt;
        ssl_certificate_key @T@/srv.key;
        proxy_pass 127.0.0.1:@PORT9@;
    }
}
EOF
fc_run -t -c "$T/bad.conf"
is $? 1 "stream: a missing certificate: -t exits 1"
grep -Fq -- "$T/missing.crt" "$T/fc_run.out"
ok $? "... names the file" || sed 's/^/#   /' "$T/fc_run.out"
grep -Eq -- "$T/bad\\.conf:$(grep -n 'ssl_certificate ' "$T/bad.conf" | cut -d: -f1)([^0-9]|\$)" "$T/fc_run.out"
ok $? "... at its config line" || sed 's/^/#   /' "$T/fc_run.out"
done_testing

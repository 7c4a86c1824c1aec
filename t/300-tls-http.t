# 300-tls-http: TLS termination in http{} -- `listen ... ssl` with
# ssl_certificate/_key, TLS 1.2 and 1.3 handshakes, ssl_protocols (and its
# default), RSA and ECDSA pairs side by side, SNI with a certificate per
# server and the default server's for unknown names, ssl_ciphers,
# ssl_prefer_server_ciphers, ssl_ecdh_curve, ssl_dhparam, the $ssl_* /
# $https / $scheme variables (in `return` and to a backend), ALPN, keep-alive
# over TLS, a plain HTTP request on the TLS port, 5 MB each way through TLS.
#
# Against Debian's nginx 1.22 (FC_BIN=/usr/sbin/nginx) every assertion passes
# but one: nginx 1.22's default ssl_protocols is "TLSv1 TLSv1.1 TLSv1.2"
# (TLSv1.3 joined the default in 1.23.4); issue #4 asks for "TLSv1.2
# TLSv1.3", so "default ssl_protocols: TLS 1.3" fails there.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v curl >/dev/null 2>&1 || skip_all "no curl"
command -v timeout >/dev/null 2>&1 || skip_all "no timeout(1)"

# tls_hs PORT [s_client option...]: one handshake, nothing sent; s_client's
# output (stdout and stderr) in $HS.
tls_hs() {
    _th_p=$1
    shift
    HS=$(timeout 10 openssl s_client -connect "127.0.0.1:$_th_p" -nocommands "$@" </dev/null 2>&1)
}

# tls_get PORT PATH [s_client option...]: GET PATH (HTTP/1.0) over a new TLS
# connection; everything s_client printed (session line, response) in $TG.
tls_get() {
    _tg_p=$1 _tg_path=$2
    shift 2
    TG=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$_tg_path" "${TG_HOST:-localhost}" |
        timeout 10 openssl s_client -connect "127.0.0.1:$_tg_p" -ign_eof -nocommands "$@" 2>&1 |
        tr -d '\r')
}

# peer_fp PORT [s_client option...]: SHA-256 fingerprint of the certificate
# the server presents (empty when the handshake fails).
peer_fp() {
    _pf_p=$1
    shift
    timeout 10 openssl s_client -connect "127.0.0.1:$_pf_p" -nocommands "$@" </dev/null 2>/dev/null |
        openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
fp() { openssl x509 -noout -fingerprint -sha256 -in "$T/$1.crt"; }

t_mkca ca "fulcrum test CA"
t_mkcert a-rsa a.test rsa ca
t_mkcert a-ec a.test ec ca
t_mkcert b b.test ec ca
t_mkcert dflt default.test ec ca
openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 -out "$T/dh.pem" >/dev/null 2>&1 ||
    t_bail "openssl could not write ffdhe2048 parameters"

fc_conf tls.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    client_max_body_size 20m;

    # first on the port: the default server, for unknown and absent names
    server {
        listen 127.0.0.1:@PORT1@ ssl;
        server_name default.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate @T@/dflt.crt;
        ssl_certificate_key @T@/dflt.key;
        location / { return 200 "server=default sni=$ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.1:@PORT1@ ssl;
        listen 127.0.0.1:@PORT8@;
        server_name a.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        ssl_certificate @T@/a-ec.crt;
        ssl_certificate_key @T@/a-ec.key;
        location / {
            return 200 "server=a proto=$ssl_protocol cipher=$ssl_cipher sni=$ssl_server_name reused=$ssl_session_reused https=$https scheme=$scheme curves=$ssl_curves\n";
        }
        location /redir { return 301 /t; }
        location /up/ {
            proxy_pass http://127.0.0.1:@PORT9@;
            proxy_set_header X-TLS "$ssl_protocol|$ssl_cipher|$ssl_server_name|$ssl_session_reused|$https|$scheme";
        }
    }
    server {
        listen 127.0.0.1:@PORT1@ ssl;
        server_name b.test;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate @T@/b.crt;
        ssl_certificate_key @T@/b.key;
        location / { return 200 "server=b sni=$ssl_server_name\n"; }
    }

    server {
        listen 127.0.0.1:@PORT2@ ssl;
        ssl_protocols TLSv1.2;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        location / { return 200 "proto=$ssl_protocol\n"; }
    }
    # ssl_protocols at its default
    server {
        listen 127.0.0.1:@PORT3@ ssl;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        location / { return 200 "proto=$ssl_protocol\n"; }
    }
    # TLS 1.2 cipher order: the server's with ssl_prefer_server_ciphers on,
    # the client's with the default (off)
    server {
        listen 127.0.0.1:@PORT4@ ssl;
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;
        ssl_prefer_server_ciphers on;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        location / { return 200 "cipher=$ssl_cipher\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@ ssl;
        ssl_protocols TLSv1.2;
        ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        location / { return 200 "cipher=$ssl_cipher\n"; }
    }
    server {
        listen 127.0.0.1:@PORT6@ ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ecdh_curve secp384r1;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:@PORT7@ ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_dhparam @T@/dh.pem;
        ssl_certificate @T@/a-rsa.crt;
        ssl_certificate_key @T@/a-rsa.key;
        error_page 497 /e497;
        location / { return 200 "ok\n"; }
        location = /e497 { return 200 "e497 status=$status\n"; }
    }
}
EOF
backend_start reflect "$PORT9" -i back
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5 $PORT6 $PORT7 $PORT8" fc_start tls.conf
ok $? "starts with TLS listeners" || t_bail "the binary did not start"

A="--cacert $T/ca.crt --resolve a.test:$PORT1:127.0.0.1 --resolve b.test:$PORT1:127.0.0.1"
UA="https://a.test:$PORT1"

# ---------------------------------------------------------------- handshakes
tls_hs "$PORT1" -brief -servername a.test -tls1_3
like "$HS" '^Protocol version: TLSv1\.3$' "TLS 1.3 handshake"
tls_hs "$PORT1" -brief -servername a.test -tls1_2
like "$HS" '^Protocol version: TLSv1\.2$' "TLS 1.2 handshake"
# shellcheck disable=SC2086
hreq $A "$UA/"
is "$H_STATUS" 200 "curl verifies the chain to the test CA and gets 200"
like "$H_BODY" '^server=a ' "... from the server named by SNI and Host"

tls_hs "$PORT2" -brief -tls1_3
unlike "$HS" 'CONNECTION ESTABLISHED' "ssl_protocols TLSv1.2: a TLS 1.3-only client is refused"
tls_hs "$PORT2" -brief -tls1_2
like "$HS" '^Protocol version: TLSv1\.2$' "ssl_protocols TLSv1.2: a TLS 1.2 client is served"

tls_hs "$PORT3" -brief -tls1_3
like "$HS" '^Protocol version: TLSv1\.3$' "default ssl_protocols: TLS 1.3 (nginx >= 1.23.4)"
tls_hs "$PORT3" -brief -tls1_2
like "$HS" '^Protocol version: TLSv1\.2$' "default ssl_protocols: TLS 1.2"

# ----------------------------------------------------- RSA and ECDSA side by side
is "$(peer_fp "$PORT1" -servername a.test -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)" \
    "$(fp a-ec)" "TLS 1.2 ECDHE-ECDSA client gets the ECDSA certificate"
is "$(peer_fp "$PORT1" -servername a.test -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)" \
    "$(fp a-rsa)" "TLS 1.2 ECDHE-RSA client gets the RSA certificate"
is "$(peer_fp "$PORT1" -servername a.test -tls1_3 -sigalgs ECDSA+SHA256)" \
    "$(fp a-ec)" "TLS 1.3 client with ECDSA signatures only gets the ECDSA certificate"
is "$(peer_fp "$PORT1" -servername a.test -tls1_3 -sigalgs rsa_pss_rsae_sha256)" \
    "$(fp a-rsa)" "TLS 1.3 client with RSA-PSS signatures only gets the RSA certificate"

# a relative redirect over TLS is made absolute with https (nginx)
# shellcheck disable=SC2086
hreq $A "$UA/redir"
is "$(hhdr Location)" "https://a.test:$PORT1/t" "relative Location over TLS: https://, the port"

# ------------------------------------------------------------------------ SNI
is "$(t_subject 127.0.0.1 "$PORT1" a.test)" "subject=CN = a.test" "SNI a.test: a.test's certificate"
is "$(t_subject 127.0.0.1 "$PORT1" b.test)" "subject=CN = b.test" "SNI b.test: b.test's certificate"
is "$(t_subject 127.0.0.1 "$PORT1" b.test.)" "subject=CN = b.test" \
    "SNI b.test. (trailing dot): b.test's certificate, as nginx's host check"
is "$(t_subject 127.0.0.1 "$PORT1" unknown.test)" "subject=CN = default.test" \
    "unknown SNI: the default server's certificate"
is "$(t_subject 127.0.0.1 "$PORT1")" "subject=CN = default.test" \
    "no SNI: the default server's certificate"
# shellcheck disable=SC2086
hreq $A "https://b.test:$PORT1/"
is "$H_BODY" "server=b sni=b.test" "curl to b.test: verified, served by b.test's server"
TG_HOST=unknown.test tls_get "$PORT1" / -servername unknown.test
like "$TG" '^server=default sni=unknown\.test$' '$ssl_server_name is the name asked for, even unknown'

# -------------------------------------------------------------- variables
TG_HOST=a.test tls_get "$PORT1" / -servername a.test -tls1_3 -sess_out "$T/sess-a"
like "$TG" '^server=a proto=TLSv1\.3 ' '$ssl_protocol TLSv1.3'
cipher=$(printf '%s\n' "$TG" | sed -n 's/^New, TLSv1\.3, Cipher is \(.*\)/\1/p')
like "$TG" "^server=a .* cipher=${cipher:-none} " '$ssl_cipher is the negotiated cipher'
like "$TG" ' sni=a\.test ' '$ssl_server_name'
like "$TG" ' reused=\. ' '$ssl_session_reused "." on a full handshake'
like "$TG" ' https=on scheme=https ' '$https on, $scheme https'
TG_HOST=a.test tls_get "$PORT1" / -servername a.test -tls1_3 -groups X25519:P-256
like "$TG" ' curves=X25519:prime256v1$' '$ssl_curves: the groups the client offered, named as nginx names them'
TG_HOST=a.test tls_get "$PORT1" / -servername a.test -tls1_3 -sess_in "$T/sess-a"
like "$TG" ' reused=r ' '$ssl_session_reused "r" on a resumed session'
TG_HOST=a.test tls_get "$PORT1" / -servername a.test -tls1_2
like "$TG" '^server=a proto=TLSv1\.2 cipher=ECDHE-[A-Z0-9-]+ ' '$ssl_protocol and $ssl_cipher on TLS 1.2'
hreq -H 'Host: a.test' "http://127.0.0.1:$PORT8/"
is "$H_BODY" "server=a proto= cipher= sni= reused= https= scheme=http curves=" \
    "the same server on a plain listener: empty \$ssl_* and \$https, \$scheme http"
# shellcheck disable=SC2086
hreq $A --tlsv1.2 --tls-max 1.2 "$UA/up/vars"
like "$H_BODY" '^X-TLS: TLSv1\.2\|ECDHE-[A-Z0-9-]+\|a\.test\|\.\|on\|https$' \
    "the variables reach the backend through proxy_set_header"

# --------------------------------------------------------- ciphers, curves, DH
tls_hs "$PORT4" -brief -cipher ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256
like "$HS" '^Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256$' "ssl_prefer_server_ciphers on: the server's order"
tls_hs "$PORT5" -brief -cipher ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256
like "$HS" '^Ciphersuite: ECDHE-RSA-AES256-GCM-SHA384$' "ssl_prefer_server_ciphers off: the client's order"
tls_hs "$PORT5" -brief -cipher ECDHE-RSA-CHACHA20-POLY1305
unlike "$HS" 'CONNECTION ESTABLISHED' "ssl_ciphers: a client with no listed cipher is refused"
tls_hs "$PORT6" -brief -tls1_3
like "$HS" '^Server Temp Key: ECDH, secp384r1' "ssl_ecdh_curve secp384r1: the key exchange uses it"
tls_hs "$PORT6" -brief -tls1_3 -groups X25519
unlike "$HS" 'CONNECTION ESTABLISHED' "ssl_ecdh_curve secp384r1: an X25519-only client is refused"
tls_hs "$PORT1" -brief -servername a.test -tls1_3
like "$HS" '^Server Temp Key: X25519' "default curves: X25519 first"
tls_hs "$PORT7" -brief -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256
like "$HS" '^Ciphersuite: DHE-RSA-AES128-GCM-SHA256$' "ssl_dhparam: a DHE-only client is served"
tls_hs "$PORT1" -brief -servername a.test -tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256
unlike "$HS" 'CONNECTION ESTABLISHED' "no ssl_dhparam: no DHE (as nginx)"

# ----------------------------------------------------------------------- ALPN
tls_hs "$PORT1" -servername a.test -alpn http/1.1
like "$HS" '^ALPN protocol: http/1\.1$' "ALPN: http/1.1 selected"
tls_hs "$PORT1" -servername a.test -alpn h2,http/1.1
like "$HS" '^ALPN protocol: http/1\.1$' "ALPN: http/1.1 chosen from h2,http/1.1"
tls_hs "$PORT1" -servername a.test -alpn h2
like "$HS" 'no application protocol' "ALPN h2 only: no_application_protocol alert"
tls_hs "$PORT1" -servername a.test -alpn http/1.0
like "$HS" '^ALPN protocol: http/1\.0$' "ALPN http/1.0 only: selected, as nginx offers it"
tls_hs "$PORT1" -servername a.test -alpn http/1.0,http/1.1
like "$HS" '^ALPN protocol: http/1\.1$' "ALPN http/1.0,http/1.1: the server's preference (http/1.1) wins"
tls_hs "$PORT1" -servername a.test
like "$HS" '^No ALPN negotiated$' "no ALPN offered: none negotiated, handshake fine"

# ------------------------------------------------- keep-alive, plain HTTP on TLS
# shellcheck disable=SC2086
nc=$(curl -q -s --max-time 10 $A -w '%{http_code}:%{num_connects} ' \
    -o /dev/null "$UA/" -o /dev/null "$UA/x")
is "$nc" "200:1 200:0 " "keep-alive over TLS: two requests, one connection"
hraw "$PORT1" 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n' -t 3000
is "$R_STATUS" 400 "plain HTTP on the TLS port: 400"
like "$R_OUT" 'The plain HTTP request was sent to HTTPS port' "... with nginx's page"
is "$R_RC" 0 "... and the connection is closed"
# As nginx: error_page for its own 494-497 answers 400 unless "=CODE" is given
hraw "$PORT7" 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n' -t 3000
is "$R_STATUS" 400 "error_page 497 /uri: the page is served as 400, not 497"
like "$R_OUT" 'e497 status=400' "...and \$status is 400 there"

# Requests pipelined in one TLS record: what the first read leaves inside
# OpenSSL's buffer must be served without another network event.
TG_PIPE=$(printf 'GET /p1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /p2 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /p3 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -servername a.test -quiet -nocommands 2>/dev/null |
    grep -c '^server=a ')
is "$TG_PIPE" 3 "three requests pipelined in one TLS record: three answers"
{
    printf 'POST /up/body HTTP/1.1\r\nHost: a.test\r\nContent-Length: 12000\r\n\r\n'
    t_str 12000 b
    printf 'GET /after HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'
} >"$T/pipe.in"
TG_PIPE=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -servername a.test -quiet -nocommands \
    <"$T/pipe.in" 2>/dev/null | tr -d '\r')
like "$TG_PIPE" '^b{12000}(HTTP/1\.1 200|$)' "a 12 KB body in one TLS record reaches the backend whole"
like "$TG_PIPE" '^server=a ' "... and the request after it in the same record is answered"

# Bytes that are no TLS handshake: closed, and the port keeps working.
hraw "$PORT1" '\x16\x03\x01\x00\x05hello\x16\x03\x01\x00\x05hello' -t 3000
# (closed or reset: the kernel resets a socket closed with unread bytes)
ok $((R_RC != 0 && R_RC != 3)) "a malformed ClientHello: the connection is closed (rawhttp status $R_RC)"
unlike "$R_OUT" 'HTTP/' "... without an HTTP answer"

# ------------------------------------------------------- 5 MB each way over TLS
N=5242880
head -c "$N" /dev/urandom >"$T/big"
# shellcheck disable=SC2086
hreq $A --max-time 60 -H 'Content-Type: application/octet-stream' --data-binary "@$T/big" "$UA/up/big"
is "$H_STATUS" 200 "5 MB POST through TLS to the backend: 200"
is "$(tail -c "$N" "$T/h.body" | cksum)" "$(cksum <"$T/big")" "... the backend got the 5 MB intact"
direct=$(curl -q -s --max-time 60 "http://127.0.0.1:$PORT9/d?size=$N" | cksum)
# shellcheck disable=SC2086
got=$(curl -q -s --max-time 60 $A "$UA/up/d?size=$N" | cksum)
is "$got" "$direct" "5 MB GET from the backend through TLS: intact"

# A TLS client that sends close_notify and leaves while the upstream is slow:
# the proxy notices at once (the shut-down side, though the alert is unread),
# gives up the upstream and logs 499, as nginx does with EPOLLRDHUP.
t0=$(t_now_ms)
printf 'GET /up/slow?delay_ms=4000 HTTP/1.1\r\nHost: a.test\r\n\r\n' |
    timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -servername a.test -no_ign_eof \
        -nocommands >/dev/null 2>&1
gone() { grep -q 'client prematurely closed connection' "$T/error.log"; }
wait_for 3 gone
ok $? "a client gone with close_notify is noticed while the upstream works"
[ $(($(t_now_ms) - t0)) -lt 3500 ]
ok $? "... before the upstream answered"

fc_stop
is $? 0 "graceful stop exits 0"
unlike "$(cat "$T/error.log")" 'exited on signal' "no worker crashed"
done_testing

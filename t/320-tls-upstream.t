# 320-tls-upstream: re-encryption to upstreams.  http: `proxy_pass https://`,
# proxy_ssl_server_name / proxy_ssl_name (the SNI the backend sees),
# proxy_ssl_verify with proxy_ssl_trusted_certificate (trusted: 200;
# untrusted or wrong name: 502 and the reason in error_log),
# proxy_ssl_verify_depth, proxy_ssl_protocols, proxy_ssl_certificate/_key
# (mTLS to a backend that requires client certificates),
# proxy_ssl_session_reuse (on by default: the backend sees resumed
# sessions; off: never).  stream: `proxy_ssl on` with the same family.
#
# An openssl s_server -www backend checks that the end of a TLS upstream
# (close_notify and FIN together, behind the last data) ends the response
# or the stream session at once, not at a timeout.
#
# The TLS backends are a second instance of the binary under test (or of
# $TLS_BACKEND_BIN) terminating TLS and reporting what it saw ($ssl_server_name,
# $ssl_session_reused, $ssl_protocol, $ssl_client_s_dn) in `return` texts.
#
# Debian's nginx 1.22 passes every assertion (with itself as the backend).
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v curl >/dev/null 2>&1 || skip_all "no curl"
UP_BIN=${TLS_BACKEND_BIN:-$FC_BIN}

t_mkca ca "upstream CA"
t_mkcert a a.test ec ca
t_mkcert b b.test ec ca
t_mkcert rogue a.test ec # self-signed: no chain to ca
t_mkca cca "client CA"
t_mkcert client proxy.test ec cca
t_mkcrl ca ca-crl a # revokes a.test's certificate
# deep.test under two intermediate CAs: a chain of depth 3 from ca
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/ica.ext"
mkica() { # NAME CN ISSUER
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=$2" \
        -keyout "$T/$1.key" -out "$T/$1.csr" >/dev/null 2>&1 &&
        openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
            -days 2 -extfile "$T/ica.ext" -out "$T/$1.crt" >/dev/null 2>&1 ||
        t_bail "openssl could not make the intermediate CA $1"
}
mkica ica1 "intermediate CA 1" ca
mkica ica2 "intermediate CA 2" ica1
t_mkcert deep deep.test ec ica2
cat "$T/deep.crt" "$T/ica2.crt" "$T/ica1.crt" >"$T/deep-chain.crt"

# ---------------------------------------------------------- the TLS backends
UP_EXTRA=
if [ "${UP_BIN##*/}" = nginx ] && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
    UP_EXTRA='load_module /usr/lib/nginx/modules/ngx_stream_module.so;'
fi
{
    printf '%s\n' "$UP_EXTRA"
    cat <<'EOF'
daemon off;
master_process on;
worker_processes 1;
pid @T@/up.pid;
error_log @T@/up-error.log info;
events { worker_connections 1024; }
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate @T@/a.crt;
    ssl_certificate_key @T@/a.key;
    server {
        listen 127.0.0.1:@PORT11@ ssl;
        server_name a.test;
        client_max_body_size 20m;
        location / {
            return 200 "backend=a sni=$ssl_server_name reused=$ssl_session_reused proto=$ssl_protocol\n";
        }
        location /ka/ { return 200 "conn=$connection req=$connection_requests\n"; }
        location /big/ { proxy_pass http://127.0.0.1:@PORT10@; }
    }
    server {
        listen 127.0.0.1:@PORT11@ ssl;
        server_name b.test;
        ssl_certificate @T@/b.crt;
        ssl_certificate_key @T@/b.key;
        location / { return 200 "backend=b sni=$ssl_server_name\n"; }
    }
    server {
        listen 127.0.0.1:@PORT12@ ssl;
        ssl_certificate @T@/rogue.crt;
        ssl_certificate_key @T@/rogue.key;
        location / { return 200 "backend=rogue\n"; }
    }
    server {
        listen 127.0.0.1:@PORT13@ ssl;
        ssl_client_certificate @T@/cca.crt;
        ssl_verify_client on;
        location / { return 200 "backend=mtls verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
    }
    server {
        listen 127.0.0.1:@PORT14@ ssl;
        ssl_certificate @T@/deep-chain.crt;
        ssl_certificate_key @T@/deep.key;
        location / { return 200 "backend=deep\n"; }
    }
}
stream {
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate @T@/a.crt;
    ssl_certificate_key @T@/a.key;
    server {
        listen 127.0.0.1:@PORT15@ ssl;
        proxy_pass 127.0.0.1:@PORT9@;
    }
    server {
        listen 127.0.0.1:@PORT16@ ssl;
        return "sni=$ssl_server_name reused=$ssl_session_reused proto=$ssl_protocol\n";
    }
    server {
        listen 127.0.0.1:@PORT17@ ssl;
        ssl_certificate @T@/rogue.crt;
        ssl_certificate_key @T@/rogue.key;
        return "rogue\n";
    }
    server {
        listen 127.0.0.1:@PORT18@ ssl;
        ssl_client_certificate @T@/cca.crt;
        ssl_verify_client on;
        return "verify=$ssl_client_verify dn=$ssl_client_s_dn\n";
    }
}
EOF
} >"$T/up.tmpl"
fc_conf up.conf <"$T/up.tmpl"
backend_start echo "$PORT9"
backend_start reflect "$PORT10"

_fc_bin=$FC_BIN
FC_BIN=$UP_BIN
FC_PIDFILE=$T/up.pid
FC_WAIT_PORTS="$PORT11 $PORT12 $PORT13 $PORT14 $PORT15 $PORT16 $PORT17 $PORT18"
fc_start up.conf
ok $? "the TLS backend instance ($UP_BIN) starts" || t_bail "the backend instance did not start"
FC_BIN=$_fc_bin
FC_PIDFILE=$T/fulcrum.pid
UP_PID=$FC_PID

# --------------------------------------------------------------- the proxy
fc_conf proxy.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    # Each location has an upstream of its own: nginx keeps the last TLS
    # session per upstream server and offers it to every location using
    # that upstream, whatever its proxy_ssl_* settings (a session made with
    # a client certificate or without verification would be resumed).
    # An upstream's name is $proxy_host: the default proxy_ssl_name.
    upstream a.test { server 127.0.0.1:@PORT11@; }
    upstream u_nosni { server 127.0.0.1:@PORT11@; }
    upstream u_name { server 127.0.0.1:@PORT11@; }
    upstream u_verify { server 127.0.0.1:@PORT11@; }
    upstream u_wrong { server 127.0.0.1:@PORT11@; }
    upstream u_untrusted { server 127.0.0.1:@PORT12@; }
    upstream u_mtls { server 127.0.0.1:@PORT13@; }
    upstream u_nomtls { server 127.0.0.1:@PORT13@; }
    upstream u_depth1 { server 127.0.0.1:@PORT14@; }
    upstream u_depth2 { server 127.0.0.1:@PORT14@; }
    upstream u_tls12 { server 127.0.0.1:@PORT11@; }
    upstream u_tls13 { server 127.0.0.1:@PORT11@; }
    upstream u_noreuse { server 127.0.0.1:@PORT11@; }
    upstream u_big { server 127.0.0.1:@PORT11@; }
    upstream u_ka {
        server 127.0.0.1:@PORT11@;
        keepalive 4;
    }
    server {
        listen 127.0.0.1:@PORT1@;
        client_max_body_size 20m;
        location /plain/ { proxy_pass https://127.0.0.1:@PORT11@/; }
        location /nosni/ { proxy_pass https://u_nosni/; }
        location /sni/ {
            proxy_pass https://a.test/;
            proxy_ssl_server_name on;
        }
        location /name/ {
            proxy_pass https://u_name/;
            proxy_ssl_server_name on;
            proxy_ssl_name b.test;
            # b.test's certificate only verifies when SNI chose it
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
        }
        location /verify/ {
            proxy_pass https://u_verify/;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_name a.test;
        }
        # the same backend, with a CRL that revokes its certificate
        location /revoked/ {
            proxy_pass https://u_verify/;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_crl @T@/ca-crl.pem;
            proxy_ssl_name a.test;
            proxy_ssl_session_reuse off;
        }
        location /untrusted/ {
            proxy_pass https://u_untrusted/;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_name a.test;
        }
        location /wrongname/ {
            proxy_pass https://u_wrong/;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_name wrong.test;
        }
        location /depth1/ {
            proxy_pass https://u_depth1/;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_name deep.test;
        }
        location /depth2/ {
            proxy_pass https://u_depth2/;
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_trusted_certificate @T@/ca.crt;
            proxy_ssl_name deep.test;
        }
        location /mtls/ {
            proxy_pass https://u_mtls/;
            proxy_ssl_certificate @T@/client.crt;
            proxy_ssl_certificate_key @T@/client.key;
        }
        location /nomtls/ { proxy_pass https://u_nomtls/; }
        location /tls12/ {
            proxy_pass https://u_tls12/;
            proxy_ssl_protocols TLSv1.2;
        }
        location /tls13/ {
            proxy_pass https://u_tls13/;
            proxy_ssl_protocols TLSv1.3;
        }
        location /big/ { proxy_pass https://u_big; }
        location /ka/ {
            proxy_pass https://u_ka;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        # openssl s_server -www: a close-delimited answer, then
        # close_notify and FIN at once
        location /sserver/ {
            proxy_pass https://127.0.0.1:@PORT19@/;
            proxy_read_timeout 3s;
        }
        location /noreuse/ {
            proxy_pass https://u_noreuse/;
            proxy_ssl_protocols TLSv1.2;
            proxy_ssl_session_reuse off;
        }
    }
}
stream {
    server {
        listen 127.0.0.1:@PORT2@;
        proxy_pass 127.0.0.1:@PORT15@;
        proxy_ssl on;
    }
    server {
        listen 127.0.0.1:@PORT3@;
        proxy_pass 127.0.0.1:@PORT16@;
        proxy_ssl on;
        proxy_ssl_server_name on;
        proxy_ssl_name s.test;
        proxy_ssl_protocols TLSv1.2;
    }
    server {
        listen 127.0.0.1:@PORT8@;
        proxy_pass 127.0.0.1:@PORT16@;
        proxy_ssl on;
        proxy_ssl_server_name on;
        proxy_ssl_name s.test:8443;
        proxy_ssl_session_reuse off;
    }
    server {
        listen 127.0.0.1:@PORT4@;
        proxy_pass 127.0.0.1:@PORT16@;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate @T@/ca.crt;
        proxy_ssl_name a.test;
        proxy_ssl_protocols TLSv1.3;
    }
    server {
        listen 127.0.0.1:@PORT5@;
        proxy_pass 127.0.0.1:@PORT17@;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_ssl_trusted_certificate @T@/ca.crt;
        proxy_ssl_name a.test;
    }
    server {
        listen 127.0.0.1:@PORT7@;
        proxy_pass 127.0.0.1:@PORT19@;
        proxy_ssl on;
        proxy_timeout 3s;
    }
    server {
        listen 127.0.0.1:@PORT6@;
        proxy_pass 127.0.0.1:@PORT18@;
        proxy_ssl on;
        proxy_ssl_certificate @T@/client.crt;
        proxy_ssl_certificate_key @T@/client.key;
    }
}
EOF
# an independent TLS server: openssl s_server -www answers "GET /" with a
# status page (HTTP/1.0, no length), then sends close_notify and closes
openssl s_server -accept "$PORT19" -cert "$T/a.crt" -key "$T/a.key" -www -quiet \
    </dev/null >"$T/s_server.out" 2>&1 &
t_track $!
wait_port "$PORT19" || t_bail "openssl s_server did not start"

FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5 $PORT6 $PORT7 $PORT8" fc_start proxy.conf
ok $? "the proxy starts" || t_bail "the binary did not start"
U="http://127.0.0.1:$PORT1"

# ---------------------------------------------------------------------- http
hreq "$U/plain/"
is "$H_STATUS" 200 "proxy_pass https://: 200"
like "$H_BODY" '^backend=a sni= reused=\. proto=TLSv1\.[23]$' "... re-encrypted (no verification, no SNI by default)"
hreq "$U/nosni/"
like "$H_BODY" '^backend=a sni= ' "proxy_ssl_server_name off (default): no SNI"
hreq "$U/sni/"
like "$H_BODY" '^backend=a sni=a\.test ' "proxy_ssl_server_name on: SNI is the upstream's name"
hreq "$U/name/"
is "$H_STATUS" 200 "proxy_ssl_name b.test: the backend presents b.test's certificate (verified)"
like "$H_BODY" ' sni=b\.test ' "... the backend saw SNI b.test"

hreq "$U/verify/"
is "$H_STATUS" 200 "proxy_ssl_verify on, backend signed by the trusted CA: 200"
log0=$(t_size "$T/error.log")
hreq "$U/revoked/"
is "$H_STATUS" 502 "proxy_ssl_crl listing the backend's certificate: 502"
wait_for 5 eval 'tail -c +$((log0 + 1)) "$T/error.log" | grep -q "upstream SSL certificate verify error: (23:certificate revoked)"'
ok $? "... logged as a verify error: certificate revoked" || tail -n 3 "$T/error.log" | sed 's/^/#   /'
log0=$(t_size "$T/error.log")
hreq "$U/untrusted/"
is "$H_STATUS" 502 "proxy_ssl_verify on, untrusted backend certificate: 502"
wait_for 5 eval 'tail -c +$((log0 + 1)) "$T/error.log" | grep -Eq "upstream SSL certificate verify error: \\(.*\\) while SSL handshaking to upstream"'
ok $? "... error_log says \"upstream SSL certificate verify error: (...) while SSL handshaking to upstream\"" ||
    tail -n 3 "$T/error.log" | sed 's/^/#   /'
unlike "$H_BODY" 'backend=rogue' "... and nothing from it reaches the client"
log0=$(t_size "$T/error.log")
hreq "$U/wrongname/"
is "$H_STATUS" 502 "proxy_ssl_verify on, certificate not for proxy_ssl_name: 502"
wait_for 5 eval 'tail -c +$((log0 + 1)) "$T/error.log" | grep -q "upstream SSL certificate does not match \"wrong.test\""'
ok $? "... error_log says the certificate does not match \"wrong.test\"" ||
    tail -n 3 "$T/error.log" | sed 's/^/#   /'
hreq "$U/depth1/"
is "$H_STATUS" 502 "proxy_ssl_verify_depth 1 (default): a chain through two intermediates fails"
hreq "$U/depth2/"
is "$H_STATUS:$H_BODY" "200:backend=deep" "proxy_ssl_verify_depth 2: accepted"

hreq "$U/mtls/"
is "$H_STATUS:$H_BODY" "200:backend=mtls verify=SUCCESS dn=CN=proxy.test" \
    "proxy_ssl_certificate/_key: the backend accepts the proxy's client certificate"
hreq "$U/nomtls/"
is "$H_STATUS" 400 "no proxy_ssl_certificate: the backend's 400"
like "$H_BODY" 'No required SSL certificate was sent' "... passed through"

hreq "$U/tls12/"
like "$H_BODY" ' reused=\. proto=TLSv1\.2$' "proxy_ssl_protocols TLSv1.2, a full handshake first"
hreq "$U/tls12/"
like "$H_BODY" ' reused=r ' "TLS 1.2 upstream sessions are resumed (proxy_ssl_session_reuse on by default)"
hreq "$U/tls12/"
like "$H_BODY" ' reused=r ' "... again"
hreq "$U/tls13/"
like "$H_BODY" ' reused=\. proto=TLSv1\.3$' "proxy_ssl_protocols TLSv1.3, a full handshake first"
hreq "$U/tls13/"
like "$H_BODY" ' reused=r ' "TLS 1.3 upstream sessions are resumed"
hreq "$U/noreuse/"
hreq "$U/noreuse/"
like "$H_BODY" ' reused=\. ' "proxy_ssl_session_reuse off: a full handshake each time"

hreq "$U/ka/"
conn1=$(printf '%s\n' "$H_BODY" | sed -n 's/^conn=\([0-9]*\) req=1$/\1/p')
ok $((${conn1:-0} == 0)) "upstream keepalive over TLS: first request on a new backend connection"
hreq "$U/ka/"
is "$H_BODY" "conn=$conn1 req=2" "... the second request reuses that TLS connection"

N=5242880
head -c "$N" /dev/urandom >"$T/big"
hreq --max-time 60 -H 'Content-Type: application/octet-stream' --data-binary "@$T/big" "$U/big/up"
is "$H_STATUS" 200 "5 MB POST re-encrypted to the backend: 200"
is "$(tail -c "$N" "$T/h.body" | cksum)" "$(cksum <"$T/big")" "... the 5 MB arrive intact"
direct=$(curl -q -s --max-time 60 "http://127.0.0.1:$PORT10/d?size=$N" | cksum)
got=$(curl -q -s --max-time 60 "$U/big/d?size=$N" | cksum)
is "$got" "$direct" "5 MB GET from a TLS upstream: intact"

# The upstream's end (close_notify and FIN in one flight) must be seen
# even when it sits in OpenSSL's buffer behind the last data: each of 8
# HTTP/1.0 requests is answered whole and at once, not after
# proxy_read_timeout (3s).
i=0 slow=0 bad=0
while [ "$i" -lt 8 ]; do
    t0=$(t_now_ms)
    hreq -0 "$U/sserver/"
    [ $(($(t_now_ms) - t0)) -lt 1500 ] || slow=$((slow + 1))
    [ "$H_STATUS" = 200 ] && printf '%s\n' "$H_BODY" | grep -q '</HTML>' || bad=$((bad + 1))
    i=$((i + 1))
done
is "$bad" 0 "8 close-delimited answers from openssl s_server: all 200 and whole"
is "$slow" 0 "... all ended by the upstream's close, none by proxy_read_timeout"

# -------------------------------------------------------------------- stream
out=$("$(helper tcpclient)" -p "$PORT2" -n 1000000 -E)
like "$out" '^sent=1000000 recv=1000000 ' "stream proxy_ssl on: 1 MB to the TLS echo backend and back"
s=$(printf '%s\n' "$out" | sed -n 's/.* sent_sum=\([0-9a-f]*\) recv_sum=\([0-9a-f]*\).*/\1 \2/p')
is "${s% *}" "${s#* }" "... the same bytes"
hraw "$PORT3" '' -t 3000
is "$R_OUT" "sni=s.test reused=. proto=TLSv1.2" \
    "stream proxy_ssl_server_name/_name and proxy_ssl_protocols TLSv1.2"
is "$R_RC" 0 "... the client is closed when the TLS backend closes"
hraw "$PORT3" '' -t 3000
is "$R_OUT" "sni=s.test reused=r proto=TLSv1.2" "stream: the upstream session is resumed (TLS 1.2)"
hraw "$PORT8" '' -t 3000
like "$R_OUT" '^sni=s\.test reused=\. ' "stream proxy_ssl_name NAME:PORT: the port is cut off (as nginx)"
hraw "$PORT4" '' -t 3000
is "$R_OUT" "sni= reused=. proto=TLSv1.3" "stream proxy_ssl_verify on, trusted backend: relayed"
is "$R_RC" 0 "... the client is closed when the TLS backend closes"
hraw "$PORT4" '' -t 3000
is "$R_OUT" "sni= reused=r proto=TLSv1.3" "stream: the upstream session is resumed (TLS 1.3)"

# the same against openssl s_server -www (close_notify and FIN at once)
i=0 slow=0 bad=0
while [ "$i" -lt 8 ]; do
    t0=$(t_now_ms)
    hraw "$PORT7" 'GET / HTTP/1.0\r\n\r\n' -t 5000
    [ $(($(t_now_ms) - t0)) -lt 1500 ] && [ "$R_RC" = 0 ] || slow=$((slow + 1))
    printf '%s\n' "$R_OUT" | grep -q '</HTML>' || bad=$((bad + 1))
    i=$((i + 1))
done
is "$bad" 0 "stream proxy_ssl to openssl s_server: 8 whole answers"
is "$slow" 0 "... each connection closed as soon as the backend closed"
log0=$(t_size "$T/error.log")
hraw "$PORT5" '' -t 3000
is "$R_OUT" "" "stream proxy_ssl_verify on, untrusted backend: nothing relayed"
is "$R_RC" 0 "... the client connection is closed"
wait_for 5 eval 'tail -c +$((log0 + 1)) "$T/error.log" | grep -q "upstream SSL certificate verify error"'
ok $? "... error_log says why" || tail -n 3 "$T/error.log" | sed 's/^/#   /'
hraw "$PORT6" '' -t 3000
is "$R_OUT" "verify=SUCCESS dn=CN=proxy.test" "stream proxy_ssl_certificate/_key: mTLS to the backend"

fc_stop
is $? 0 "graceful stop exits 0"
unlike "$(cat "$T/error.log" "$T/up-error.log")" 'exited on signal' "no worker crashed (proxy or backend)"
done_testing

# 302-tls-http-client-cert: client certificates -- ssl_client_certificate
# with ssl_verify_client on | optional, ssl_verify_depth, the CA names sent
# to the client, $ssl_client_verify and $ssl_client_s_dn (in `return` and to
# a backend), and nginx's 400 pages for a missing or bad certificate.
#
# Debian's nginx 1.22 passes every assertion.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v curl >/dev/null 2>&1 || skip_all "no curl"
command -v timeout >/dev/null 2>&1 || skip_all "no timeout(1)"

t_mkca ca "server CA"
t_mkcert srv c.test ec ca
t_mkca cca "client CA"
t_mkca other "other CA"
t_mkcert client client.test ec cca
t_mkcert stranger stranger.test ec other
t_mkcert revoked revoked.test ec cca
t_mkcrl cca cca-crl revoked
# two intermediate CAs under cca (cca -> ica1 -> ica2), and a client
# certificate signed by the second: a chain of depth 3 from the trust anchor
printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >"$T/ica.ext"
# mkica NAME CN ISSUER
mkica() {
    openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/CN=$2" \
        -keyout "$T/$1.key" -out "$T/$1.csr" >/dev/null 2>&1 &&
        openssl x509 -req -in "$T/$1.csr" -CA "$T/$3.crt" -CAkey "$T/$3.key" -CAcreateserial \
            -days 2 -extfile "$T/ica.ext" -out "$T/$1.crt" >/dev/null 2>&1 ||
        t_bail "openssl could not make the intermediate CA $1"
}
mkica ica1 "intermediate CA 1" cca
mkica ica2 "intermediate CA 2" ica1
t_mkcert deep deep.test ec ica2
cat "$T/deep.crt" "$T/ica2.crt" "$T/ica1.crt" >"$T/deep-chain.crt"

fc_conf cc.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate @T@/srv.crt;
    ssl_certificate_key @T@/srv.key;
    ssl_client_certificate @T@/cca.crt;

    server {
        listen 127.0.0.1:@PORT1@ ssl;
        ssl_verify_client on;
        location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
        location /certvars {
            return 200 "serial=$ssl_client_serial\nfp=$ssl_client_fingerprint\nstart=$ssl_client_v_start\nend=$ssl_client_v_end\nremain=$ssl_client_v_remain\nsdn=$ssl_client_s_dn_legacy\nidn=$ssl_client_i_dn_legacy\nesc=$ssl_client_escaped_cert\nciphers=$ssl_ciphers\nearly=$ssl_early_data\n";
        }
        location /rawcert { return 200 "$ssl_client_raw_cert"; }
        location /tabcert { return 200 "$ssl_client_cert"; }
        location /up/ {
            proxy_pass http://127.0.0.1:@PORT9@;
            proxy_set_header X-Client "$ssl_client_verify|$ssl_client_s_dn";
        }
    }
    server {
        listen 127.0.0.1:@PORT2@ ssl;
        ssl_verify_client optional;
        location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
    }
    server {
        listen 127.0.0.1:@PORT3@ ssl;
        ssl_verify_client on;
        ssl_verify_depth 2;
        location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
    }
    # ssl_crl: the client CA's list, which revokes one of its certificates
    server {
        listen 127.0.0.1:@PORT6@ ssl;
        ssl_verify_client on;
        ssl_crl @T@/cca-crl.pem;
        location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
    }
    log_format tlsv '$ssl_server_name|$ssl_client_s_dn|$ssl_alpn_protocol|$ssl_client_serial';
    server {
        listen 127.0.0.1:@PORT4@ ssl;
        access_log @T@/tls.log tlsv;
        location / { return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\n"; }
    }
    # one address, three names: a.test verifies nothing, b.test requires a
    # certificate from the client CA, o.test accepts one from the other CA
    server {
        listen 127.0.0.1:@PORT5@ ssl;
        server_name a.test;
        location / { return 200 "srv=a verify=$ssl_client_verify\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@ ssl;
        server_name b.test;
        ssl_verify_client on;
        location / { return 200 "srv=b verify=$ssl_client_verify\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@ ssl;
        server_name o.test;
        ssl_verify_client optional;
        ssl_client_certificate @T@/other.crt;
        location / { return 200 "srv=o verify=$ssl_client_verify\n"; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5 $PORT6" fc_start cc.conf
ok $? "starts" || t_bail "the binary did not start"

# get PORT [CURL_ARGS...]: GET / as c.test over TLS, verified by the CA.
get() {
    _g_p=$1
    shift
    hreq --cacert "$T/ca.crt" --resolve "c.test:$_g_p:127.0.0.1" "$@" "https://c.test:$_g_p${G_PATH:-/}"
}
GOOD="--cert $T/client.crt --key $T/client.key"
BAD="--cert $T/stranger.crt --key $T/stranger.key"
DEEP="--cert $T/deep-chain.crt --key $T/deep.key"

get "$PORT1"
is "$H_STATUS" 400 "verify on, no certificate: 400"
like "$H_BODY" 'No required SSL certificate was sent' "... nginx's page says why"
# shellcheck disable=SC2086
get "$PORT1" $GOOD
is "$H_STATUS" 200 "verify on, a certificate signed by the CA: 200"
is "$H_BODY" "verify=SUCCESS dn=CN=client.test" '... $ssl_client_verify SUCCESS, $ssl_client_s_dn'
# shellcheck disable=SC2086
get "$PORT1" --tlsv1.2 --tls-max 1.2 $GOOD
is "$H_BODY" "verify=SUCCESS dn=CN=client.test" "... over TLS 1.2 too"
# shellcheck disable=SC2086
get "$PORT1" $BAD
is "$H_STATUS" 400 "verify on, a certificate from another CA: 400"
like "$H_BODY" 'The SSL certificate error' "... nginx's page says why"
# shellcheck disable=SC2086
get "$PORT6" $GOOD
is "$H_STATUS:$H_BODY" "200:verify=SUCCESS dn=CN=client.test" "ssl_crl: a certificate the CRL does not list passes"
get "$PORT6" --cert "$T/revoked.crt" --key "$T/revoked.key"
is "$H_STATUS" 400 "ssl_crl: a revoked certificate is refused (400)"
like "$H_BODY" 'The SSL certificate error' "...with nginx's page"
like "$(cat "$T/error.log")" 'client SSL certificate verify error: \(23:certificate revoked\)' \
    "...and the reason logged"
get "$PORT1" --cert "$T/revoked.crt" --key "$T/revoked.key"
is "$H_STATUS" 200 "without ssl_crl the same certificate passes"

# The certificate's own variables, in nginx's formats (compared with openssl x509's view)
# shellcheck disable=SC2086
G_PATH=/certvars get "$PORT1" $GOOD
certvar() { printf '%s\n' "$H_BODY" | sed -n "s/^$1=//p"; }
is "$(certvar serial)" "$(openssl x509 -in "$T/client.crt" -noout -serial | sed 's/^serial=//')" \
    '$ssl_client_serial: the serial in uppercase hex'
is "$(certvar fp)" "$(openssl x509 -in "$T/client.crt" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')" \
    '$ssl_client_fingerprint: SHA-1 in lowercase hex'
is "$(certvar start)" "$(openssl x509 -in "$T/client.crt" -noout -startdate | sed 's/^notBefore=//')" \
    '$ssl_client_v_start as OpenSSL prints it'
is "$(certvar end)" "$(openssl x509 -in "$T/client.crt" -noout -enddate | sed 's/^notAfter=//')" \
    '$ssl_client_v_end'
like "$(certvar remain)" '^[0-9]+$' '$ssl_client_v_remain: whole days'
is "$(certvar sdn)|$(certvar idn)" "/CN=client.test|/CN=client CA" '$ssl_client_s_dn_legacy, $ssl_client_i_dn_legacy'
like "$(certvar esc)" '^-----BEGIN%20CERTIFICATE-----%0A[A-Za-z0-9%]+%0A-----END%20CERTIFICATE-----%0A$' \
    '$ssl_client_escaped_cert: the PEM, URI-escaped'
like "$(certvar ciphers)" '^[A-Za-z0-9_-]+(:[A-Za-z0-9_-]+)+$' '$ssl_ciphers: the client'"'"'s offer, joined by ":"'
is "$(certvar early)" "" '$ssl_early_data: empty (no 0-RTT)'
# shellcheck disable=SC2086
G_PATH=/rawcert get "$PORT1" $GOOD
is "$H_BODY" "$(openssl x509 -in "$T/client.crt")" '$ssl_client_raw_cert: the PEM'
# shellcheck disable=SC2086
G_PATH=/tabcert get "$PORT1" $GOOD
is "$H_BODY" "$(openssl x509 -in "$T/client.crt" | sed '1!s/^/\t/')" \
    '$ssl_client_cert: the PEM with a tab after each inner newline'
# shellcheck disable=SC2086
G_PATH=/up/x get "$PORT1" $GOOD
like "$H_BODY" '^X-Client: SUCCESS\|CN=client\.test$' "the client certificate's variables reach the backend"

get "$PORT2"
is "$H_STATUS:$H_BODY" "200:verify=NONE dn=" "verify optional, no certificate: 200, NONE"
# shellcheck disable=SC2086
get "$PORT2" $GOOD
is "$H_STATUS:$H_BODY" "200:verify=SUCCESS dn=CN=client.test" "verify optional, good certificate: SUCCESS"
# shellcheck disable=SC2086
get "$PORT2" $BAD
is "$H_STATUS" 400 "verify optional, a certificate from another CA: 400"

# shellcheck disable=SC2086
get "$PORT1" $DEEP
is "$H_STATUS" 400 "ssl_verify_depth 1 (default): a chain through two intermediate CAs is refused"
# shellcheck disable=SC2086
get "$PORT3" $DEEP
is "$H_STATUS:$H_BODY" "200:verify=SUCCESS dn=CN=deep.test" "ssl_verify_depth 2: the same chain is accepted"

# shellcheck disable=SC2086
get "$PORT4" $GOOD
is "$H_STATUS:$H_BODY" "200:verify=NONE dn=" "ssl_verify_client off (default): no certificate asked for"

# As nginx: SNI chose one server, Host names another that verifies client
# certificates: 421, since that server's CA list never saw the handshake.
# sni SNI HOST [CURL_ARGS...]
sni() {
    _s_n=$1 _s_h=$2
    shift 2
    hreq -k --resolve "$_s_n:$PORT5:127.0.0.1" -H "Host: $_s_h" "$@" "https://$_s_n:$PORT5/"
}
# shellcheck disable=SC2086
sni o.test b.test $BAD
is "$H_STATUS" 421 "SNI o.test (other CA) with its certificate, Host b.test (client CA): 421"
sni a.test b.test
is "$H_STATUS" 421 "SNI a.test (no verification), Host b.test (verify on): 421"
like "$(cat "$T/error.log")" 'client attempted to request the server name different from the one that was negotiated' \
    "...logged as nginx logs it"
sni b.test a.test $GOOD
is "$H_STATUS:$H_BODY" "200:srv=a verify=SUCCESS" "SNI b.test, Host a.test (no verification): served by a"
# shellcheck disable=SC2086
sni b.test b.test $GOOD
is "$H_STATUS:$H_BODY" "200:srv=b verify=SUCCESS" "SNI and Host both b.test: served"
sni unknown.test b.test
is "$H_STATUS" 400 "an SNI name no server has: no 421, Host decides (b.test: no certificate, 400)"

# As nginx: an empty TLS value (no SNI, no certificate, no ALPN) is logged as "-"
hreq -k --no-alpn "https://127.0.0.1:$PORT4/"
t_wait_lines "$T/tls.log" 1
is "$(tail -n 1 "$T/tls.log")" "-|-|-|-" 'empty $ssl_* values (no SNI, certificate, ALPN) log as "-"'

out=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -nocommands </dev/null 2>&1)
like "$out" '^Acceptable client certificate CA names$' "the server asks for a client certificate"
like "$out" '^CN ?= ?client CA$' "... naming ssl_client_certificate's CA"
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$PORT4" -nocommands </dev/null 2>&1)
like "$out" '^No client certificate CA names sent$' "verify off: no certificate request"

fc_stop
is $? 0 "graceful stop exits 0"
done_testing

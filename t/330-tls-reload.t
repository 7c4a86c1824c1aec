# 330-tls-reload: a reload (SIGHUP) after the certificate files changed
# serves the new certificate to new connections; connections opened before
# it finish on the old workers: a request in flight across the reload is
# answered, and an idle keep-alive TLS connection still gets its next
# request answered.  Sessions in a shared cache outlive the reload.  A
# reload with a broken certificate fails and changes nothing.
#
# Against Debian's nginx 1.22 every assertion passes but the idle
# keep-alive one: nginx's old worker closes idle keep-alive connections at
# once (see t/250); fulcrum answers the next request (with Connection: close).
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v mkfifo >/dev/null 2>&1 || skip_all "no mkfifo"

t_mkcert one one.test ec
t_mkcert two two.test ec
cp "$T/one.crt" "$T/cur.crt" && cp "$T/one.key" "$T/cur.key" || t_bail "cannot copy certificates"

fc_conf reload.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {
        listen 127.0.0.1:@PORT1@ ssl;
        ssl_certificate @T@/cur.crt;
        ssl_certificate_key @T@/cur.key;
        location /ret { return 200 "conn=$connection req=$connection_requests\n"; }
        location /up/ { proxy_pass http://127.0.0.1:@PORT9@; }
    }
    # sessions in a shared cache, no tickets: the zone outlives a reload
    server {
        listen 127.0.0.1:@PORT2@ ssl;
        ssl_certificate @T@/one.crt;
        ssl_certificate_key @T@/one.key;
        ssl_session_tickets off;
        ssl_session_cache shared:SSL:1m;
        location / { return 200 "reused=$ssl_session_reused\n"; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2" fc_start reload.conf
ok $? "starts" || t_bail "the binary did not start"
is "$(t_subject 127.0.0.1 "$PORT1")" "subject=CN = one.test" "serves the first certificate"

# open_conn NAME: a TLS connection by openssl s_client reading requests
# from the fifo $T/NAME.in (held open on a file descriptor by the caller),
# answers in $T/NAME.out.
open_conn() {
    rm -f "$T/$1.in"
    mkfifo "$T/$1.in" || return 1
    : >"$T/$1.out"
    timeout 60 openssl s_client -connect "127.0.0.1:$PORT1" -quiet -nocommands \
        <"$T/$1.in" >"$T/$1.out" 2>"$T/$1.err" &
    t_track $!
}
has() { grep -q -- "$2" "$T/$1.out"; }

# sess [s_client option...]: GET / on PORT2; the session line and the
# server's view in $SESS ("New:reused=." ...).
sess() {
    printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 openssl s_client -connect "127.0.0.1:$PORT2" \
        -ign_eof -nocommands "$@" >"$T/sess.out" 2>&1
    SESS="$(sed -n 's/^\(New\|Reused\), .*/\1/p' "$T/sess.out" | head -n 1):$(grep '^reused=' "$T/sess.out" | tr -d '\r')"
}
sess -tls1_3 -sess_out "$T/s13.pem"
is "$SESS" "New:reused=." "shared session cache: a TLS 1.3 session before the reload"
sess -tls1_2 -sess_out "$T/s12.pem"
is "$SESS" "New:reused=." "shared session cache: a TLS 1.2 session before the reload"

# A: keep-alive, one request answered before the reload.
open_conn a || t_bail "mkfifo failed"
exec 3>"$T/a.in"
printf 'GET /ret HTTP/1.1\r\nHost: x\r\n\r\n' >&3
wait_for 10 has a '^conn=.* req=1'
ok $? "connection A: first request answered" || sed 's/^/#   /' "$T/a.err"
conn_a=$(sed -n 's/^conn=\([0-9]*\) .*/\1/p' "$T/a.out")

# B: a request in flight (the backend answers 2 s later) during the reload.
open_conn b
exec 4>"$T/b.in"
printf 'GET /up/slow?delay_ms=2000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' >&4
backend_wait_count "$PORT9" 1 req
ok $? "connection B: its request reached the backend"

cp "$T/two.crt" "$T/cur.crt" && cp "$T/two.key" "$T/cur.key"
fc_reload
ok $? "reload with the certificate files replaced"
is "$(t_subject 127.0.0.1 "$PORT1")" "subject=CN = two.test" "new connections get the new certificate"

wait_for 10 has b '^HTTP/1.1 200'
ok $? "connection B: the request in flight across the reload is answered" ||
    { sed 's/^/#   /' "$T/b.out"; sed 's/^/#   /' "$T/b.err"; }
exec 4>&-

# in a subshell: if the connection is gone, SIGPIPE ends only the subshell
(printf 'GET /ret HTTP/1.1\r\nHost: x\r\n\r\n' >&3) 2>/dev/null
wait_for 10 has a "^conn=$conn_a req=2"
ok $? "connection A: idle keep-alive across the reload, its next request is answered" ||
    { sed 's/^/#   /' "$T/a.out"; sed 's/^/#   /' "$T/a.err"; }
exec 3>&-

fc_wait_drained 15
ok $? "the old worker exits once its connections are done"

sess -tls1_3 -sess_in "$T/s13.pem"
is "$SESS" "Reused:reused=r" "the shared session cache survives the reload (TLS 1.3)"
sess -tls1_2 -sess_in "$T/s12.pem"
is "$SESS" "Reused:reused=r" "the shared session cache survives the reload (TLS 1.2)"

# A reload with a key that does not match the certificate fails: the
# running workers keep serving the current certificate.
cp "$T/one.key" "$T/cur.key"
size0=$(t_size "$T/error.log")
workers0=$(fc_workers | sort | tr '\n' ' ')
kill -HUP "$FC_PID"
wait_for 10 eval 'tail -c +$((size0 + 1)) "$T/error.log" | grep -q "\\[emerg\\]"'
ok $? "a reload with a mismatched key logs [emerg]"
is "$(t_subject 127.0.0.1 "$PORT1")" "subject=CN = two.test" "... and the current certificate is still served"
is "$(fc_workers | sort | tr '\n' ' ')" "$workers0" "... by the same workers"

fc_stop
is $? 0 "graceful stop exits 0"
unlike "$(cat "$T/error.log")" 'exited on signal' "no worker crashed"
done_testing

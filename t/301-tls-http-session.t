# 301-tls-http-session: TLS session resumption across connections with two
# workers -- session tickets (on by default), `ssl_session_tickets off` with
# `ssl_session_cache shared:NAME:SIZE`, neither (no resumption), for TLS 1.3
# and 1.2; ssl_session_timeout; ssl_session_ticket_key keeps tickets valid
# across a restart.  Each resumed connection names the worker that served it
# ($pid): a session made by one worker must resume on the other one too.
# `reuseport` spreads nginx's connections over its workers (fulcrum's
# sockets are per worker anyway).
#
# Debian's nginx 1.22 passes every assertion.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v timeout >/dev/null 2>&1 || skip_all "no timeout(1)"

t_mkcert srv s.test ec
openssl rand 80 >"$T/ticket.key" || t_bail "openssl rand failed"

fc_conf sess.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate @T@/srv.crt;
    ssl_certificate_key @T@/srv.key;

    # tickets (the default), no cache
    server {
        listen 127.0.0.1:@PORT1@ ssl reuseport;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
    # a cache shared by the workers, no tickets
    server {
        listen 127.0.0.1:@PORT2@ ssl reuseport;
        ssl_session_tickets off;
        ssl_session_cache shared:SSL:1m;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
    # neither: nothing to resume from
    server {
        listen 127.0.0.1:@PORT3@ ssl reuseport;
        ssl_session_tickets off;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:@PORT4@ ssl reuseport;
        ssl_session_timeout 1s;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
    server {
        listen 127.0.0.1:@PORT5@ ssl reuseport;
        ssl_session_ticket_key @T@/ticket.key;
        location / { return 200 "pid=$pid reused=$ssl_session_reused\n"; }
    }
}
EOF
sed 's/^worker_processes 1;/worker_processes 2;/' "$T/sess.conf" >"$T/sess.conf.2" &&
    mv "$T/sess.conf.2" "$T/sess.conf"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5" fc_start sess.conf
ok $? "starts with 2 workers" || t_bail "the binary did not start"
wait_for 10 eval '[ "$(fc_workers | wc -l)" -eq 2 ]'
ok $? "two workers run"

# conn PORT [s_client option...]: GET / over a new TLS connection; sets
# C_SESS (New|Reused), C_PID (the worker that answered), C_REUSED
# ($ssl_session_reused as the server saw it).
conn() {
    _cn_p=$1
    shift
    printf 'GET / HTTP/1.0\r\nHost: s.test\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$_cn_p" -servername s.test -ign_eof \
            -nocommands "$@" >"$T/conn.out" 2>&1
    C_SESS=$(sed -n 's/^\(New\|Reused\), .*/\1/p' "$T/conn.out" | head -n 1)
    C_PID=$(sed -n 's/^pid=\([0-9]*\) .*/\1/p' "$T/conn.out")
    C_REUSED=$(sed -n 's/^pid=.* reused=\(.\).*/\1/p' "$T/conn.out" | tr -d '\r')
}

# resume PORT VERSION DESC: a session from a full handshake, then up to 20
# connections resuming it, until one was served by the other worker (at
# least 4): every one must say Reused (client) and r (server).
resume() {
    _rs_p=$1 _rs_v=$2 _rs_d=$3
    rm -f "$T/sess.pem"
    conn "$_rs_p" "$_rs_v" -sess_out "$T/sess.pem"
    is "$C_SESS:$C_REUSED" "New:." "$_rs_d: a full handshake first"
    _rs_first=$C_PID _rs_n=0 _rs_bad=0 _rs_other=0 _rs_log=
    while [ "$_rs_n" -lt 20 ] && { [ "$_rs_n" -lt 4 ] || [ "$_rs_other" -eq 0 ]; }; do
        conn "$_rs_p" "$_rs_v" -sess_in "$T/sess.pem"
        _rs_n=$((_rs_n + 1))
        _rs_log="$_rs_log $C_SESS:$C_REUSED:$C_PID"
        [ "$C_SESS:$C_REUSED" = "Reused:r" ] || _rs_bad=$((_rs_bad + 1))
        [ -n "$C_PID" ] && [ "$C_PID" != "$_rs_first" ] && _rs_other=$((_rs_other + 1))
    done
    is "$_rs_bad" 0 "$_rs_d: all $_rs_n later connections resume the session" ||
        diag "first worker $_rs_first; session:reused:worker per connection:$_rs_log"
    ok $((_rs_other == 0)) "$_rs_d: the other worker resumes it too" ||
        diag "first worker $_rs_first; session:reused:worker per connection:$_rs_log"
}

resume "$PORT1" -tls1_3 "tickets, TLS 1.3"
resume "$PORT1" -tls1_2 "tickets, TLS 1.2"
resume "$PORT2" -tls1_3 "shared cache, TLS 1.3"
resume "$PORT2" -tls1_2 "shared cache, TLS 1.2"

for v in -tls1_3 -tls1_2; do
    rm -f "$T/sess.pem"
    conn "$PORT3" "$v" -sess_out "$T/sess.pem"
    conn "$PORT3" "$v" -sess_in "$T/sess.pem"
    is "$C_SESS:$C_REUSED" "New:." "no tickets, no cache, $v: a full handshake again"
done

rm -f "$T/sess.pem"
conn "$PORT4" -tls1_3 -sess_out "$T/sess.pem"
conn "$PORT4" -tls1_3 -sess_in "$T/sess.pem"
is "$C_SESS:$C_REUSED" "Reused:r" "ssl_session_timeout 1s: resumed at once"
sleep 3 # the session's lifetime must pass: whole seconds in OpenSSL
conn "$PORT4" -tls1_3 -sess_in "$T/sess.pem"
is "$C_SESS:$C_REUSED" "New:." "ssl_session_timeout 1s: not resumed 3 s later"

# ssl_session_ticket_key: a ticket from before a full restart still resumes.
rm -f "$T/sess.pem"
conn "$PORT5" -tls1_3 -sess_out "$T/sess.pem"
is "$C_SESS" New "ssl_session_ticket_key: a full handshake first"
fc_stop
is $? 0 "graceful stop exits 0"
FC_WAIT_PORTS="$PORT1 $PORT2 $PORT3 $PORT4 $PORT5" fc_start sess.conf
ok $? "starts again" || t_bail "the binary did not restart"
conn "$PORT5" -tls1_3 -sess_in "$T/sess.pem"
is "$C_SESS:$C_REUSED" "Reused:r" "ssl_session_ticket_key: the ticket resumes after a restart"
conn "$PORT1" -tls1_3 -sess_in "$T/sess.pem"
is "$C_SESS" New "... and not on a server with other (random) ticket keys"

fc_stop
is $? 0 "graceful stop exits 0"
done_testing

# 304-tls-session-reload: an `ssl_session_cache shared:NAME:SIZE` zone keeps
# its sessions across a reload (HUP) that declares it with the same name and
# size, so clients resume on the new workers; a reload that changes the size
# starts an empty zone (nginx: a zone of another size is a new one).
# Tickets are off so only the shared cache can resume. TLS 1.2: a session
# id, so OpenSSL's client resumes through the server's cache.
#
# Debian's nginx 1.22 passes every assertion.
. "$(dirname "$0")/lib.sh"
t_init
need_fc
command -v openssl >/dev/null 2>&1 || skip_all "no openssl binary"
command -v timeout >/dev/null 2>&1 || skip_all "no timeout(1)"

t_mkcert srv s.test ec

# conf SIZE: the config with a shared cache of SIZE.
conf() {
    fc_conf sess.conf <<EOF
@PRELUDE@
http {
    access_log off;
    server {
        listen 127.0.0.1:@PORT1@ ssl reuseport;
        ssl_certificate @T@/srv.crt;
        ssl_certificate_key @T@/srv.key;
        ssl_protocols TLSv1.2;
        ssl_session_tickets off;
        ssl_session_cache shared:SSL:$1;
        location / { return 200 "pid=\$pid reused=\$ssl_session_reused\n"; }
    }
}
EOF
}

# conn [s_client option...]: GET / over a new TLS connection; C_SESS is
# New or Reused, C_REUSED what the server saw.
conn() {
    printf 'GET / HTTP/1.0\r\nHost: s.test\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$PORT1" -servername s.test -ign_eof \
            -nocommands "$@" >"$T/conn.out" 2>&1
    C_SESS=$(sed -n 's/^\(New\|Reused\), .*/\1/p' "$T/conn.out" | head -n 1)
    C_REUSED=$(sed -n 's/^pid=.* reused=\(.\).*/\1/p' "$T/conn.out" | tr -d '\r')
}

conf 1m
fc_start sess.conf
ok $? "starts" || t_bail "the binary did not start"

conn -sess_out "$T/s.pem"
is "$C_SESS:$C_REUSED" "New:." "a full handshake stores a session in the shared cache"
conn -sess_in "$T/s.pem"
is "$C_SESS:$C_REUSED" "Reused:r" "... which the next connection resumes"

fc_reload
ok $? "reload with the same zone"
conn -sess_in "$T/s.pem"
is "$C_SESS:$C_REUSED" "Reused:r" "after the reload, the new workers resume the old session"

conf 2m
fc_reload
ok $? "reload with the zone resized"
conn -sess_in "$T/s.pem"
is "$C_SESS:$C_REUSED" "New:." "a resized zone starts empty: a full handshake"

fc_stop
ok $? "graceful stop"
done_testing

# 900-seed-stream: the seed document's Layer 4 example
# (conf/examples/l4-stream.conf) runs unchanged -- only its local ports are
# swapped for free ones in a temp copy -- and balances across both servers
# of each group (web_servers and db_servers), with bytes intact.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

TC=$(helper tcpclient)
EX=$TOP/conf/examples/l4-stream.conf

# ids PORT N: N sequential sessions; the greeting id of each.
ids() {
    _i=0
    _out=
    while [ "$_i" -lt "$2" ]; do
        _id=$("$TC" -p "$1" -n 1 -E -k -T 3000 2>/dev/null | sed -n 's/^id=\([^ ]*\) .*/\1/p')
        _out="$_out ${_id:--}"
        _i=$((_i + 1))
    done
    echo "${_out# }"
}

[ -f "$EX" ]
ok $? "conf/examples/l4-stream.conf exists"

# The example's local addresses, each replaced by a free port.
WEB=$(free_port) DB=$(free_port)
W1=$(free_port) W2=$(free_port) D1=$(free_port) D2=$(free_port)
sed -e "s/127\.0\.0\.1:8080;/127.0.0.1:$WEB;/" \
    -e "s/127\.0\.0\.1:5432;/127.0.0.1:$DB;/" \
    -e "s/127\.0\.0\.1:8081;/127.0.0.1:$W1;/" \
    -e "s/127\.0\.0\.1:8082;/127.0.0.1:$W2;/" \
    -e "s/127\.0\.0\.1:5433;/127.0.0.1:$D1;/" \
    -e "s/127\.0\.0\.1:5434;/127.0.0.1:$D2;/" "$EX" >"$T/l4-stream.conf"
# nothing but the ports changed
is "$(diff "$EX" "$T/l4-stream.conf" | grep -c '^<')" 6 "the copy differs from the example in 6 lines"
is "$(sed -e 's/127\.0\.0\.1:[0-9]*;/ADDR;/' "$EX")" "$(sed -e 's/127\.0\.0\.1:[0-9]*;/ADDR;/' "$T/l4-stream.conf")" \
    "...and only in their ports"
unlike "$(cat "$T/l4-stream.conf")" '127\.0\.0\.1:(8080|8081|8082|5432|5433|5434);' "no example port left"

# The example is a stream{} block, as in the seed: a main config with the
# events{} section includes it.
fc_conf main.conf <<'EOF'
@PRELUDE@
include @T@/l4-stream.conf;
EOF
fc_run -c "$T/main.conf" -t
ok $? "fulcrum -t accepts the example"
like "$(cat "$T/fc_run.out")" 'test is successful' "-t: test is successful"

backend_start echo "$W1" -i web1
backend_start echo "$W2" -i web2
backend_start echo "$D1" -i db1
backend_start echo "$D2" -i db2
FC_WAIT_PORTS="$WEB $DB" fc_start main.conf
ok $? "fulcrum runs the example"

seq=$(ids "$WEB" 6)
is "$seq" "web1 web2 web1 web2 web1 web2" "web_servers: round robin across both servers"
seq=$(ids "$DB" 6)
is "$seq" "db1 db2 db1 db2 db1 db2" "db_servers: round robin across both servers"

out=$("$TC" -p "$WEB" -n 1048576 -P 4 -s 11 -E -k)
ok $? "web: 4 parallel 1 MB sessions"
is "$(printf '%s\n' "$out" | awk '{ split($5, a, "="); split($6, b, "="); if (a[2] != b[2] || $3 != "sent=1048576" || $4 != "recv=1048576") print }')" "" \
    "web: every stream intact"
like "$(printf '%s\n' "$out" | sed -n 's/.*id=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')" '^web1 web2 $' "web: parallel sessions spread over both servers"

out=$("$TC" -p "$DB" -n 1048576 -P 4 -s 12 -E -k)
ok $? "db: 4 parallel 1 MB sessions"
is "$(printf '%s\n' "$out" | awk '{ split($5, a, "="); split($6, b, "="); if (a[2] != b[2] || $3 != "sent=1048576" || $4 != "recv=1048576") print }')" "" \
    "db: every stream intact"
like "$(printf '%s\n' "$out" | sed -n 's/.*id=\([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')" '^db1 db2 $' "db: parallel sessions spread over both servers"

# a web server going away: the other one serves everybody
backend_stop "$W2"
seq=$(ids "$WEB" 4)
is "$seq" "web1 web1 web1 web1" "web2 down: web1 serves every session"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

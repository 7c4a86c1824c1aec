# 250-http-reload: the reload target of issue #3 -- 20 reloads (SIGHUP)
# while clients load the proxy, with keep-alive connections and with
# "Connection: close", and not one failed request: no socket error, no
# non-2xx.  The load comes from t/helpers/httpload (no benchmark tools).
# nginx fails the keep-alive half: its old workers close idle keep-alive
# connections under clients that are just sending their next request.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

fc_conf reload.conf <<'EOF'
@PRELUDE@
http {
    access_log off;
    upstream back { server 127.0.0.1:@PORT9@; keepalive 8; }
    server {
        listen 127.0.0.1:@PORT1@;
        location / {
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://back;
        }
        location /ret { return 200 "ret\n"; }
    }
    server {
        listen 127.0.0.1:@PORT2@;
        keepalive_timeout 2s;
        location / { return 200 "short\n"; }
    }
}
EOF
backend_start reflect "$PORT9"
FC_WAIT_PORTS="$PORT1 $PORT2" fc_start reload.conf
ok $? "fulcrum starts" || t_bail "the binary did not start"
LOAD=$(helper httpload)
reqs() { grep -c '^req ' "$(backend_log "$PORT9")"; }

# under_load MODE PATH: 20 reloads while httpload runs in MODE; leaves its
# summary in $T/load-MODE.out and the number of good reloads in $good.
under_load() {
    "$LOAD" -p "$PORT1" -n 16 -d 120000 -c "$1" -u "$2" -T 10000 \
        >"$T/load-$1.out" 2>"$T/load-$1.err" &
    _lp=$!
    t_track "$_lp"
    good=0
    _i=0
    backend_wait_count "$PORT9" $(($(reqs) + 200)) req 10 || _i=20
    while [ "$_i" -lt 20 ]; do
        _n=$(reqs)
        fc_reload || break
        good=$((good + 1))
        # some requests between two reloads
        backend_wait_count "$PORT9" $((_n + 100)) req 10 || break
        _i=$((_i + 1))
    done
    kill -TERM "$_lp"
    wait "$_lp"
    _rc=$?
    fc_wait_drained 20
    _dr=$?
    load_rc=$_rc drained=$_dr
}

under_load keepalive '/ka?delay_ms=2'
s=$(cat "$T/load-keepalive.out")
diag "keep-alive: $s"
is "$good" 20 "keep-alive: 20 reloads"
like "$s" 'requests=[0-9]{4,} ' "keep-alive: thousands of requests during the reloads"
like "$s" ' non2xx=0 errors=0 connect_errors=0 bad=0 timeouts=0 ' "keep-alive: not one failed request"
is "$load_rc" 0 "keep-alive: httpload saw only 2xx"
is "$drained" 0 "keep-alive: every old worker exited"
[ -s "$T/load-keepalive.err" ] && diag "$(head -n 5 "$T/load-keepalive.err")"

under_load close '/close?delay_ms=2'
s=$(cat "$T/load-close.out")
diag "close: $s"
is "$good" 20 "Connection: close: 20 reloads"
like "$s" 'requests=[0-9]{3,} ' "Connection: close: requests during the reloads"
like "$s" ' non2xx=0 errors=0 connect_errors=0 bad=0 timeouts=0 ' "Connection: close: not one failed request"
is "$load_rc" 0 "Connection: close: httpload saw only 2xx"
is "$drained" 0 "Connection: close: every old worker exited"
[ -s "$T/load-close.err" ] && diag "$(head -n 5 "$T/load-close.err")"

# a keep-alive client idle across a reload: its next request (sent 1.5 s
# after the first) is answered, with Connection: close
one='GET /ret HTTP/1.1\r\nHost: h\r\n\r\n'
printf '%s%s' "$one" "$one" >"$T/idle.in"
# shellcheck disable=SC2059 # printf interprets the escapes to count bytes
"$(helper rawhttp)" -p "$PORT1" -e -s "$(printf "$one" | wc -c)" -d 1500 -t 3000 "$T/idle.in" \
    >"$T/idle.out" 2>&1 &
ip=$!
t_track "$ip"
wait_for 5 grep -q '^ret' "$T/idle.out"
fc_reload
ok $? "a reload while a keep-alive client is idle"
wait "$ip"
is "$?" 0 "...the server closes it afterwards"
is "$(grep -c '^HTTP/1.1 200' "$T/idle.out")" 2 "...its next request is still answered"
like "$(tr -d '\r' <"$T/idle.out")" '^Connection: close$' "...with Connection: close"

# a keep-alive connection that stays idle after a reload is closed within
# its keepalive_timeout (2 s), and then the old worker exits
printf 'GET / HTTP/1.1\\r\\nHost: h\\r\\n\\r\\n' >"$T/short.in"
"$(helper rawhttp)" -p "$PORT2" -e -t 8000 "$T/short.in" >"$T/short.out" 2>&1 &
sp=$!
t_track "$sp"
wait_for 5 grep -q '^short' "$T/short.out"
fc_reload
ok $? "a reload with an idle keep-alive connection"
t0=$(t_now_ms)
wait "$sp"
rc=$?
dt=$(($(t_now_ms) - t0))
is "$rc" 0 "...the draining worker closes it"
[ "$dt" -lt 4000 ]
ok $? "...within its keepalive_timeout ($dt ms)"
fc_wait_drained 5
ok $? "...and exits"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
fc_stop
is $? 0 "graceful stop"
done_testing

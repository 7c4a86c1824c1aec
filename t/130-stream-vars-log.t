# 130-stream-vars-log: stream variables as the access log sees them,
# log_format escaping, access_log buffer/flush/if/off, reopen on USR1 and
# -s reopen; map (exact, default, regex with captures, hostnames), set,
# allow/deny, return, and proxy_pass $variable routed by a map.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

TC=$(helper tcpclient)
RAW=$(helper rawhttp)

log_lines() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}
_log_ge() { [ "$(log_lines "$1")" -ge "$2" ]; }
log_wait() { wait_for "${3:-5}" _log_ge "$1" "$2"; }
# ask PORT: the raw answer of a session that sends nothing
ask() { "$RAW" -p "$1" -t 3000 </dev/null; }

# A, B: echo backends; SLOW answers after 300 ms; DEAD: nothing listens.
fc_conf vars.conf <<'EOF'
@PRELUDE@
stream {
    log_format all '$remote_addr $remote_port $server_addr $server_port $upstream_addr '
                   '$bytes_sent $bytes_received $session_time $status [$time_local] '
                   '$time_iso8601 $msec $connection $protocol';
    log_format js escape=json '{"addr":"$remote_addr","v":"$val","e":"$empty","st":$status}';
    log_format plain '$server_port $status $val $empty';
    access_log @T@/all.log all;

    map $server_port $val { default 'a"b\\c'; }
    map $server_port $empty { default ""; }
    map $server_port $logit { @PORT7@ 0; default 1; }

    map $server_port $hn {
        @PORT10@ www.foo.example.com;
        @PORT11@ www.foo.org;
        @PORT12@ bar.org;
        @PORT13@ EXAMPLE.com;
        default  other.net;
    }
    map $hn $hk {
        hostnames;
        default        other;
        example.com    exact;
        *.example.com  wild_lead;
        www.foo.*      wild_trail;
        ~^bar\.(.+)$   re_$1;
    }
    map $hn $rx {
        ~^www\.([^.]+)\.(.+)$  "$2/$1";
        default                none;
    }
    # named groups become variables, as nginx's stream map
    map $remote_addr $named {
        ~^(?<octet1>\d+)\.(\d+)  "$octet1-$2";
        default                  none;
    }
    map $server_port $ex {
        @PORT10@ ten;
        @PORT13@ thirteen;
        default  dflt;
    }
    map $server_port $backend {
        @PORT26@ up_a;
        @PORT27@ up_b;
        default  127.0.0.1:@PORT22@;
    }

    upstream up_a { server 127.0.0.1:@PORT21@; }
    upstream up_b { server 127.0.0.1:@PORT22@; }

    server {
        listen 127.0.0.1:@PORT1@;
        access_log @T@/all.log all;
        access_log @T@/js.log js;
        access_log @T@/plain.log plain;
        proxy_pass 127.0.0.1:@PORT21@;
    }
    server { listen 127.0.0.1:@PORT2@; proxy_pass 127.0.0.1:@PORT23@; }
    server { listen 127.0.0.1:@PORT3@; proxy_pass 127.0.0.1:@PORT24@; }
    server {
        listen 127.0.0.1:@PORT4@;
        access_log @T@/buf.log plain buffer=32k flush=1s;
        proxy_pass 127.0.0.1:@PORT21@;
    }
    server {
        listen 127.0.0.1:@PORT5@;
        access_log @T@/buf2.log plain buffer=64k;
        proxy_pass 127.0.0.1:@PORT21@;
    }
    server {
        listen 127.0.0.1:@PORT6@;
        listen 127.0.0.1:@PORT7@;
        access_log @T@/cond.log plain if=$logit;
        proxy_pass 127.0.0.1:@PORT21@;
    }
    server { listen 127.0.0.1:@PORT8@; access_log off; proxy_pass 127.0.0.1:@PORT21@; }
    server {
        listen 127.0.0.1:@PORT10@;
        listen 127.0.0.1:@PORT11@;
        listen 127.0.0.1:@PORT12@;
        listen 127.0.0.1:@PORT13@;
        listen 127.0.0.1:@PORT14@;
        return "$hk $rx $ex $named [$octet1]\n";
    }
    server { listen 127.0.0.1:@PORT15@; deny 127.0.0.1; allow all; proxy_pass 127.0.0.1:@PORT21@; }
    server { listen 127.0.0.1:@PORT16@; allow 127.0.0.0/8; deny all; proxy_pass 127.0.0.1:@PORT21@; }
    server { listen 127.0.0.1:@PORT17@; deny all; return "never\n"; }
    server { listen 127.0.0.1:@PORT29@; error_log @T@/st_error.log info; return "el\n"; }
    server { listen 127.0.0.1:@PORT18@; return "$remote_addr\n"; }
    server {
        listen 127.0.0.1:@PORT19@;
        set $greeting "hi $remote_addr";
        set $twice "$greeting, $greeting";
        return "$twice\n";
    }
    server {
        listen 127.0.0.1:@PORT26@;
        listen 127.0.0.1:@PORT27@;
        listen 127.0.0.1:@PORT28@;
        proxy_pass $backend;
    }
}
EOF
backend_start echo "$PORT21" -i A
backend_start echo "$PORT22" -i B
backend_start slow "$PORT23" -d 300 -b 'x'
FC_WAIT_PORTS="$PORT1 $PORT28 $PORT29" fc_start vars.conf
ok $? "fulcrum starts"
ALL=$T/all.log

# ---------------------------------------------------------------- variables
t0=$(date +%s)
out=$("$TC" -p "$PORT1" -n 1000 -E -k)
ok $? "a 1000-byte session through the proxy"
log_wait "$ALL" 1
line=$(tail -n 1 "$ALL")
diag "all.log: $line"
set -- $line
is "$1" 127.0.0.1 "\$remote_addr"
ok "$(echo "$2" | awk '{ print ($1 ~ /^[0-9]+$/ && $1 > 0 && $1 < 65536) ? 0 : 1 }')" "\$remote_port is a port ($2)"
isnt "$2" "$PORT1" "\$remote_port is the client's, not the listener's"
is "$3" 127.0.0.1 "\$server_addr"
is "$4" "$PORT1" "\$server_port"
is "$5" "127.0.0.1:$PORT21" "\$upstream_addr is the backend"
is "$6" 1002 "\$bytes_sent: 1000 echoed + the 2-byte greeting"
is "$7" 1000 "\$bytes_received: what the client sent"
like "$8" '^[0-9]+\.[0-9]{3}$' "\$session_time has milliseconds"
is "$9" 200 "\$status 200"
shift 9
like "$1 $2" '^\[[0-3][0-9]/[A-Z][a-z]{2}/20[0-9]{2}:[0-2][0-9]:[0-5][0-9]:[0-6][0-9] [-+][0-9]{4}\]$' "\$time_local"
like "$3" '^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]([-+][0-9]{2}:[0-9]{2}|Z)$' "\$time_iso8601"
like "$4" '^[0-9]{10}\.[0-9]{3}$' "\$msec"
t1=$(date +%s)
ok "$(echo "$4 $t0 $t1" | awk '{ print ($1 >= $2 - 1 && $1 <= $3 + 1) ? 0 : 1 }')" "\$msec is now ($4)"
like "$5" '^[0-9]+$' "\$connection is a number"
is "$6" TCP "\$protocol"
conn1=$5

# slow upstream: session_time covers the wait
n0=$(log_lines "$ALL")
out=$(ask "$PORT2")
is "$out" "x" "slow upstream answered"
log_wait "$ALL" $((n0 + 1))
set -- $(tail -n 1 "$ALL")
is "$4 $5 $6 $7 $9" "$PORT2 127.0.0.1:$PORT23 1 0 200" "slow upstream: port, upstream, bytes, status (access_log inherited from stream{})"
ok "$(echo "$8" | awk '{ print ($1 >= 0.29 && $1 < 3) ? 0 : 1 }')" "\$session_time covers the 300 ms wait ($8)"
ok "$([ "${14}" -gt "$conn1" ] && echo 0 || echo 1)" "\$connection grows (${14} > $conn1)"

# dead upstream: 502
n0=$(log_lines "$ALL")
out=$(ask "$PORT3")
is "$out" "" "dead upstream: nothing for the client"
log_wait "$ALL" $((n0 + 1))
set -- $(tail -n 1 "$ALL")
is "$4 $5 $6 $7 $9" "$PORT3 127.0.0.1:$PORT24 0 0 502" "dead upstream: status 502, no bytes, \$upstream_addr the refused peer"

# ---------------------------------------------------------------- escaping
is "$(tail -n 1 "$T/js.log")" '{"addr":"127.0.0.1","v":"a\"b\\c","e":"","st":200}' \
    "escape=json: quote and backslash escaped, empty variable is \"\""
# nginx writes "-" only for a variable not found ($upstream_addr with no
# upstream, below); a map value "" is found and stays empty.
is "$(tail -n 1 "$T/plain.log")" "$PORT1 200 a\\x22b\\x5Cc " \
    "default escaping: \\x22 \\x5C; an empty (found) value stays empty"

# ---------------------------------------------------------------- buffer, flush
out=$("$TC" -p "$PORT4" -n 10 -E -k)
is "$(log_lines "$T/buf.log")" 0 "buffer=32k: nothing written when the session ends"
log_wait "$T/buf.log" 1 5
ok $? "flush=1s: the line is written within the flush time"
is "$(cat "$T/buf.log")" "$PORT4 200 a\\x22b\\x5Cc " "buffered line intact"

out=$("$TC" -p "$PORT5" -n 10 -E -k)
is "$(log_lines "$T/buf2.log")" 0 "buffer=64k without flush: nothing written yet"

# ---------------------------------------------------------------- if=, off
out=$("$TC" -p "$PORT6" -n 10 -E -k)
out=$("$TC" -p "$PORT7" -n 10 -E -k)
out=$("$TC" -p "$PORT6" -n 10 -E -k)
log_wait "$T/cond.log" 2
is "$(cut -d' ' -f1 "$T/cond.log" | tr '\n' ' ')" "$PORT6 $PORT6 " "if=\$logit: the session with \$logit = 0 is not logged"

n0=$(log_lines "$ALL")
out=$("$TC" -p "$PORT8" -n 10 -E -k)
ok $? "access_log off: the session works"
out=$(ask "$PORT18")
log_wait "$ALL" $((n0 + 1))
unlike "$(cat "$ALL")" " $PORT8 " "access_log off: nothing logged for that server"

# ---------------------------------------------------------------- reopen
mv "$ALL" "$ALL.1"
out=$(ask "$PORT18")
log_wait "$ALL.1" $((n0 + 2))
ok $? "before reopen the renamed file still gets the lines"
kill -USR1 "$FC_PID"
wait_for 5 test -f "$ALL"
ok $? "USR1: all.log recreated"
log_wait "$T/buf2.log" 1 5
ok $? "USR1: buffered lines flushed on reopen"
out=$(ask "$PORT18")
log_wait "$ALL" 1
like "$(cat "$ALL")" " $PORT18 " "after USR1 new lines go to the new file"

mv "$ALL" "$ALL.2"
fc_run -c "$T/vars.conf" -s reopen
ok $? "-s reopen"
wait_for 5 test -f "$ALL"
ok $? "-s reopen: all.log recreated"
out=$(ask "$PORT18")
log_wait "$ALL" 1
like "$(cat "$ALL")" " $PORT18 " "after -s reopen new lines go to the new file"

out=$("$TC" -p "$PORT5" -n 10 -E -k)
is "$(log_lines "$T/buf2.log")" 1 "buffer=64k: the next line waits in the buffer again"

# ---------------------------------------------------------------- map
is "$(ask "$PORT10")" "wild_lead example.com/foo ten 127-0 [127]" \
    "map: hostnames *.example.com beats www.foo.*; regex captures; exact key; a named group"
is "$(ask "$PORT11")" "wild_trail org/foo dflt 127-0 [127]" "map: hostnames trailing wildcard; default"
is "$(ask "$PORT12")" "re_org none dflt 127-0 [127]" "map: regex in a hostnames map with a capture"
is "$(ask "$PORT13")" "exact none thirteen 127-0 [127]" "map: exact hostname, case-insensitive"
is "$(ask "$PORT14")" "other none dflt 127-0 [127]" "map: defaults everywhere"

# ---------------------------------------------------------------- set, return
is "$(ask "$PORT18")" "127.0.0.1" "return \"\$remote_addr\\\\n\""
is "$(ask "$PORT19")" "hi 127.0.0.1, hi 127.0.0.1" "set, with a variable built from another"

# ---------------------------------------------------------------- allow, deny
n0=$(log_lines "$ALL")
a0=$(backend_count "$PORT21")
out=$("$TC" -p "$PORT15" -n 10 -k -T 3000)
like "$out" '^id= sent=10 recv=0 ' "deny 127.0.0.1: connection closed, nothing relayed"
log_wait "$ALL" $((n0 + 1))
set -- $(tail -n 1 "$ALL")
is "$4 $9" "$PORT15 403" "deny: status 403 in the access log"
is "$5" "-" "deny: no upstream (\$upstream_addr not found: \"-\")"
is "$(backend_count "$PORT21")" "$a0" "deny: the backend never saw a connection"
out=$("$TC" -p "$PORT16" -n 10 -E -k)
like "$out" '^id=A sent=10 recv=10 ' "allow 127.0.0.0/8 before deny all: served"
is "$(ask "$PORT17")" "" "deny all: return never runs"
set -- $(tail -n 1 "$ALL")
is "$4 $9" "$PORT17 403" "deny all: status 403"

# ---------------------------------------------------------------- proxy_pass $var
out=$("$TC" -p "$PORT26" -n 10 -E -k)
like "$out" '^id=A ' "proxy_pass \$backend: map -> upstream up_a"
out=$("$TC" -p "$PORT27" -n 10 -E -k)
like "$out" '^id=B ' "proxy_pass \$backend: map -> upstream up_b"
out=$("$TC" -p "$PORT28" -n 10 -E -k)
like "$out" '^id=B ' "proxy_pass \$backend: map default -> address 127.0.0.1:PORT"

unlike "$(cat "$T/error.log")" '\[(alert|crit|emerg)\]' "no alert/crit in error.log"
# error_log in a stream server: its sessions log there, as nginx
is "$(ask "$PORT29")" "el" "a server with its own error_log serves"
wait_for 3 grep -q "connected to 127.0.0.1:$PORT29" "$T/st_error.log"
ok $? "...and its sessions log into that error_log"
unlike "$(cat "$T/error.log")" "connected to 127.0.0.1:$PORT29" "...not into the main one"

fc_stop
is $? 0 "graceful stop"
is "$(log_lines "$T/buf2.log")" 2 "buffered line flushed when the worker exits"
done_testing

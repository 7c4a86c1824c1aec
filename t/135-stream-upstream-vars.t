# 135-stream-upstream-vars: the $upstream_* variables list one entry per
# upstream attempt, as nginx does: a failover from a dead port to a live
# echo backend logs "dead, live" addresses, "-" for the connect time that
# never happened and 0 bytes for it.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

TC=$(helper tcpclient)
DEAD=$(free_port)
fc_conf vars.conf <<EOF2
@PRELUDE@
stream {
    log_format up '\$upstream_addr|\$upstream_connect_time|\$upstream_bytes_sent|\$upstream_bytes_received|\$upstream_first_byte_time|\$upstream_session_time';
    access_log @T@/access.log up;
    upstream pair {
        server 127.0.0.1:$DEAD;
        server 127.0.0.1:@PORT2@;
    }
    server { listen 127.0.0.1:@PORT1@; proxy_pass pair; }
    server { listen 127.0.0.1:@PORT3@; proxy_pass 127.0.0.1:@PORT2@; }
    # proxy_pass \$var to an address: IP literals connect, names need a resolver.
    map \$server_port \$target { @PORT4@ 127.0.0.1:@PORT2@; default localhost:@PORT2@; }
    log_format st '\$server_port \$status [\$unset]';
    server {
        listen 127.0.0.1:@PORT4@;
        listen 127.0.0.1:@PORT5@;
        access_log @T@/status.log st;
        proxy_pass \$target;
    }
    server { listen 127.0.0.1:@PORT6@; set \$unset x; return ok; }
}
EOF2
backend_start echo "$PORT2" -i e2
FC_WAIT_PORTS="$PORT1 $PORT3 $PORT4 $PORT5" fc_start vars.conf
ok $? "fulcrum starts"

out=$("$TC" -p "$PORT1" -n 1000 -s 5 -k -T 3000)
like "$out" '^id=e2 sent=1000 recv=1000 ' "failover reaches the live backend"
wait_for 3 grep -q . "$T/access.log"
line=$(tail -n 1 "$T/access.log")
like "$line" "^127\\.0\\.0\\.1:$DEAD, 127\\.0\\.0\\.1:$PORT2\\|" "upstream_addr lists both attempts"
like "$line" '\|-, [0-9]+\.[0-9]{3}\|' "upstream_connect_time: '-' for the refused attempt, a time for the live one"
like "$line" '\|0, 1000\|' "upstream_bytes_sent: 0 then 1000"
like "$line" '\|0, 1003\|' "upstream_bytes_received: 0 then greeting + 1000"
like "$line" '\|-, [0-9]+\.[0-9]{3}\|[0-9]+\.[0-9]{3}, [0-9]+\.[0-9]{3}$' "first byte and session times per attempt"

"$TC" -p "$PORT3" -n 10 -k -T 3000 >/dev/null
wait_for 3 sh -c "[ \$(wc -l < '$T/access.log') -ge 2 ]"
like "$(tail -n 1 "$T/access.log")" "^127\\.0\\.0\\.1:$PORT2\\|[0-9]+\\.[0-9]{3}\\|10\\|13\\|" "a single attempt gives single values"

out=$("$TC" -p "$PORT4" -n 10 -k -T 3000)
like "$out" '^id=e2 sent=10 recv=10 ' "proxy_pass \$var with an IP address connects"
out=$("$TC" -p "$PORT5" -n 10 -k -T 3000)
like "$out" 'recv=0' "proxy_pass \$var with a host name is refused at run time (no DNS in a worker)"
wait_for 3 grep -q 'no resolver defined to resolve localhost, client' "$T/error.log"
ok $? "and says why: no resolver defined to resolve (nginx's words: the host alone)"
wait_for 3 grep -q "^$PORT5 " "$T/status.log"
like "$(grep "^$PORT5 " "$T/status.log")" "^$PORT5 500 \\[\\]\$" \
    "a target that cannot be made is logged 500, as nginx; a set variable never set here is empty"
done_testing

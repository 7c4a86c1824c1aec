# 000-harness: the harness and its helpers, without fulcrum, so the suite
# has something real to run before the binary exists (and stays honest).
. "$(dirname "$0")/lib.sh"
t_init

for h in echo udp_echo reflect slow fail tcpclient udpclient rawhttp freeport; do
    helper "$h" >/dev/null
    ok $? "helper $h builds"
done

# --- free_port / fc_conf
ports="$(free_port) $(free_port) $(free_port) $(free_port) $(free_port)"
is "$(echo $ports | tr ' ' '\n' | sort -u | wc -l)" 5 "free_port never hands out a port twice"

PORT3=12345
fc_conf test.conf <<'EOF'
@PRELUDE@
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
    server { listen 127.0.0.1:@PORT3@; root @TOP@/t; }
}
EOF
conf=$(cat "$T/test.conf")
like "$PORT1" '^[0-9]+$' "fc_conf exports PORT1"
like "$conf" "listen 127.0.0.1:$PORT1;" "fc_conf substitutes @PORT1@"
like "$conf" "proxy_pass 127.0.0.1:$PORT2;" "fc_conf substitutes @PORT2@"
like "$conf" "listen 127.0.0.1:12345;" "fc_conf keeps a PORTn set beforehand"
like "$conf" "^pid $T/fulcrum.pid;" "@PRELUDE@ and @T@ expand"
like "$conf" "root $TOP/t;" "@TOP@ expands"
unlike "$conf" '@' "no placeholder left"
isnt "$PORT1" "$PORT2" "distinct ports per placeholder"

# --- echo: integrity, half-close, greeting, per-connection log
P=$(free_port)
backend_start echo "$P" -i alpha
ok $? "echo backend starts"
out=$("$(helper tcpclient)" -p "$P" -n 3145728 -s 42 -k)
ok $? "tcpclient exits 0 against echo"
like "$out" '^id=alpha ' "echo greets with its id"
like "$out" ' sent=3145728 recv=3145728 ' "3 MB echoed in full after half-close"
sums=$(echo "$out" | sed -n 's/.*sent_sum=\([0-9a-f]*\) recv_sum=\([0-9a-f]*\).*/\1 \2/p')
is "${sums% *}" "${sums#* }" "echoed stream checksum matches"

out=$("$(helper tcpclient)" -p "$P" -n 200000 -P 10 -k)
ok $? "10 concurrent integrity connections"
bad=$(echo "$out" | awk '{ split($5, a, "="); split($6, b, "="); if (a[2] != b[2] || $3 != "sent=200000") print }')
is "$bad" "" "every concurrent stream echoed intact"
is "$(backend_count "$P")" 11 "echo logged one line per connection"

# --- udp_echo
U=$(free_port)
backend_start udp_echo "$U" -i u1
ok $? "udp_echo backend starts"
out=$("$(helper udpclient)" -p "$U" ping pong)
ok $? "udpclient got both replies"
is "$(echo "$out" | sort | tr '\n' ' ')" "u1:ping u1:pong " "udp_echo prefixes its id"
is "$(backend_count "$U" dgram)" 2 "udp_echo logged each datagram"

# --- reflect
R=$(free_port)
backend_start reflect "$R" -i r1
ok $? "reflect backend starts"
url=http://127.0.0.1:$R
out=$(curl -sS -i --max-time 10 "$url/hello?x=1" 2>&1)
like "$out" '^HTTP/1.1 200 OK' "reflect answers 200"
like "$out" '^X-Backend: r1' "X-Backend carries the id"
like "$out" '^GET /hello\?x=1 HTTP/1.1' "body reflects the request line"
like "$out" '^User-Agent: curl/' "body reflects the request headers"

out=$(curl -sS -i --max-time 10 "$url/a" "$url/b" 2>&1 | tr -d '\r')
is "$(echo "$out" | grep '^X-Conn:' | sort -u | wc -l)" 1 "keep-alive: both requests on one connection"
like "$out" '^X-Req: 2' "keep-alive: second request numbered 2"
c1=$(echo "$out" | sed -n 's/^X-Conn: //p' | head -n 1)
c2=$(curl -sS -D - -o /dev/null --max-time 10 "$url/c" | tr -d '\r' | sed -n 's/^X-Conn: //p')
isnt "$c2" "$c1" "a new client gets a new connection number"

head -c 1000000 /dev/urandom >"$T/body"
curl -sS --max-time 10 -H 'Expect:' --data-binary @"$T/body" -o "$T/post.out" "$url/up"
tail -c 1000000 "$T/post.out" | cmp -s - "$T/body"
ok $? "1 MB Content-Length body reflected byte for byte"
curl -sS --max-time 10 -H 'Transfer-Encoding: chunked' --data-binary @"$T/body" \
    -D "$T/chunked.hdr" -o /dev/null "$url/up"
like "$(cat "$T/chunked.hdr")" '^X-Framing: chunked' "chunked request body recognised"

a=$(curl -sS --max-time 10 "$url/g?size=300000" | cksum)
b=$(curl -sS --max-time 10 "$url/g?size=300000&chunked=1" | cksum)
is "$a" "$b" "?size= pattern identical with and without chunked"
like "$a" ' 300000$' "?size=300000 sends 300000 bytes"
is "$(curl -s -o /dev/null -w '%{http_code}' "$url/?status=503")" 503 "?status=503"
out=$(curl -sS -i --max-time 10 "$url/?hdr=X-Test:a%20b&eof=1" | tr -d '\r')
like "$out" '^X-Test:a b$' "?hdr= adds a header, %XX-decoded"
unlike "$out" '^Content-Length' "?eof=1 sends no length"
ms=$(curl -s -o /dev/null -w '%{time_total}' "$url/?delay_ms=300" | awk '{ print int($1 * 1000) }')
test "$ms" -ge 290
ok $? "?delay_ms=300 delays the answer (${ms} ms)"

out=$(printf 'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2?close=1 HTTP/1.1\r\nHost: x\r\n\r\n' |
    "$(helper rawhttp)" -p "$R" | tr -d '\r')
ok $? "rawhttp: reflect closed after close=1"
is "$(echo "$out" | grep -c '^HTTP/1.1 200')" 2 "pipelined requests both answered"
like "$out" '^Connection: close' "close=1 announces the close"

# --- slow, fail
S=$(free_port)
backend_start slow "$S"
printf 'GET / HTTP/1.1\r\n\r\n' | "$(helper rawhttp)" -p "$S" -t 200 >"$T/slow.out"
is "$?" 2 "slow never answers: rawhttp idle timeout"
is "$(wc -c <"$T/slow.out")" 0 "slow sent nothing"

F=$(free_port)
backend_start fail "$F" -m partial
out=$(printf 'GET / HTTP/1.1\r\n\r\n' | "$(helper rawhttp)" -p "$F")
ok $? "fail -m partial closes"
like "$out" 'partial$' "fail -m partial sends part of an answer"
F2=$(free_port)
backend_start fail "$F2" -r
printf 'x' | "$(helper rawhttp)" -p "$F2" 2>/dev/null
is "$?" 3 "fail -r resets the connection"

# --- holding connections, stopping backends
: >"$T/hold.out"
"$(helper tcpclient)" -p "$P" -H 20 >"$T/hold.out" &
hold=$!
t_track $hold
wait_for 5 grep -q '^held=' "$T/hold.out"
is "$(cat "$T/hold.out")" "held=20 failed=0" "tcpclient -H holds 20 connections"
backend_wait_count "$P" 31
ok $? "the echo backend saw them"
backend_stop "$P"
wait_port_closed "$P" 5
ok $? "backend_stop closes the listener"
kill -TERM $hold
wait $hold
ok $? "tcpclient -H exits 0 on SIGTERM"
is "$(tail -n 1 "$T/hold.out")" "closed=20" "stopping echo closed all held connections"

done_testing

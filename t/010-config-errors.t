# 010-config-errors: broken configs make `-t` exit 1 with nginx's message and
# the file:line at fault; several errors are reported in one run; include
# resolves globs relative to the config's folder.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

NAME=${FC_BIN##*/}

# Main-context lines without the directives some cases repeat on purpose.
hdr() {
    [ -n "$FC_PRELUDE_EXTRA" ] && printf '%s\n' "$FC_PRELUDE_EXTRA"
    cat <<'EOF'
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 64; }
EOF
}

# conf NAME < body: $T/NAME = header + body (placeholders filled by fc_conf).
conf() {
    { hdr; cat; } >"$T/.conf.in"
    fc_conf "$1" <"$T/.conf.in" # not in a pipeline: $PORTn must reach us
}

# lno NAME TEXT: number of the first line of $T/NAME containing TEXT.
lno() {
    grep -n -F -- "$2" "$T/$1" | head -n 1 | cut -d: -f1
}

# The -t output with nginx's log prefix ("2024/01/01 00:00:00 [emerg] 1#1: ")
# rewritten to the "NAME: [emerg] " form, so FC_BIN=nginx can be compared.
norm() {
    sed -E "s/^[0-9]{4}\/[0-9]{2}\/[0-9]{2} [0-9:]{8} \[([a-z]+)\] [0-9]+#[0-9]+: /$NAME: [\1] /" \
        "$T/fc_run.out"
}

# has_line TEXT: the normalised -t output has exactly this line.
has_line() {
    norm | grep -Fxq -- "$1"
}

# check NAME DESC MSG LINE... : `-t -c $T/NAME` exits 1, says
# "NAME: [emerg] MSG in FILE:LINE" for one of the LINEs (FILE is $T/NAME
# unless ERR_FILE is set) and "configuration file ... test failed".
check() {
    _c_name=$1 _c_desc=$2 _c_msg=$3
    shift 3
    fc_run -t -c "$T/$_c_name"
    is $? 1 "$_c_desc: -t exits 1"
    _c_file=${ERR_FILE:-$T/$_c_name}
    _c_found=1
    for _c_l in "$@"; do
        has_line "$NAME: [emerg] $_c_msg in $_c_file:$_c_l" && _c_found=0
    done
    ok $_c_found "$_c_desc: \"$_c_msg in ${_c_file##*/}:$*\"" ||
        { diag "output:"; sed 's/^/#   /' "$T/fc_run.out"; }
    has_line "$NAME: configuration file $T/$_c_name test failed"
    ok $? "$_c_desc: says test failed"
}

# ---------------------------------------------------------------- contexts

conf unknown.conf <<'EOF'
daemon off;
foo bar;
EOF
check unknown.conf "unknown directive" 'unknown directive "foo"' "$(lno unknown.conf foo)"

conf notallowed.conf <<'EOF'
daemon off;
proxy_pass 127.0.0.1:@PORT1@;
EOF
check notallowed.conf "proxy_pass in main" '"proxy_pass" directive is not allowed here' \
    "$(lno notallowed.conf proxy_pass)"

conf notallowed2.conf <<'EOF'
daemon off;
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
worker_connections 16;
EOF
check notallowed2.conf "worker_connections outside events" \
    '"worker_connections" directive is not allowed here' "$(lno notallowed2.conf 'worker_connections 16')"

conf nargs.conf <<'EOF'
daemon off;
worker_processes 1 2;
EOF
check nargs.conf "two arguments to worker_processes" \
    'invalid number of arguments in "worker_processes" directive' "$(lno nargs.conf worker_processes)"

conf nargs2.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_pass;
    }
}
EOF
check nargs2.conf "proxy_pass without argument" \
    'invalid number of arguments in "proxy_pass" directive' "$(lno nargs2.conf 'proxy_pass;')"

# ------------------------------------------------------------------ values

conf wp0.conf <<'EOF'
daemon off;
worker_processes 0;
EOF
check wp0.conf "worker_processes 0" 'invalid value "0" in "worker_processes" directive' \
    "$(lno wp0.conf worker_processes)"

conf badtime.conf <<'EOF'
daemon off;
worker_shutdown_timeout 10x;
EOF
check badtime.conf "bad time" '"worker_shutdown_timeout" directive invalid value' \
    "$(lno badtime.conf worker_shutdown_timeout)"

conf badsize.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_buffer_size 16q;
        proxy_pass 127.0.0.1:@PORT2@;
    }
}
EOF
check badsize.conf "bad size" '"proxy_buffer_size" directive invalid value' \
    "$(lno badsize.conf proxy_buffer_size)"

conf badflag.conf <<'EOF'
daemon maybe;
EOF
check badflag.conf "bad flag" \
    'invalid value "maybe" in "daemon" directive, it must be "on" or "off"' "$(lno badflag.conf maybe)"

# ...but the case of on/off does not matter, as in nginx's flag slot
conf caseflag.conf <<'EOF'
daemon OFF;
http { gzip On; server { listen 127.0.0.1:@PORT1@; proxy_buffering oFf; return 200; } }
EOF
fc_run -t -c "$T/caseflag.conf"
is $? 0 "flags in any case (OFF, On, oFf) pass -t"

conf dup.conf <<'EOF'
daemon off;
worker_processes 1;
daemon on;
EOF
check dup.conf "duplicate directive" '"daemon" directive is duplicate' "$(lno dup.conf 'daemon on')"

# ------------------------------------------------------------------ syntax

conf nosemi.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_pass 127.0.0.1:@PORT2@
    }
}
EOF
# the "}" ends the unterminated directive: nginx reports the line of "}"
check nosemi.conf "missing ;" 'unexpected "}"' $(($(lno nosemi.conf 'proxy_pass') + 1))

printf 'worker_processes 1' | conf nosemi_eof.conf
n=$(lno nosemi_eof.conf worker_processes)
check nosemi_eof.conf "missing ; at end of file" \
    'unexpected end of file, expecting ";" or "}"' "$n" $((n + 1))

conf nobrace.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_pass 127.0.0.1:@PORT2@;
    }
EOF
# nginx counts the line after the last newline; the last line is as useful
n=$(wc -l <"$T/nobrace.conf")
check nobrace.conf "missing }" 'unexpected end of file, expecting "}"' "$n" $((n + 1))

conf extrabrace.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_pass 127.0.0.1:@PORT2@;
    }
}
} # stray
EOF
check extrabrace.conf "unbalanced }" 'unexpected "}"' "$(lno extrabrace.conf stray)"

# ---------------------------------------------------------------- upstream

conf noservers.conf <<'EOF'
daemon off;
stream {
    upstream empty {
    } # end of empty
    server { listen 127.0.0.1:@PORT1@; proxy_pass empty; }
}
EOF
# nginx names the closing "}" of the block, the opening line is as useful
check noservers.conf "upstream without servers" 'no servers are inside upstream' \
    "$(lno noservers.conf 'upstream empty')" "$(lno noservers.conf 'end of empty')"

conf unknownups.conf <<'EOF'
daemon off;
stream {
    upstream known { server 127.0.0.1:@PORT2@; }
    server {
        listen 127.0.0.1:@PORT1@;
        proxy_pass unknown_group;
    }
}
EOF
check unknownups.conf "proxy_pass to an unknown upstream" \
    'no port in upstream "unknown_group"' "$(lno unknownups.conf unknown_group)"

conf weight0.conf <<'EOF'
daemon off;
stream {
    upstream u {
        server 127.0.0.1:@PORT2@;
        server 127.0.0.1:@PORT3@ weight=0;
    }
    server { listen 127.0.0.1:@PORT1@; proxy_pass u; }
}
EOF
check weight0.conf "server weight=0" 'invalid parameter "weight=0"' "$(lno weight0.conf weight=0)"

conf badparam.conf <<'EOF'
daemon off;
stream {
    upstream u {
        server 127.0.0.1:@PORT2@ heavy=1;
    }
    server { listen 127.0.0.1:@PORT1@; proxy_pass u; }
}
EOF
check badparam.conf "unknown server parameter" 'invalid parameter "heavy=1"' \
    "$(lno badparam.conf heavy)"

# ------------------------------------------------------------------ listen

conf duplisten.conf <<'EOF'
daemon off;
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
    server {
        listen 127.0.0.1:@PORT1@; # second
        proxy_pass 127.0.0.1:@PORT3@;
    }
}
EOF
check duplisten.conf "duplicate listen" "duplicate \"127.0.0.1:$PORT1\" address and port pair" \
    "$(lno duplisten.conf second)"

# a port held by another process (the echo helper)
HELD=$(free_port)
backend_start echo "$HELD"
PORT9=$HELD
conf bind.conf <<'EOF'
daemon off;
stream {
    server {
        listen 127.0.0.1:@PORT9@;
        proxy_pass 127.0.0.1:@PORT2@;
    }
}
EOF
# As nginx -t: a port in use is no error for a check (the running server
# holds its ports while `-t` checks the next configuration).
fc_run -t -c "$T/bind.conf"
is $? 0 "-t with a port in use: exits 0, as nginx -t"
unlike "$(norm)" 'bind\(\)' "...and says nothing of the bind"
# start_status PREFIX CONF: starts the binary and waits for it to exit (it
# must fail); its status, output in $T/fc_run.out.
start_status() {
    "$FC_BIN" -p "$1" -c "$2" >"$T/fc_run.out" 2>&1 &
    _ss_pid=$!
    t_track $_ss_pid
    wait_for 10 _t_dead $_ss_pid
    wait $_ss_pid
}
# and a real start fails the same way, without leaving anything behind
start_status "$T/" "$T/bind.conf"
isnt $? 0 "starting on a busy port fails"
like "$(norm)" "\[emerg\] bind\(\) to 127.0.0.1:$HELD failed \(98: Address already in use\)" \
    "start: the bind() error is printed"
ok_cmd "the holder still owns the port" wait_port "$HELD" 1
# As nginx: the bind is tried five times, 500 ms apart, and each try goes to
# the error log too, then "still could not bind()".
like "$(norm)" "\[emerg\] still could not bind\(\)" "start: gives up with \"still could not bind()\""
is "$(grep -c "bind() to 127.0.0.1:$HELD failed (98: Address already in use)" "$T/fc_run.out")" 5 \
    "start: the bind is tried 5 times"
is "$(grep -c "\[notice\] .*try again to bind() after 500ms" "$T/error.log")" 5 \
    "start: each retry is noted in the error log"
like "$(cat "$T/error.log")" "\[emerg\] [0-9]+#[0-9]+: still could not bind\(\)" \
    "start: the error log has the failure"

# ...so a port that its previous owner releases within those 2.5 s (a
# restart right after a stop) is taken, and the server starts.
FREED=$(free_port)
backend_start echo "$FREED"
FREED_PID=$BACKEND_PID
sed "s/127.0.0.1:$HELD;/127.0.0.1:$FREED;/" "$T/bind.conf" >"$T/freed.conf"
: >"$T/error.log"
"$FC_BIN" -p "$T/" -c "$T/freed.conf" >"$T/freed.out" 2>&1 &
FREED_FC=$!
t_track $FREED_FC
wait_for 5 grep -q "try again to bind" "$T/error.log"
kill "$FREED_PID"
wait_port_closed "$FREED" 5
ok_cmd "a port freed during the retries: the server starts and listens" wait_port "$FREED" 5
ok_cmd "...and keeps running" _t_alive $FREED_FC
kill -QUIT $FREED_FC
wait_for 10 _t_dead $FREED_FC

# Listening sockets are SO_REUSEPORT (one per worker); a second server
# started on a port a running fulcrum holds must still fail, as nginx's.
conf first.conf <<'EOF'
daemon off;
stream {
    server { listen 127.0.0.1:@PORT5@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
FC_WAIT_PORTS=$PORT5 fc_start first.conf
ok $? "a first server on a port starts"
mkdir -p "$T/second"
sed "s|$T/fulcrum.pid|$T/second/fulcrum.pid|; s|$T/error.log|$T/second/error.log|" \
    "$T/first.conf" >"$T/second/second.conf"
start_status "$T/second/" "$T/second/second.conf"
isnt $? 0 "a second server on the same port fails to start"
like "$(norm)" "\[emerg\] bind\(\) to 127.0.0.1:$PORT5 failed \(98: Address already in use\)" \
    "...with the bind() error"
fc_stop

conf rddefault.conf <<'EOF'
daemon off;
http {
    server {
        listen 127.0.0.1:@PORT1@;
        location / {
            proxy_redirect default;
            proxy_pass http://127.0.0.1:@PORT2@/x/;
        }
    }
}
EOF
check rddefault.conf "proxy_redirect default before proxy_pass" \
    '"proxy_redirect default" should be placed after the "proxy_pass" directive' \
    "$(lno rddefault.conf 'proxy_redirect default')"

# As nginx -t: the pid file must be openable
printf 'daemon off;\npid %s/nodir/x.pid;\nerror_log %s/error.log info;\nevents { worker_connections 64; }\n' \
    "$T" "$T" >"$T/badpid.conf"
[ -n "$FC_PRELUDE_EXTRA" ] && { printf '%s\n' "$FC_PRELUDE_EXTRA"; cat "$T/badpid.conf"; } >"$T/badpid.tmp" &&
    mv "$T/badpid.tmp" "$T/badpid.conf"
fc_run -t -c "$T/badpid.conf"
is $? 1 "-t with a pid file in a missing folder: exits 1, as nginx -t"
like "$(norm)" "open\(\) \"$T/nodir/x\.pid\" failed" "...saying which file"

conf baduser.conf <<'EOF'
daemon off;
user fc_no_such_user_here;
EOF
if [ "$(id -u)" = 0 ]; then
    check baduser.conf "a user that does not exist" 'getpwnam("fc_no_such_user_here") failed' \
        "$(lno baduser.conf fc_no_such_user_here)"
else
    skip "not root: nginx and fulcrum ignore the user directive" 3
fi

conf bufvar.conf <<'EOF'
daemon off;
http {
    server {
        listen 127.0.0.1:@PORT1@;
        access_log @T@/x-$host.log combined buffer=4k;
    }
}
EOF
check bufvar.conf "buffer= with a variable path" 'buffered logs cannot have variables in name' \
    "$(lno bufvar.conf 'buffer=4k')"

# --------------------------------------------------------------- variables

conf unknownvar.conf <<'EOF'
daemon off;
stream {
    log_format f '$remote_addr $foo';
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
if [ "$NAME" = nginx ]; then # nginx reports it without file:line
    fc_run -t -c "$T/unknownvar.conf"
    is $? 1 "unknown variable: -t exits 1"
    skip "nginx gives no file:line for variables" 2
else
    check unknownvar.conf "unknown variable" 'unknown "foo" variable' "$(lno unknownvar.conf foo)"
fi

# ---------------------------------------------------------------- includes

conf incmissing.conf <<'EOF'
daemon off;
include @T@/nonexistent.conf;
EOF
check incmissing.conf "include of a missing file" \
    "open() \"$T/nonexistent.conf\" failed (2: No such file or directory)" \
    "$(lno incmissing.conf nonexistent)"

mkdir -p "$T/inc"
fc_conf inc/bad.conf <<'EOF'
# first line
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        bogus_directive 1;
        proxy_pass 127.0.0.1:@PORT2@;
    }
}
EOF
conf incbad.conf <<'EOF'
daemon off;
include inc/bad.conf;
EOF
ERR_FILE=$T/inc/bad.conf check incbad.conf "error inside an included file" \
    'unknown directive "bogus_directive"' "$(lno inc/bad.conf bogus_directive)"

# -------------------------------------------------------- several errors

conf multi.conf <<'EOF'
daemon off;
first_unknown 1;
worker_shutdown_timeout 5q;
stream {
    server {
        listen 127.0.0.1:@PORT1@;
        second_unknown;
        proxy_pass 127.0.0.1:@PORT2@;
    }
}
worker_processes 1 2;
EOF
if [ "$NAME" = nginx ]; then
    skip "nginx stops at the first error" 5
else
    fc_run -t -c "$T/multi.conf"
    is $? 1 "several errors: -t exits 1"
    has_line "$NAME: [emerg] unknown directive \"first_unknown\" in $T/multi.conf:$(lno multi.conf first_unknown)"
    ok $? "several errors: the first one"
    has_line "$NAME: [emerg] \"worker_shutdown_timeout\" directive invalid value in $T/multi.conf:$(lno multi.conf 5q)"
    ok $? "several errors: the bad value"
    has_line "$NAME: [emerg] unknown directive \"second_unknown\" in $T/multi.conf:$(lno multi.conf second_unknown)"
    ok $? "several errors: the one inside a block"
    has_line "$NAME: [emerg] invalid number of arguments in \"worker_processes\" directive in $T/multi.conf:$(lno multi.conf 'worker_processes 1 2')"
    ok $? "several errors: the last one"
fi

# ------------------------------------------------- a valid include glob

mkdir -p "$T/conf/parts" "$T/conf/empty"
fc_conf conf/parts/10-upstream.conf <<'EOF'
upstream from_glob { server 127.0.0.1:@PORT5@; }
EOF
fc_conf conf/parts/20-server.conf <<'EOF'
server { listen 127.0.0.1:@PORT4@; proxy_pass from_glob; }
EOF
fc_conf conf/parts/README <<'EOF'
this is not a config and does not match the glob
EOF
fc_conf conf/main.conf <<'EOF'
@PRELUDE@
include empty/*.conf;
stream {
    include parts/*.conf;
}
EOF
# run from elsewhere: the glob is relative to the config's folder
cd /
fc_run -t -c "$T/conf/main.conf"
is $? 0 "include glob relative to the config's folder: -t exits 0"
like "$(cat "$T/fc_run.out")" 'syntax is ok' "include glob: syntax is ok"
backend_start echo "$PORT5" -i globbed
FC_WAIT_PORTS=$PORT4 fc_start conf/main.conf
ok $? "fulcrum starts with the globbed config"
out=$("$(helper tcpclient)" -p "$PORT4" -n 10000 -k -E)
like "$out" '^id=globbed sent=10000 recv=10000 ' "the included server and upstream work"
fc_stop
is $? 0 "stop"
cd "$TOP" || exit 1

# A bitmask directive written twice adds up, and its values ignore case (nginx).
fc_conf bitmask.conf <<'EOF'
@PRELUDE@
http {
    server {
        listen 127.0.0.1:@PORT1@;
        location / {
            proxy_pass http://127.0.0.1:@PORT2@;
            proxy_next_upstream error;
            proxy_next_upstream TIMEOUT http_502;
        }
    }
}
EOF
fc_run -t -c "$T/bitmask.conf"
is $? 0 "proxy_next_upstream twice, one value in capitals: -t exits 0"

done_testing

# 020-cli: the nginx command line: -v -V -h -t -q -T -g -p -c -s, bad options.
. "$(dirname "$0")/lib.sh"
t_init
need_fc

NAME=${FC_BIN##*/}
out() { cat "$T/fc_run.out"; }
# "[emerg] " and, for FC_BIN=nginx, its "PID#TID: "
E='\[emerg\] ([0-9]+#[0-9]+: )?'


# ------------------------------------------------------------ -v -V -h

fc_run -v
is $? 0 "-v exits 0"
like "$(out)" "^$NAME version: $NAME/[0-9]+\.[0-9]+\.[0-9]+" "-v prints the version"
is "$(out | wc -l | tr -d ' ')" 1 "-v prints one line"

fc_run -V
is $? 0 "-V exits 0"
like "$(out)" "^$NAME version: $NAME/[0-9]+\.[0-9]+\.[0-9]+" "-V prints the version"
like "$(out)" '^configure arguments:' "-V prints the configure arguments"
if [ "$NAME" = fulcrum ] && [ -f "$TOP/objs/fc_config.h" ]; then
    args=$(sed -n 's/^#define FC_CONFIGURE "\(.*\)"$/\1/p' "$TOP/objs/fc_config.h")
    like "$(out)" "^configure arguments: ?$(printf '%s' "$args" | sed 's/[][\.*^$+?(){}|]/\\&/g')\$" \
        "-V: the arguments this build was configured with"
    mods=$(out | sed -n 's/^modules: //p')
    for m in core events stream stream_proxy stream_upstream; do
        case " $mods " in
        *" $m "*) ok 0 "-V lists module $m" ;;
        *) ok 1 "-V lists module $m (got: $mods)" ;;
        esac
    done
fi

fc_run -h
is $? 0 "-h exits 0"
like "$(out)" "^Usage: $NAME \[-\?hvVtTq\] \[-s signal\] \[-p prefix\]" "-h prints the usage line"
like "$(out)" "^$NAME version: " "-h prints the version first, as nginx"
for o in '-t ' '-T ' '-q ' '-s signal' '-p prefix' '-c filename' '-g directives'; do
    like "$(out)" "^ +$o" "-h describes $o"
done
fc_run -?
is $? 0 "-? is -h"

# -------------------------------------------------------- bad options

fc_run -x
is $? 1 "an unknown option exits 1"
like "$(out)" "^$NAME: invalid option: \"x\"" "unknown option: invalid option: \"x\""
fc_run -s bogus
is $? 1 "-s with an unknown signal exits 1"
like "$(out)" "^$NAME: invalid option: \"-s bogus\"" "-s bogus is rejected"
fc_run -c
is $? 1 "-c without its argument exits 1"
like "$(out)" "^$NAME: option \"-c\" requires file name" "-c without a file name"
fc_run -g
is $? 1 "-g without its argument exits 1"
like "$(out)" "^$NAME: option \"-g\" requires parameter" "-g without its argument"

# ----------------------------------------------------------- -t -q -T

mkdir -p "$T/inc"
fc_conf inc/extra.conf <<'EOF'
# the included part
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
fc_conf main.conf <<'EOF'
@PRELUDE@
include inc/*.conf;
EOF
fc_conf broken.conf <<'EOF'
@PRELUDE@
no_such_directive;
EOF

fc_run -t -c "$T/main.conf"
is $? 0 "-t on a good config exits 0"
is "$(out)" "$NAME: the configuration file $T/main.conf syntax is ok
$NAME: configuration file $T/main.conf test is successful" "-t: syntax is ok, test is successful"

fc_run -t -q -c "$T/main.conf"
is $? 0 "-t -q exits 0"
is "$(out)" "" "-t -q prints nothing on success"

fc_run -t -q -c "$T/broken.conf"
is $? 1 "-t -q on a bad config exits 1"
like "$(out)" "${E}unknown directive \"no_such_directive\" in $T/broken.conf:" \
    "-t -q still prints the error"

fc_run -T -c "$T/main.conf"
is $? 0 "-T exits 0"
out >"$T/dump"
{
    printf '# configuration file %s:\n' "$T/main.conf"
    cat "$T/main.conf"
    echo
    printf '# configuration file %s:\n' "$T/inc/extra.conf"
    cat "$T/inc/extra.conf"
} >"$T/dump.expected"
# the dump is on stdout; the "syntax is ok" lines may be interleaved
grep -v "^$NAME: .*\(syntax is ok\|test is successful\)\$" "$T/dump" | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' >"$T/dump.got"
sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' "$T/dump.expected" >"$T/dump.want"
cmp -s "$T/dump.got" "$T/dump.want"
ok $? "-T prints '# configuration file PATH:' and the text of the main and included files" ||
    diff "$T/dump.want" "$T/dump.got" | head -n 20 | sed 's/^/#   /'
like "$(out)" 'test is successful' "-T also tests"
# as nginx: exactly one newline after each file's text, even when it lacks its own
printf '%s' "$(cat "$T/main.conf")" >"$T/nonl.conf"
fc_run -T -c "$T/nonl.conf"
grep -v "^$NAME: " "$T/fc_run.out" >"$T/dump.nonl"
is "$(tail -c 1 "$T/dump.nonl" | od -An -c | tr -d ' ')" '\n' "-T: a file without a final newline gets one..."
is "$(grep -c '^$' "$T/dump.nonl")" "$(($(grep -c '^$' "$T/dump") - 1))" \
    "...and no blank line after it (the file that ends in one gets one)"

fc_run -T -c "$T/broken.conf"
is $? 1 "-T on a bad config exits 1"
unlike "$(out)" '^# configuration file' "-T on a bad config dumps nothing"

fc_run -t -c "$T/missing.conf"
is $? 1 "-t on a missing file exits 1"
like "$(out)" "${E}open\(\) \"$T/missing.conf\" failed \(2: No such file or directory\)" \
    "-t on a missing file: open() failed"

# ----------------------------------------------------------------- -g

[ -n "$FC_PRELUDE_EXTRA" ] && printf '%s\n' "$FC_PRELUDE_EXTRA" >"$T/extra.conf"
fc_conf nowp.conf <<'EOF'
include @T@/extra.conf*;
daemon off;
master_process on;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 64; }
stream {
    server { listen 127.0.0.1:@PORT1@; proxy_pass 127.0.0.1:@PORT2@; }
}
EOF
fc_run -t -c "$T/nowp.conf" -g 'worker_processes 2;'
is $? 0 "-g 'worker_processes 2;' -t exits 0"

fc_run -t -c "$T/nowp.conf" -g 'daemon off;'
is $? 1 "-g duplicating a directive of the file exits 1"
like "$(out)" "${E}\"daemon\" directive is duplicate in $T/nowp.conf:2\$" \
    "-g duplicate: \"daemon\" directive is duplicate, at the file's line"

fc_run -t -c "$T/nowp.conf" -g 'worker_processes 2'
is $? 1 "-g without ; exits 1"
like "$(out)" "${E}unexpected end of parameter, expecting \";\" in command line\$" \
    "-g without ;: nginx's \"unexpected end of parameter\" in command line"

fc_run -t -c "$T/nowp.conf" -g 'no_such_thing on;'
is $? 1 "-g with an unknown directive exits 1"
like "$(out)" "${E}unknown directive \"no_such_thing\" in command line\$" \
    "-g errors are reported \"in command line\""

FC_WAIT_PORTS=$PORT1 fc_start nowp.conf -g 'worker_processes 2;'
ok $? "started with -g 'worker_processes 2;'"
nworkers() { [ "$(fc_workers | wc -l)" -eq "$1" ]; }
wait_for 5 nworkers 2
is "$(fc_workers | wc -l | tr -d ' ')" 2 "-g 'worker_processes 2;' gives 2 workers"

# ------------------------------------------------------------- -s

m1=$FC_PID
old=" $(fc_workers | tr '\n' ' ') "
fc_run -c "$T/nowp.conf" -g 'worker_processes 2;' -s reload
is $? 0 "-s reload exits 0"
# -s reload is a SIGHUP: new workers appear, the master stays
newgen() {
    for p in $(fc_workers); do
        case $old in *" $p "*) ;; *) return 0 ;; esac
    done
    return 1
}
wait_for 10 grep -q 'reconfiguring' "$T/error.log"
ok $? "-s reload: the master logs reconfiguring"
wait_for 10 newgen
ok $? "-s reload: a new worker generation starts"
is "$(cat "$T/fulcrum.pid")" "$m1" "-s reload: same master pid"

mv "$T/error.log" "$T/error.log.1"
fc_run -c "$T/nowp.conf" -g 'worker_processes 2;' -s reopen
is $? 0 "-s reopen exits 0"
wait_for 10 test -f "$T/error.log"
ok $? "-s reopen: the error log is created again"
wait_for 10 grep -q 'reopening logs' "$T/error.log.1" "$T/error.log"
ok $? "-s reopen: logged"

fc_run -c "$T/nowp.conf" -g 'worker_processes 2;' -s quit
is $? 0 "-s quit exits 0"
wait_for 10 _t_dead "$m1"
ok $? "-s quit: the master exits"
wait "$m1"
is $? 0 "-s quit: exit status 0"
FC_PID=
ok_cmd "-s quit: the pid file is removed" test ! -e "$T/fulcrum.pid"

fc_run -c "$T/nowp.conf" -s stop
is $? 1 "-s stop without a pid file exits 1"
like "$(out)" "^$NAME: \[error\] open\(\) \"$T/fulcrum.pid\" failed \(2: No such file or directory\)" \
    "-s without a pid file: open() failed"

FC_WAIT_PORTS=$PORT1 fc_start nowp.conf -g 'worker_processes 1;'
ok $? "started again"
m2=$FC_PID
fc_run -c "$T/nowp.conf" -g 'worker_processes 1;' -s stop
is $? 0 "-s stop exits 0"
wait_for 5 _t_dead "$m2"
ok $? "-s stop: the master exits"
wait "$m2"
is $? 0 "-s stop: exit status 0"
FC_PID=

# ----------------------------------------------------------- -p and -c

P=$T/prefix
mkdir -p "$P/conf" "$P/logs" "$P/conf/sub"
fc_conf prefix/conf/fulcrum.conf <<'EOF'
daemon off;
master_process on;
worker_processes 1;
pid logs/p.pid;
error_log logs/p-error.log info;
events { worker_connections 64; }
include sub/*.conf;
EOF
fc_conf prefix/conf/sub/stream.conf <<'EOF'
stream {
    server { listen 127.0.0.1:@PORT3@; proxy_pass 127.0.0.1:@PORT4@; }
}
EOF
cp "$P/conf/fulcrum.conf" "$P/conf/other.conf"

cd / || exit 1
"$FC_BIN" -p "$P/" -t >"$T/fc_run.out" 2>&1
is $? 0 "-p without -c tests PREFIX/conf/$NAME.conf"
like "$(out)" "the configuration file $P/conf/$NAME.conf syntax is ok" \
    "-p: the default config is under the prefix"

"$FC_BIN" -p "$P/" -c conf/other.conf -t >"$T/fc_run.out" 2>&1
is $? 0 "-c relative path is resolved under the prefix"
like "$(out)" "the configuration file $P/conf/other.conf syntax is ok" "-c conf/other.conf names PREFIX/conf/other.conf"

"$FC_BIN" -p "$P" -c conf/other.conf -t >"$T/fc_run.out" 2>&1
is $? 0 "-p without a trailing slash works too"

"$FC_BIN" -p "$P/" -c conf/other.conf >"$T/p.out" 2>&1 &
ppid=$!
t_track $ppid
wait_for 10 test -s "$P/logs/p.pid"
ok $? "-p: the relative pid path is under the prefix"
is "$(cat "$P/logs/p.pid" 2>/dev/null)" "$ppid" "-p: the pid file names the master"
ok_cmd "-p: the relative error_log is under the prefix" wait_for 5 test -s "$P/logs/p-error.log"
ok_cmd "-p: the included stream server listens" wait_port "$PORT3"
ok_cmd "-p: nothing written to the working directory" test ! -e /logs/p.pid
"$FC_BIN" -p "$P/" -c conf/other.conf -s quit >"$T/fc_run.out" 2>&1
is $? 0 "-p -s quit finds the pid file under the prefix"
wait_for 10 _t_dead $ppid
ok $? "-p -s quit: the master exits"
cd "$TOP" || exit 1

done_testing

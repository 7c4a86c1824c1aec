# t/lib.sh - harness for the fulcrum shell test suite.  POSIX sh, no Perl.
#
# Sourced by every t/NNN-topic.t:
#     . "$(dirname "$0")/lib.sh"
#     t_init
#     ... assertions ...
#     done_testing
# See t/README.md for the whole API.  Functions keep their scratch variables
# under a per-function prefix (_xx_) because POSIX sh has no `local`.

# The repository top: the nearest directory above the test holding t/lib.sh.
_t_find_top() {
    _ft_d=$(cd "$(dirname "$0")" && pwd)
    while [ "$_ft_d" != / ] && [ ! -f "$_ft_d/t/lib.sh" ]; do
        _ft_d=$(dirname "$_ft_d")
    done
    echo "$_ft_d"
}
TOP=${FC_TOP:-$(_t_find_top)}
FC_BIN=${FC_BIN:-$TOP/objs/fulcrum}
FC_HELPERS=${FC_HELPERS:-$TOP/objs/helpers}
T=
T_NUM=0 T_FAIL=0 T_SKIP=0 T_DONE=0
T_PIDS=
FC_PID=

# Tests talk to 127.0.0.1 only: never through a proxy from the environment.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
no_proxy='*' NO_PROXY='*'
export no_proxy NO_PROXY

# Debian's nginx can stand in for fulcrum (FC_BIN=/usr/sbin/nginx) to check
# the harness or compare behaviour; its stream module is a dynamic one.
if [ -z "${FC_PRELUDE_EXTRA+set}" ]; then
    FC_PRELUDE_EXTRA=
    if [ "${FC_BIN##*/}" = nginx ] && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
        FC_PRELUDE_EXTRA='load_module /usr/lib/nginx/modules/ngx_stream_module.so;'
    fi
fi

# ---------------------------------------------------------------- TAP output

diag() {
    printf '%s\n' "$*" | sed 's/^/# /'
}

_t_result() { # STATUS DESC
    T_NUM=$((T_NUM + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $T_NUM - $2"
        return 0
    fi
    T_FAIL=$((T_FAIL + 1))
    echo "not ok $T_NUM - $2"
    return 1
}

# ok STATUS DESC: passes when STATUS is 0 (typically `ok $? "..."`).
ok() {
    case $1 in
    '' | *[!0-9]*) diag "ok: status '$1' is not a number"; set -- 1 "$2" ;;
    esac
    _t_result "$1" "$2"
}

# ok_cmd DESC CMD [ARGS]: runs CMD, passes when it exits 0; shows its output
# on failure.
ok_cmd() {
    _oc_desc=$1
    shift
    "$@" >"$T/.ok_cmd.out" 2>&1
    _t_result $? "$_oc_desc" && return 0
    diag "command: $*"
    head -n 20 "$T/.ok_cmd.out" | sed 's/^/#   /'
    return 1
}

is() { # GOT EXPECTED DESC
    [ "$1" = "$2" ]
    _t_result $? "$3" && return 0
    diag "     got: '$1'"
    diag "expected: '$2'"
    return 1
}

isnt() { # GOT UNEXPECTED DESC
    [ "$1" != "$2" ]
    _t_result $? "$3" && return 0
    diag "     got: '$1'"
    diag "expected: anything else"
    return 1
}

like() { # GOT ERE DESC: some line of GOT matches ERE (grep -E)
    printf '%s\n' "$1" | grep -Eq -- "$2"
    _t_result $? "$3" && return 0
    diag "got:"
    printf '%s\n' "$1" | head -n 20 | sed 's/^/#   /'
    diag "expected to match: $2"
    return 1
}

unlike() { # GOT ERE DESC: no line of GOT matches ERE
    ! printf '%s\n' "$1" | grep -Eq -- "$2"
    _t_result $? "$3" && return 0
    diag "got:"
    printf '%s\n' "$1" | grep -E -- "$2" | head -n 20 | sed 's/^/#   /'
    diag "expected not to match: $2"
    return 1
}

skip() { # REASON [COUNT]
    _sk_n=${2:-1}
    while [ "$_sk_n" -gt 0 ]; do
        T_NUM=$((T_NUM + 1))
        T_SKIP=$((T_SKIP + 1))
        echo "ok $T_NUM # skip $1"
        _sk_n=$((_sk_n - 1))
    done
}

# skip_all REASON: the whole file does not apply here; exits.
skip_all() {
    echo "1..0 # skip $1"
    T_DONE=1
    exit 0
}

# need_fc: skip the file when the binary under test is not built yet.
need_fc() {
    [ -x "$FC_BIN" ] || skip_all "$FC_BIN not built"
}

# t_bail REASON: nothing after this point can pass (typically the binary
# did not start): says so and ends the test, failed, with its plan.
t_bail() {
    diag "bailing out: $1"
    [ "$T_FAIL" -gt 0 ] || _t_result 1 "$1"
    done_testing
}

done_testing() {
    echo "1..$T_NUM"
    echo "# ${0##*/}: $((T_NUM - T_FAIL - T_SKIP)) passed, $T_FAIL failed, $T_SKIP skipped"
    T_DONE=1
    [ "$T_FAIL" -eq 0 ] && exit 0
    exit 1
}

# ------------------------------------------------------- temp dir, processes

t_init() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-t.XXXXXX") || exit 1
    # workers may run as an unprivileged user: let them reach their files
    chmod 755 "$T"
    mkdir -p "$T/logs"
    T_PIDS=
    trap _t_cleanup EXIT
    trap '_t_signal 130' INT
    trap '_t_signal 143' TERM
}

_t_signal() {
    echo "# interrupted by a signal"
    T_FAIL=$((T_FAIL + 1))
    exit "$1"
}

# t_track PID: stop PID (and its children) when the test ends.
t_track() {
    T_PIDS="$T_PIDS $1"
}

# _t_alive PID: true while PID exists and is not a zombie.  (dash applies
# redirections left to right: 2>/dev/null must come before the <.)
_t_alive() {
    _al_line=
    read -r _al_line 2>/dev/null <"/proc/$1/stat" || return 1
    _al_st=${_al_line##*) }
    [ "${_al_st%% *}" != Z ]
}

_t_dead() {
    ! _t_alive "$1"
}

# _t_children PID: live direct children of PID, one per line.
_t_children() {
    for _ch_d in /proc/[0-9]*; do
        _ch_line=
        read -r _ch_line 2>/dev/null <"$_ch_d/stat" || continue
        set -- "$1" ${_ch_line##*) }
        [ "$3" = "$1" ] && [ "$2" != Z ] && echo "${_ch_d#/proc/}"
    done
}

# Stop the tracked processes: TERM, a bounded wait, then KILL.  Children of
# tracked processes (fulcrum workers) are noted first so none outlive us.
_t_stop_all() {
    _sa_kids=
    _sa_live=
    for _sa_p in $T_PIDS; do
        _t_alive "$_sa_p" || continue
        _sa_live="$_sa_live $_sa_p"
        _sa_kids="$_sa_kids $(_t_children "$_sa_p" | tr '\n' ' ')"
        kill -TERM "$_sa_p" 2>/dev/null
    done
    _sa_i=0
    for _sa_p in $_sa_live $_sa_kids; do
        while _t_alive "$_sa_p" && [ "$_sa_i" -lt 100 ]; do
            sleep 0.05
            _sa_i=$((_sa_i + 1))
        done
        if _t_alive "$_sa_p"; then
            echo "# pid $_sa_p ignored SIGTERM, killing it"
            kill -KILL "$_sa_p" 2>/dev/null
        fi
    done
    for _sa_p in $T_PIDS; do # reap; every one is dead by now
        _t_alive "$_sa_p" || wait "$_sa_p" 2>/dev/null
    done
    T_PIDS=
}

_t_cleanup() {
    _cl_rc=$?
    trap - EXIT INT TERM
    _t_stop_all
    if [ "$T_DONE" != 1 ]; then
        echo "# ${0##*/} ended before done_testing (status $_cl_rc)"
        T_FAIL=$((T_FAIL + 1))
        [ "$_cl_rc" -eq 0 ] && _cl_rc=1
    fi
    if [ -n "$T" ] && [ -d "$T" ]; then
        if [ "$T_FAIL" -gt 0 ] || [ "${T_KEEP:-0}" = 1 ]; then
            if [ "$T_FAIL" -gt 0 ] && [ -s "$T/error.log" ]; then
                echo "# last lines of $T/error.log:"
                tail -n 15 "$T/error.log" | sed 's/^/#   /'
            fi
            echo "# kept $T"
        else
            rm -rf "$T"
        fi
    fi
    exit "$_cl_rc"
}

# ------------------------------------------------------------ ports, waiting

# wait_for SECONDS CMD [ARGS]: polls CMD every 50 ms until it succeeds;
# fails after SECONDS (whole seconds).
wait_for() {
    _wf_n=$(($1 * 20))
    shift
    while :; do
        "$@" && return 0
        [ "$_wf_n" -le 0 ] && return 1
        _wf_n=$((_wf_n - 1))
        sleep 0.05
    done
}

# _t_sock_state FILE PORT STATE: a socket bound to 127.0.0.1 or any address
# on PORT in STATE (0A = TCP LISTEN, 07 = UDP bound).  Read from /proc
# rather than by connecting, so probing never shows up in backend logs.
_t_sock_state() {
    _ss_hex=$(printf '%04X' "$2")
    grep -Eq "^ *[0-9]+: (0100007F|00000000|0{32}|0{20}FFFF00000100007F):$_ss_hex [0-9A-F:]+ $3 " \
        "/proc/net/$1" "/proc/net/${1}6" 2>/dev/null
}

# t_conns_to PORT: established TCP connections to 127.0.0.1:PORT, counted
# at the connecting side (the proxy's upstream sockets, say), from /proc.
t_conns_to() {
    grep -Ec "^ *[0-9]+: [0-9A-F]+:[0-9A-F]{4} 0100007F:$(printf '%04X' "$1") 01 " /proc/net/tcp
}

_t_listening() { _t_sock_state tcp "$1" 0A; }
_t_not_listening() { ! _t_sock_state tcp "$1" 0A; }
_t_udp_bound() { _t_sock_state udp "$1" 07; }

wait_port() { # PORT [SECONDS]
    wait_for "${2:-10}" _t_listening "$1"
}

wait_port_closed() { # PORT [SECONDS]
    wait_for "${2:-10}" _t_not_listening "$1"
}

wait_udp() { # PORT [SECONDS]
    wait_for "${2:-10}" _t_udp_bound "$1"
}

# helper NAME: path of a built test helper, compiling t/helpers/NAME.c first
# when the binary is missing or older than its source or the shared
# t/helpers/helpers.h.
helper() {
    _hp_src=$TOP/t/helpers/$1.c
    _hp_bin=$FC_HELPERS/$1
    if [ ! -x "$_hp_bin" ] || { [ -f "$_hp_src" ] && { [ "$_hp_src" -nt "$_hp_bin" ] \
        || [ "$TOP/t/helpers/helpers.h" -nt "$_hp_bin" ]; }; }; then
        mkdir -p "$FC_HELPERS" || return 1
        if ! ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow \
            -Wstrict-prototypes -Wmissing-prototypes -o "$_hp_bin.$$" "$_hp_src" >&2; then
            echo "# helper $1: build failed" >&2
            rm -f "$_hp_bin.$$"
            return 1
        fi
        mv -f "$_hp_bin.$$" "$_hp_bin"
    fi
    echo "$_hp_bin"
}

# free_port: a TCP+UDP port free on 127.0.0.1, never one already handed out
# in this test (the record is a file, so $(free_port) works too).
free_port() {
    _fp_bin=$(helper freeport) || return 1
    # shellcheck disable=SC2046
    _fp_port=$("$_fp_bin" $(cat "$T/.ports" 2>/dev/null)) || return 1
    [ -n "$T" ] && echo "$_fp_port" >>"$T/.ports"
    echo "$_fp_port"
}

# ------------------------------------------------------------------ configs

# fc_conf_prelude: the usual main-context lines; write @PRELUDE@ to use them.
fc_conf_prelude() {
    [ -n "$FC_PRELUDE_EXTRA" ] && printf '%s\n' "$FC_PRELUDE_EXTRA"
    cat <<'EOF'
daemon off;
master_process on;
worker_processes 1;
pid @T@/fulcrum.pid;
error_log @T@/error.log info;
events { worker_connections 1024; }
EOF
}

# fc_conf NAME < heredoc: writes $T/NAME from stdin, replacing @PRELUDE@,
# @T@, @TOP@ and @PORTn@ (a free port per n, allocated on first use and
# exported as $PORTn; a PORTn set beforehand is kept).
fc_conf() {
    _cf_file=$1
    case $_cf_file in /*) ;; *) _cf_file=$T/$_cf_file ;; esac
    cat >"$_cf_file.in" || return 1
    for _cf_n in $(grep -o '@PORT[0-9][0-9]*@' "$_cf_file.in" | tr -d '@PORT' | sort -u); do
        eval "_cf_v=\${PORT$_cf_n:-}"
        if [ -z "$_cf_v" ]; then
            _cf_v=$(free_port) || return 1
            eval "PORT$_cf_n=\$_cf_v"
        fi
        export "PORT$_cf_n"
    done
    _FC_PRELUDE=$(fc_conf_prelude) _FC_T=$T _FC_TOP=$TOP awk '
        function rep(s, from, to,    out, i) {
            out = ""
            while ((i = index(s, from)) > 0) {
                out = out substr(s, 1, i - 1) to
                s = substr(s, i + length(from))
            }
            return out s
        }
        {
            s = rep($0, "@PRELUDE@", ENVIRON["_FC_PRELUDE"])
            s = rep(rep(s, "@T@", ENVIRON["_FC_T"]), "@TOP@", ENVIRON["_FC_TOP"])
            while (match(s, /@PORT[0-9]+@/))
                s = substr(s, 1, RSTART - 1) ENVIRON["PORT" substr(s, RSTART + 5, RLENGTH - 6)] \
                    substr(s, RSTART + RLENGTH)
            print s
        }' "$_cf_file.in" >"$_cf_file"
    _cf_rc=$?
    rm -f "$_cf_file.in"
    return $_cf_rc
}

# ------------------------------------------------------- the binary itself

# cache_get PATH [CURL_ARGS]: a request to 127.0.0.1:${CACHE_PORT:-$PORT1}
# (response-cache tests); X is its X-Cache field ("-" when absent), MS how
# long it took; the curl status is returned.
cache_get() {
    _cg_path=$1
    shift
    _cg_t0=$(t_now_ms)
    hreq -g "$@" "http://127.0.0.1:${CACHE_PORT:-$PORT1}$_cg_path"
    _cg_rc=$?
    MS=$(($(t_now_ms) - _cg_t0))
    X=$(hhdr X-Cache)
    [ -n "$X" ] || X=-
    return "$_cg_rc"
}

# cache_seen DESC STATUS CACHE NEW: the last cache_get answered STATUS with
# X-Cache CACHE, and NEW requests reached the backend on $PORT9 since the
# previous cache_seen (B holds the count then; a test may reset it).
B=0
cache_seen() {
    is "$H_STATUS $X" "$2 $3" "$1: $2 $3"
    _cs_n=$(backend_count "$PORT9" req)
    is "$((_cs_n - B))" "$4" "$1: $4 backend request(s)"
    B=$_cs_n
}

# need_cache CONF: skips the file when the binary was built without the
# response cache (./configure --without-http_cache): CONF is then rejected for
# one of the cache's directives or variables. Other errors are the test's.
need_cache() {
    fc_run -t -c "$1" && return 0
    _nc_re='unknown directive "proxy_(cache|no_cache|temp_path)|unknown "upstream_cache_status" variable'
    grep -Eq "$_nc_re" "$T/fc_run.out" &&
        skip_all "built without the cache (./configure --without-http_cache): $(grep -m1 -Eo "($_nc_re)[^ ]*" "$T/fc_run.out")"
    return 1
}

# http_check DIRECTIVES: `-t` of the prelude (pid, error_log, events) with
# "http { DIRECTIVES; server { listen 127.0.0.1:$PORT1; } }", written to
# $T/check.conf; its status, the output in $T/fc_run.out.
http_check() {
    printf '@PRELUDE@\nhttp { %s; server { listen 127.0.0.1:@PORT1@; } }\n' "$1" |
        fc_conf check.conf && fc_run -t -c "$T/check.conf"
}

# fc_run ARGS: runs $FC_BIN -p $T/ ARGS in the foreground (for -t, -v, ...);
# its stdout+stderr go to $T/fc_run.out; returns its exit status.
fc_run() {
    "$FC_BIN" -p "$T/" "$@" >"$T/fc_run.out" 2>&1
}

_t_size() {
    if [ -f "$1" ]; then wc -c <"$1"; else echo 0; fi
}

# Lines of the error log written after byte offset $1.
_fc_log_since() {
    [ -f "$FC_ERROR_LOG" ] && tail -c +$(($1 + 1)) "$FC_ERROR_LOG"
}

_fc_diag_logs() {
    for _dl_f in "$T/fc.out" "$FC_ERROR_LOG"; do
        [ -s "$_dl_f" ] || continue
        diag "tail of $_dl_f:"
        tail -n 10 "$_dl_f" | sed 's/^/#   /'
    done
}

_fc_started() {
    _t_dead "$FC_PID" && return 0
    [ -z "$FC_PIDFILE" ] && return 0
    [ "$(cat "$FC_PIDFILE" 2>/dev/null)" = "$FC_PID" ]
}

_fc_wait_ports() {
    for _wp_p in $FC_WAIT_PORTS; do
        wait_port "$_wp_p" || { diag "nothing listens on port $_wp_p"; return 1; }
    done
}

# fc_start CONF [ARGS]: starts $FC_BIN -p $T/ -c CONF ARGS in the background
# (PID in $FC_PID), waits up to FC_START_TIMEOUT (10) s for the pid file
# ($FC_PIDFILE, default $T/fulcrum.pid; empty = don't wait) and for every
# port in $FC_WAIT_PORTS.  Output goes to $T/fc.out.
fc_start() {
    _st_conf=$1
    shift
    case $_st_conf in /*) ;; *) _st_conf=$T/$_st_conf ;; esac
    FC_PIDFILE=${FC_PIDFILE-$T/fulcrum.pid}
    FC_ERROR_LOG=${FC_ERROR_LOG:-$T/error.log}
    [ -n "$FC_PIDFILE" ] && rm -f "$FC_PIDFILE"
    "$FC_BIN" -p "$T/" -c "$_st_conf" "$@" >>"$T/fc.out" 2>&1 &
    FC_PID=$!
    t_track "$FC_PID"
    if ! wait_for "${FC_START_TIMEOUT:-10}" _fc_started; then
        diag "$FC_BIN: no pid file $FC_PIDFILE after ${FC_START_TIMEOUT:-10}s"
        _fc_diag_logs
        return 1
    fi
    if _t_dead "$FC_PID"; then
        wait "$FC_PID"
        diag "$FC_BIN exited during startup with status $?"
        _fc_diag_logs
        FC_PID=
        return 1
    fi
    _fc_wait_ports || { _fc_diag_logs; return 1; }
}

# fc_workers: PIDs of the master's live children, one per line.
fc_workers() {
    [ -n "$FC_PID" ] && _t_children "$FC_PID"
}

# fc_reload: SIGHUP, then wait (bounded) until a new generation of children
# is up and stable, or fail at once if the error log gains an [emerg].
# Old workers may still be draining when it returns: their PIDs are in
# $FC_OLD_WORKERS (see fc_wait_drained).
fc_reload() {
    [ -n "$FC_PID" ] || { diag "fc_reload: not started"; return 1; }
    FC_OLD_WORKERS=$(fc_workers | tr '\n' ' ')
    _rl_old=" $FC_OLD_WORKERS "
    _rl_size=$(_t_size "$FC_ERROR_LOG")
    _rl_prev=
    kill -HUP "$FC_PID" || return 1
    _rl_i=0
    while [ "$_rl_i" -lt "$((${FC_START_TIMEOUT:-10} * 20))" ]; do
        if _fc_log_since "$_rl_size" | grep -q '\[emerg\]'; then
            diag "reload failed:"
            _fc_log_since "$_rl_size" | grep '\[emerg\]' | head -n 5 | sed 's/^/#   /'
            return 1
        fi
        _rl_new=
        for _rl_p in $(fc_workers); do
            case $_rl_old in *" $_rl_p "*) ;; *) _rl_new="$_rl_new $_rl_p" ;; esac
        done
        # done when new children exist and did not change for one poll
        if [ -n "$_rl_new" ] && [ "$_rl_new" = "$_rl_prev" ]; then
            _fc_wait_ports
            return
        fi
        _rl_prev=$_rl_new
        _rl_i=$((_rl_i + 1))
        sleep 0.05
    done
    diag "reload: no new worker generation after ${FC_START_TIMEOUT:-10}s"
    _fc_diag_logs
    return 1
}

_t_all_dead() {
    for _ad_p in "$@"; do
        _t_alive "$_ad_p" && return 1
    done
    return 0
}

# fc_wait_drained [SECONDS]: waits (default 10 s) until the workers that
# were running before the last fc_reload have exited.
fc_wait_drained() {
    # shellcheck disable=SC2086
    wait_for "${1:-10}" _t_all_dead $FC_OLD_WORKERS
}

# Send SIG, wait up to FC_STOP_TIMEOUT (10) s for the exit, return its
# status (KILL and 124 if it did not exit).
_fc_signal_wait() {
    [ -n "$FC_PID" ] || { diag "fc_stop: not started"; return 1; }
    kill "-$1" "$FC_PID" 2>/dev/null
    if wait_for "${FC_STOP_TIMEOUT:-10}" _t_dead "$FC_PID"; then
        wait "$FC_PID"
        _sw_rc=$?
    else
        diag "$FC_BIN did not exit within ${FC_STOP_TIMEOUT:-10}s of SIG$1; killing it"
        _sw_kids=$(fc_workers)
        kill -KILL "$FC_PID" $_sw_kids 2>/dev/null
        wait "$FC_PID"
        _sw_rc=124
    fi
    FC_PID=
    return $_sw_rc
}

fc_stop() { _fc_signal_wait QUIT; }
fc_kill() { _fc_signal_wait TERM; }

# ------------------------------------------------------------------ backends

# backend_start KIND PORT [ARGS]: starts helper KIND (echo, reflect, slow,
# fail, udp_echo, ...) with -p PORT -l $T/KIND-PORT.log ARGS, waits for its
# port; PID in $BACKEND_PID.
backend_start() {
    case $# in 0 | 1) diag "usage: backend_start KIND PORT [ARGS]"; return 1 ;; esac
    case $2 in '' | *[!0-9]*) diag "backend_start: bad port '$2'"; return 1 ;; esac
    _bs_kind=$1
    _bs_port=$2
    shift 2
    _bs_bin=$(helper "$_bs_kind") || return 1
    _bs_log=$T/$_bs_kind-$_bs_port.log
    : >"$_bs_log"
    "$_bs_bin" -p "$_bs_port" -l "$_bs_log" "$@" 2>>"$T/$_bs_kind-$_bs_port.err" &
    BACKEND_PID=$!
    t_track "$BACKEND_PID"
    eval "_T_BPID_$_bs_port=\$BACKEND_PID _T_BLOG_$_bs_port=\$_bs_log"
    case $_bs_kind in
    udp_*) wait_udp "$_bs_port" ;;
    *) wait_port "$_bs_port" ;;
    esac && _t_alive "$BACKEND_PID" && return 0
    diag "backend $_bs_kind on port $_bs_port did not come up"
    sed 's/^/#   /' "$T/$_bs_kind-$_bs_port.err"
    return 1
}

# backend_log PORT: path of that backend's log.
backend_log() {
    eval "echo \"\${_T_BLOG_$1}\""
}

# backend_count PORT [WORD]: log lines starting with WORD (default
# "accept": TCP connections; "req" for reflect requests, "dgram" for UDP).
backend_count() {
    grep -c "^${2:-accept} " "$(backend_log "$1")"
}

_t_count_ge() { [ "$(backend_count "$1" "$3")" -ge "$2" ]; }

# backend_wait_count PORT N [WORD] [SECONDS]: waits (default 10 s) until
# backend_count PORT WORD reaches at least N.
backend_wait_count() {
    wait_for "${4:-10}" _t_count_ge "$1" "$2" "${3:-accept}"
}

# backend_stop PORT: SIGTERM that backend and wait (bounded) for it.
backend_stop() {
    eval "_bk_pid=\${_T_BPID_$1}"
    [ -n "$_bk_pid" ] || return 1
    kill -TERM "$_bk_pid" 2>/dev/null
    wait_for 5 _t_dead "$_bk_pid" || kill -KILL "$_bk_pid" 2>/dev/null
    wait "$_bk_pid" 2>/dev/null
    return 0
}

# --------------------------------------------------------------------- http
# Clients for the http tests (2xx, 9xx).  Each leaves its results in
# variables of the calling shell, so assertions can follow directly (do not
# call them inside $( ) or a pipeline).

# hreq [CURL_ARGS...] URL: one curl request (silent, no ~/.curlrc, at most
# H_TIMEOUT (10) s).  The response head(s) go to $T/h.head, the body to
# $T/h.body.  Sets H_RC (curl's exit status), H_STATUS (the final status
# code, 000 when there was none; with your own -w, what it printed) and
# H_BODY (the body with CRs removed and trailing newlines dropped; the raw
# bytes stay in $T/h.body).  Returns H_RC.
# shellcheck disable=SC2034 # H_* are for the caller
hreq() {
    rm -f "$T/h.head" "$T/h.body"
    H_STATUS=$(curl -q -s --max-time "${H_TIMEOUT:-10}" -D "$T/h.head" -o "$T/h.body" \
        -w '%{http_code}' "$@")
    H_RC=$?
    [ -n "$H_STATUS" ] || H_STATUS=000
    H_BODY=
    [ -f "$T/h.body" ] && H_BODY=$(tr -d '\r' <"$T/h.body")
    [ -f "$T/h.head" ] || true >"$T/h.head"
    return "$H_RC"
}

# hhdr NAME: the values of header NAME (any case) in the final response of
# the last hreq, one per line, trimmed; nothing when absent.
hhdr() {
    awk -v n="$1" '
        BEGIN { n = tolower(n) }
        { sub(/\r$/, "") }
        /^HTTP\// { v = ""; c = 0; next }
        {
            i = index($0, ":")
            if (i > 1 && tolower(substr($0, 1, i - 1)) == n) {
                s = substr($0, i + 1)
                sub(/^[ \t]+/, "", s)
                sub(/[ \t]+$/, "", s)
                v = c++ ? v "\n" s : s
            }
        }
        END { if (c) print v }' "$T/h.head"
}

# hhas NAME: true when the last hreq's final response had header NAME.
hhas() {
    awk -v n="$1" 'BEGIN { n = tolower(n) } { sub(/\r$/, "") }
        /^HTTP\// { f = 0; next }
        { i = index($0, ":"); if (i > 1 && tolower(substr($0, 1, i - 1)) == n) f = 1 }
        END { exit !f }' "$T/h.head"
}

# hraw PORT BYTES [RAWHTTP_ARGS...]: sends BYTES on one connection, with
# the escapes \r \n \t \0 \\ \xHH interpreted (rawhttp -e), and reads the
# answer until close or idle (rawhttp's -t, default 2000 ms).  Sets R_RC
# (0 closed by the server, 2 idle timeout, 3 reset), R_OUT (what came back,
# CRs removed; raw bytes in $T/r.out), R_HEAD (the first response's header
# lines, CRs removed), R_STATUS (the first status code) and R_NRESP (lines
# that start with a status line: count responses only when every body ends
# with a newline).
# shellcheck disable=SC2034 # R_* are for the caller
hraw() {
    _hr_port=$1
    printf '%s' "$2" >"$T/r.in"
    shift 2
    "$(helper rawhttp)" -p "$_hr_port" -e "$@" "$T/r.in" >"$T/r.out" 2>"$T/r.err"
    R_RC=$?
    R_OUT=$(tr -d '\r' <"$T/r.out")
    R_HEAD=$(printf '%s\n' "$R_OUT" | sed '/^$/,$d')
    R_STATUS=$(sed -n '1s/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p' "$T/r.out")
    R_NRESP=$(grep -Ec '^HTTP/1\.[01] [0-9]{3}' "$T/r.out")
}

# t_lines FILE: its number of lines (0 when missing).
t_lines() {
    if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

_t_lines_ge() { [ "$(t_lines "$1")" -ge "$2" ]; }

# t_wait_lines FILE N [SECONDS]: waits (default 5 s) until FILE has at
# least N lines.
t_wait_lines() {
    wait_for "${3:-5}" _t_lines_ge "$1" "$2"
}

# port_busy PORT: true when something listens on 127.0.0.1:PORT or the
# wildcard address (for tests that need fixed ports).
port_busy() {
    _t_listening "$1"
}

# t_now_ms: wall-clock milliseconds (for bounds on how long something took).
t_now_ms() {
    date +%s%3N
}

# t_str N CHAR: N copies of CHAR (a padding string).
t_str() {
    head -c "$1" /dev/zero | tr '\0' "$2"
}

# t_size FILE: its size in bytes (0 when missing).
t_size() {
    _t_size "$1" | tr -d ' '
}

# t_mkcert NAME CN [rsa|ec] [CA]: a key and certificate in $T/NAME.key and
# $T/NAME.crt with subject CN and subjectAltName DNS:CN, made by `openssl
# req` at test time. Self-signed, or signed by CA ($T/CA.crt/.key from an
# earlier t_mkca). rsa is 2048 bits, ec is P-256. Fails the test file (bail)
# when openssl cannot make it.
t_mkcert() {
    _mc_alg=${3:-rsa}
    case $_mc_alg in
    rsa) set -- "$1" "$2" "$_mc_alg" "${4:-}" -newkey rsa:2048 ;;
    ec) set -- "$1" "$2" "$_mc_alg" "${4:-}" -newkey ec -pkeyopt ec_paramgen_curve:P-256 ;;
    *) t_bail "t_mkcert: unknown key type $_mc_alg" ;;
    esac
    _mc_name=$1 _mc_cn=$2 _mc_ca=$4
    shift 4
    printf 'subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\n' "$_mc_cn" >"$T/$_mc_name.ext"
    if [ -z "$_mc_ca" ]; then
        openssl req -x509 -nodes "$@" -days 2 -subj "/CN=$_mc_cn" \
            -addext "subjectAltName=DNS:$_mc_cn" \
            -keyout "$T/$_mc_name.key" -out "$T/$_mc_name.crt" >/dev/null 2>&1 ||
            t_bail "t_mkcert: openssl req failed for $_mc_name"
    else
        openssl req -new -nodes "$@" -subj "/CN=$_mc_cn" \
            -keyout "$T/$_mc_name.key" -out "$T/$_mc_name.csr" >/dev/null 2>&1 &&
            openssl x509 -req -in "$T/$_mc_name.csr" -CA "$T/$_mc_ca.crt" \
                -CAkey "$T/$_mc_ca.key" -CAcreateserial -days 2 \
                -extfile "$T/$_mc_name.ext" -out "$T/$_mc_name.crt" >/dev/null 2>&1 ||
            t_bail "t_mkcert: signing $_mc_name by $_mc_ca failed"
    fi
}

# t_mkca NAME CN: a self-signed CA ($T/NAME.crt, $T/NAME.key) for t_mkcert.
t_mkca() {
    openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
        -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$T/$1.key" -out "$T/$1.crt" >/dev/null 2>&1 ||
        t_bail "t_mkca: openssl req failed for $1"
}

# t_mkcrl CA NAME [CERT...]: $T/NAME.pem, a CRL signed by CA ($T/CA.crt and
# .key) that revokes each $T/CERT.crt (none: an empty list).
t_mkcrl() {
    _cr_ca=$1 _cr_dir=$T/$2.db _cr_out=$T/$2.pem
    shift 2
    mkdir -p "$_cr_dir" && : >"$_cr_dir/index.txt" && echo 01 >"$_cr_dir/crlnumber" ||
        t_bail "t_mkcrl: cannot make $_cr_dir"
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s/index.txt\ncrlnumber=%s/crlnumber\ndefault_md=sha256\ndefault_crl_days=2\n' \
        "$_cr_dir" "$_cr_dir" >"$_cr_dir/ca.cnf"
    for _cr_c in "$@"; do
        openssl ca -config "$_cr_dir/ca.cnf" -keyfile "$T/$_cr_ca.key" -cert "$T/$_cr_ca.crt" \
            -revoke "$T/$_cr_c.crt" >/dev/null 2>&1 || t_bail "t_mkcrl: revoking $_cr_c failed"
    done
    openssl ca -config "$_cr_dir/ca.cnf" -keyfile "$T/$_cr_ca.key" -cert "$T/$_cr_ca.crt" \
        -gencrl -out "$_cr_out" >/dev/null 2>&1 || t_bail "t_mkcrl: openssl ca -gencrl failed"
}

# t_subject HOST PORT [SNI] [s_client option...]: the subject line of the
# certificate a TLS server at HOST:PORT presents (empty when the handshake
# fails). SNI "-" sends no server name.
t_subject() {
    _sj_h=$1 _sj_p=$2 _sj_sni=${3:--}
    shift 2
    [ $# -gt 0 ] && shift
    if [ "$_sj_sni" = - ]; then set -- -noservername "$@"; else set -- -servername "$_sj_sni" "$@"; fi
    timeout 10 openssl s_client -connect "$_sj_h:$_sj_p" "$@" </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null
}

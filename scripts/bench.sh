#!/bin/bash
# scripts/bench.sh - fulcrum against Debian's nginx, same config, same backends.
#
#   scripts/bench.sh [SECTION...]      sections: l4 l7 reload tls gzip cache, or all (default)
#
# Puts objs/fulcrum and /usr/sbin/nginx in turn in front of the same backends
# with the same config text (scripts/bench/SECTION.conf; only the pid/log
# paths, nginx's load_module line and, in l7 and tls, the listening ports
# differ), one worker each.  The proxy
# runs alone on PROXY_CPU, clients and backends on CLIENT_CPU.  Many short
# interleaved rounds (fulcrum, nginx, nginx, fulcrum, ...); prints medians per
# proxy, the median of the per-round ratios fulcrum/nginx and the target,
# then a machine-friendly block "metric fulcrum nginx ratio".
# See docs/benchmarks.md.
#
#   l4      stream proxy: iperf3 bulk, wrk small requests (to t/helpers
#           reflect), idle-connection memory (scripts/bench/l4.conf)
#   l7      http proxy to scripts/bench/okd.c (200 "ok"): wrk keep-alive
#           clients through an upstream keep-alive pool, keep-alive clients
#           without a pool, a new client connection per request
#           (scripts/bench/l7.conf)
#   reload  wrk (keep-alive, then Connection: close) while the master gets
#           RELOADS SIGHUPs: socket errors and non-2xx answers (l7.conf)
#   tls     TLS termination (scripts/bench/tls.conf): full handshakes with a
#           new connection per request (wrk, Connection: close; no session
#           cache, no tickets) for an ECDSA P-256 and an RSA 2048
#           certificate; keep-alive requests over TLS answered by the proxy
#           (return 200) and proxied to okd through a keep-alive pool
#   gzip    a 100 KB text/plain response (reflect, keep-alive pool) to clients
#           that accept gzip, at gzip_comp_level 1 and 6 (scripts/bench/gzip.conf)
#   cache   cache hits: every request for one hot key, proxy_cache in front of
#           okd (scripts/bench/cache.conf); a fulcrum without proxy_cache
#           fails the section, and the run's exit status says so
#
# Environment (defaults in brackets):
#   SECTIONS [all]      sections to run when none is given as an argument
#   ROUNDS [7]          rounds of the l4 throughput/request-rate and l7 tests
#   DURATION [5]        seconds per test in a round
#   IDLE_ROUNDS [3]     rounds of the idle-connection memory test
#   IDLE_CONNS [5000]   idle connections held through the proxy
#   IDLE_BATCH [500]    ... opened this many at a time (below the backlog)
#   WRK_CONNS [50]      wrk connections (l4, l7, reload, tls)
#   PARALLEL [4]        iperf3 -P for the multi-stream test (0: skip it)
#   IPERF_OPTS []       extra iperf3 client options (e.g. -Z)
#   RELOAD_ROUNDS [2]   rounds of the reload section (each: both proxies, both modes)
#   RELOADS [20]        SIGHUPs per reload run
#   RELOAD_INTERVAL [0.5]  seconds between a reload's new worker and the next HUP
#   PROXY_CPU [0]  CLIENT_CPU [1]
#   FC_BIN [objs/fulcrum]  NGINX_BIN [/usr/sbin/nginx]
#   NGINX_STREAM_MODULE [/usr/lib/nginx/modules/ngx_stream_module.so]
#   FC_BIN=/usr/sbin/nginx  sanity run: nginx in both columns (ratios ~1.0)
#   BENCH_KEEP=1        keep the work directory (configs, logs, raw results)
#   NO_INSTALL=1        never run apt-get; NO_BUILD=1 never run make
set -u -o pipefail
cd "$(dirname "$0")/.." || exit 1
TOP=$PWD

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-5}
IDLE_ROUNDS=${IDLE_ROUNDS:-3}
IDLE_CONNS=${IDLE_CONNS:-5000}
IDLE_BATCH=${IDLE_BATCH:-500}
WRK_CONNS=${WRK_CONNS:-50}
PARALLEL=${PARALLEL:-4}
IPERF_OPTS=${IPERF_OPTS:-}
PROXY_CPU=${PROXY_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
ALL_SECTIONS="l4 l7 reload tls gzip cache"
SECTIONS=${SECTIONS:-all}
RELOAD_ROUNDS=${RELOAD_ROUNDS:-2}
RELOADS=${RELOADS:-20}
RELOAD_INTERVAL=${RELOAD_INTERVAL:-0.5}
FC_BIN=${FC_BIN:-$TOP/objs/fulcrum}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
HELPERS=${FC_HELPERS:-$TOP/objs/helpers}
PROXIES="fulcrum nginx"

W=                # work directory
PIDS=()           # every process we started, stopped by the exit trap
ANOMALIES=()      # anything odd seen during the run, printed at the end
FAILED=()         # sections that could not be measured at all: the exit status is 1
HZ=$(getconf CLK_TCK)

log() { printf '%s\n' "$*" >&2; }
die() { log "bench: $*"; exit 1; }
note() { ANOMALIES+=("$*"); log "  !! $*"; }
# Clients and backends run through taskset, which execs the command: started
# with "&" directly (not via a shell function, which would fork a subshell),
# $! is then the PID of the program itself, so the trap can stop it.
on_client() { taskset -c "$CLIENT_CPU" "$@"; }

# ------------------------------------------------------------------ setup

install_deps() {
    local missing=() cmd
    for cmd in wrk iperf3 jq taskset ss curl "${CC:-cc}"; do
        command -v "$cmd" >/dev/null 2>&1 && continue
        case $cmd in
        "${CC:-cc}") missing+=(gcc libc6-dev) ;;
        taskset) missing+=(util-linux) ;;
        ss) missing+=(iproute2) ;;
        *) missing+=("$cmd") ;;
        esac
    done
    [ -x "$NGINX_BIN" ] || missing+=(nginx-light)
    [ -f "$NGINX_STREAM_MODULE" ] || missing+=(libnginx-mod-stream)
    ((${#missing[@]})) || return 0
    [ -z "${NO_INSTALL:-}" ] || die "missing: ${missing[*]} (NO_INSTALL is set)"
    [ "$(id -u)" -eq 0 ] || die "missing: ${missing[*]}; run as root to install them"
    log "== apt-get install ${missing[*]}"
    # Debian starts nginx on port 80 when it is installed; keep it from
    # doing so (policy-rc.d exit 101) unless a policy is there already.
    local policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        policy=/usr/sbin/policy-rc.d
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"
    local rc=$?
    [ -z "$policy" ] || rm -f "$policy"
    [ $rc -eq 0 ] || die "apt-get failed"
}

# Build when needed.  If make fails (a tree mid-edit) but a binary exists,
# go on with it and say so in the anomalies: a stale binary is not hidden.
# An external FC_BIN (e.g. nginx for a sanity run) needs only the helpers.
build_fulcrum() {
    [ -z "${NO_BUILD:-}" ] || return 0
    if [ "$FC_BIN" != "$TOP/objs/fulcrum" ] && [ -x "$HELPERS/freeport" ]; then return 0; fi
    if [ ! -f Makefile ]; then
        log "== ./configure"
        ./configure >/dev/null || die "configure failed (scripts/test.sh installs build deps)"
    fi
    make -q all >/dev/null 2>&1 && return 0
    log "== make -j2"
    make -j2 >"${TMPDIR:-/tmp}/fulcrum-bench-make.log" 2>&1 && return 0
    [ -x "$FC_BIN" ] || die "make failed: see ${TMPDIR:-/tmp}/fulcrum-bench-make.log"
    note "make failed (see ${TMPDIR:-/tmp}/fulcrum-bench-make.log); benchmarking the existing, possibly stale, $FC_BIN"
}

check_tools() {
    [ -x "$FC_BIN" ] || die "$FC_BIN not built"
    local h
    for h in reflect echo tcpclient freeport; do
        [ -x "$HELPERS/$h" ] || die "$HELPERS/$h not built"
    done
    [ "$(nproc)" -gt "$(( PROXY_CPU > CLIENT_CPU ? PROXY_CPU : CLIENT_CPU ))" ] ||
        die "need CPUs $PROXY_CPU and $CLIENT_CPU (nproc=$(nproc))"
}

# Stop every PID we started: TERM, up to 5 s, then KILL.
cleanup() {
    local pid i
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null
    done
    PIDS=()
    if [ -n "$W" ] && [ -d "$W" ]; then
        if [ -n "${BENCH_KEEP:-}" ]; then log "work directory kept: $W"; else rm -rf "$W"; fi
    fi
}

track() { PIDS+=("$1"); }
untrack() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# stop_pid PID: TERM, wait up to 10 s, KILL; returns 1 if KILL was needed.
stop_pid() {
    local i
    kill -TERM "$1" 2>/dev/null || { untrack "$1"; return 0; }
    for ((i = 0; i < 100; i++)); do
        kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; untrack "$1"; return 0; }
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    untrack "$1"
    return 1
}

USED_PORTS=()
# ports VAR...: a distinct free port on 127.0.0.1 into each VAR.
ports() {
    local v p
    for v in "$@"; do
        p=$("$HELPERS/freeport" "${USED_PORTS[@]}") || die "no free port"
        USED_PORTS+=("$p")
        printf -v "$v" '%s' "$p"
    done
}

# Listening ports of the l7 and tls sections are per proxy: a run with a new
# connection per request leaves thousands of server-side TIME_WAIT sockets,
# and the next run on the same port (the other proxy's, in the ABBA order)
# would meet them in its SYNs, which the kernel settles on the client core.
# proxy_ports VAR...: a port per proxy for each VAR (in PPORT[VAR:PROXY]).
declare -A PPORT=()
proxy_ports() {
    local v p _pp
    for v in "$@"; do
        for p in $PROXIES; do
            ports _pp
            PPORT[$v:$p]=$_pp
        done
    done
}

# use_ports PROXY VAR...: sets each VAR to PROXY's port.
use_ports() {
    local p=$1 v
    shift
    for v in "$@"; do printf -v "$v" '%s' "${PPORT[$v:$p]}"; done
}

# port_mask PROXY: stdin with PROXY's own ports replaced by their names.
port_mask() {
    local k args=()
    for k in "${!PPORT[@]}"; do
        [[ $k == *:"$1" ]] && args+=(-e "s/:${PPORT[$k]}\b/:@${k%:*}@/g")
    done
    if ((${#args[@]})); then sed "${args[@]}"; else cat; fi
}

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# wait_until SECS CMD...: poll every 50 ms.
wait_until() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        ((SECONDS < end)) || return 1
        sleep 0.05
    done
}

L4_BACKENDS=()
start_backends() {
    ports IPERF_PORT REFLECT_PORT ECHO_PORT
    taskset -c "$CLIENT_CPU" iperf3 -s -p "$IPERF_PORT" >"$W/iperf3-server.log" 2>&1 &
    L4_BACKENDS+=($!)
    taskset -c "$CLIENT_CPU" "$HELPERS/reflect" -p "$REFLECT_PORT" -l /dev/null 2>"$W/reflect.log" &
    L4_BACKENDS+=($!)
    taskset -c "$CLIENT_CPU" "$HELPERS/echo" -p "$ECHO_PORT" -l /dev/null 2>"$W/echo.log" &
    L4_BACKENDS+=($!)
    local b
    for b in "${L4_BACKENDS[@]}"; do track "$b"; done
    local p
    for p in "$IPERF_PORT" "$REFLECT_PORT" "$ECHO_PORT"; do
        wait_until 5 listening "$p" || die "backend on port $p did not start"
    done
}

# ------------------------------------------------------------------ proxies

# write_conf SECTION PROXY: $W/PROXY-SECTION.conf from scripts/bench/SECTION.conf.
# Every @NAME@ in the template is replaced by the value of the shell variable
# NAME; PID, ERROR_LOG and LOAD_MODULE are the per-proxy ones below.
write_conf() {
    local sec=$1 p=$2 tpl="$TOP/scripts/bench/$1.conf" name args=()
    # shellcheck disable=SC2034 # read through ${!name}
    local PID="$W/$2.pid" ERROR_LOG="$W/$2-error.log" LOAD_MODULE=
    # nginx's stream module is dynamic; so in both slots of a sanity run.
    # shellcheck disable=SC2034
    is_nginx "$(bin_of "$p")" && LOAD_MODULE="load_module $NGINX_STREAM_MODULE;"
    for name in $(sed '/^#/d' "$tpl" | grep -o '@[A-Z0-9_]*@' | tr -d @ | sort -u); do
        [ -n "${!name+set}" ] || die "$tpl: no value for @$name@"
        args+=(-e "s|@$name@|${!name}|g")
    done
    sed -e '/^#/d' "${args[@]}" "$tpl" >"$W/$p-$sec.conf"
}

# is_nginx BIN: BIN is an nginx (its -v says so).  Cached.
declare -A IS_NGINX
is_nginx() {
    if [ -z "${IS_NGINX[$1]:-}" ]; then
        IS_NGINX[$1]=no
        "$1" -v 2>&1 | grep -q '^nginx version' && IS_NGINX[$1]=yes
    fi
    [ "${IS_NGINX[$1]}" = yes ]
}

bin_of() { if [ "$1" = fulcrum ]; then echo "$FC_BIN"; else echo "$NGINX_BIN"; fi; }

# The config text, without the lines allowed to differ, must be identical.
# A proxy that rejects the config (e.g. a fulcrum without that layer yet)
# makes the section skipped, not the run lost: noted, and returns 1.
check_same_config() {
    local a b
    a=$(grep -v -e '^load_module' -e '^pid ' -e '^error_log ' -e '^$' "$W/fulcrum-$1.conf" | port_mask fulcrum)
    b=$(grep -v -e '^load_module' -e '^pid ' -e '^error_log ' -e '^$' "$W/nginx-$1.conf" | port_mask nginx)
    [ "$a" = "$b" ] || die "configs differ beyond binary/pid/log/load_module/listening ports"
    local p
    for p in $PROXIES; do
        if ! "$(bin_of "$p")" -p "$W/" -c "$W/$p-$1.conf" -t >"$W/$p-$1.t" 2>&1; then
            note "$1.conf rejected by $p -t, sections using it skipped: $(grep -v 'test failed' "$W/$p-$1.t" | head -n 3 | tr '\n' ' ')"
            return 1
        fi
    done
}

worker_of() { pgrep -P "$1" 2>/dev/null | head -n1; }

# proxy_start SECTION PROXY PORT...: sets MASTER and WORKER.
proxy_start() {
    local sec=$1 p=$2 port
    shift 2
    MASTER="" WORKER=""
    ERRLINES_START=$(errlines "$p")
    taskset -c "$PROXY_CPU" "$(bin_of "$p")" -p "$W/" -c "$W/$p-$sec.conf" \
        >>"$W/$p-stdout.log" 2>&1 &
    MASTER=$!
    track "$MASTER"
    for port in "$@"; do
        wait_until 10 listening "$port" || die "$p: port $port not listening (see $W/$p-error.log)"
    done
    wait_until 10 eval 'WORKER=$(worker_of "$MASTER"); [ -n "$WORKER" ]' ||
        die "$p: no worker process"
}

# proxy_stop PROXY: QUIT would wait for clients; TERM is nginx's fast stop.
proxy_stop() {
    local p=$1
    if ! kill -0 "$MASTER" 2>/dev/null; then
        note "$p: master $MASTER was gone before stop"
    elif ! stop_pid "$MASTER"; then
        note "$p: master $MASTER needed SIGKILL to stop"
    fi
    if [ -n "$WORKER" ] && kill -0 "$WORKER" 2>/dev/null; then
        note "$p: worker $WORKER outlived its master; killed"
        kill -KILL "$WORKER" 2>/dev/null
    fi
    untrack "$MASTER"
    check_errlog "$p"
}

errlines() { [ -f "$W/$1-error.log" ] && wc -l <"$W/$1-error.log" || echo 0; }

# New serious lines in the error log since proxy_start are anomalies; plain
# [error] lines (e.g. a reset from iperf3 closing its streams) are counted.
check_errlog() {
    local p=$1 new
    [ -f "$W/$p-error.log" ] || return 0
    new=$(tail -n +"$((ERRLINES_START + 1))" "$W/$p-error.log")
    [ -n "$new" ] || return 0
    ERRCOUNT[$p]=$(( ${ERRCOUNT[$p]:-0} + $(grep -c '\[error\]' <<<"$new") ))
    local bad
    bad=$(grep -E '\[(alert|crit|emerg)\]|signal|exited|respawn' <<<"$new" | head -n 3)
    [ -z "$bad" ] || note "$p: error log: $bad"
}
declare -A ERRCOUNT

# Proxy health between tests: same worker (no crash + respawn), master alive.
check_worker() {
    local p=$1 what=$2 now
    now=$(worker_of "$MASTER")
    kill -0 "$MASTER" 2>/dev/null || { note "$p: master died during $what"; return 1; }
    if [ "$now" != "$WORKER" ]; then
        note "$p: worker changed during $what ($WORKER -> ${now:-none}): crashed?"
        WORKER=$now
        return 1
    fi
}

# cpu_ticks PID: utime+stime in clock ticks (fields 14, 15 of /proc/PID/stat;
# the comm field may contain spaces, so count from the last ')').
cpu_ticks() {
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    s=${s##*) }
    awk '{ print $12 + $13 }' <<<"$s"
}

# core_stat N: "busy total" jiffies of CPU N from /proc/stat (busy counts
# user, nice, system, irq, softirq, steal; total adds idle and iowait).
core_stat() {
    awk -v c="cpu$1" '$1 == c { b = $2 + $3 + $4 + $7 + $8 + $9; print b, b + $5 + $6 }' /proc/stat
}

# core_busy "BUSY0 TOTAL0" "BUSY1 TOTAL1": percent busy in between.
core_busy() {
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        t = y[2] - x[2]; print (t > 0 ? 100 * (y[1] - x[1]) / t : "NA") }'
}

# ------------------------------------------------------------------ results

# record METRIC PROXY ROUND VALUE (VALUE may be NA)
record() { echo "$1 $2 $3 $4" >>"$W/results"; }

METRICS=()
declare -A M_LABEL M_UNIT M_BETTER M_TARGET
# metric NAME BETTER(higher|lower|info|count) UNIT LABEL [TARGET]
# TARGET: ">=1.2" or "<=0.8" for the ratio fulcrum/nginx; "fulcrum=0" for
# fulcrum's own value.  A "count" metric is summed over the rounds instead
# of taking the median (the reload section's error counts).
metric() {
    METRICS+=("$1"); M_BETTER[$1]=$2; M_UNIT[$1]=$3; M_LABEL[$1]=$4; M_TARGET[$1]=${5:-}
}

# median of stdin numbers (NA ignored), "NA" when none.
median() {
    grep -v '^NA$' | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "NA";
              else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

values() { awk -v m="$1" -v p="$2" '$1 == m && $2 == p { print $4 }' "$W/results"; }

# sum of stdin numbers (NA ignored), "NA" when none.
total() { grep -v '^NA$' | awk '{ s += $1; n++ } END { print n ? s : "NA" }'; }

# met TARGET FULCRUM RATIO: "ok", "MISS" or "" (no target, no value).
met() {
    awk -v t="$1" -v f="$2" -v r="$3" 'BEGIN {
        if (t == "") exit
        if (t ~ /^fulcrum=/) { v = f; want = substr(t, 9) + 0; op = "=" }
        else { v = r; op = substr(t, 1, 2); want = substr(t, 3) + 0 }
        if (v == "NA" || v == "") exit
        v += 0
        ok = (op == ">=") ? v >= want : (op == "<=") ? v <= want : v == want
        print ok ? "ok" : "MISS" }'
}

# Per-round ratios fulcrum/nginx for METRIC, one per line.
ratios() {
    awk -v m="$1" '$1 == m && $4 != "NA" { v[$2 " " $3] = $4; r[$3] = 1 }
        END { for (k in r) if (("fulcrum " k) in v && ("nginx " k) in v && v["nginx " k] > 0)
                  print v["fulcrum " k] / v["nginx " k] }' "$W/results"
}

fmt() { [ "$1" = NA ] && echo NA || awk -v v="$1" 'BEGIN {
    a = v < 0 ? -v : v
    if (a >= 1000) printf "%.0f", v; else if (a >= 100) printf "%.1f", v;
    else if (a >= 1) printf "%.2f", v; else printf "%.3g", v }'; }

report() {
    local m f n r lo hi range ff nf row='%-54s %10s %10s %8s %14s %10s %5s  %s\n'
    printf "\n$row" metric fulcrum nginx ratio "ratio min..max" target met better
    printf "%s\n" "$(printf "%0.s-" {1..122})"
    : >"$W/summary"
    for m in "${METRICS[@]}"; do
        grep -q "^$m " "$W/results" 2>/dev/null || continue
        if [ "${M_BETTER[$m]}" = count ]; then
            f=$(values "$m" fulcrum | total) ff=$f
            n=$(values "$m" nginx | total) nf=$n
            r=$(awk -v f="$f" -v n="$n" 'BEGIN { print (f != "NA" && n != "NA" && n > 0) ? f / n : "NA" }')
            range=
        else
            f=$(values "$m" fulcrum | median) ff=$(fmt "$f")
            n=$(values "$m" nginx | median) nf=$(fmt "$n")
            r=$(ratios "$m" | median)
            lo=$(ratios "$m" | sort -g | head -n1)
            hi=$(ratios "$m" | sort -g | tail -n1)
            range="$(fmt "${lo:-NA}")..$(fmt "${hi:-NA}")"
        fi
        # shellcheck disable=SC2059
        printf "$row" "${M_LABEL[$m]} (${M_UNIT[$m]})" "$ff" "$nf" "$(fmt "$r")" "$range" \
            "${M_TARGET[$m]:-}" "$(met "${M_TARGET[$m]:-}" "$f" "$r")" "${M_BETTER[$m]}"
        echo "$m $ff $nf $(fmt "$r")" >>"$W/summary"
    done
    echo
    echo "values are medians over rounds (l4/l7: $ROUNDS, idle: $IDLE_ROUNDS), ratio = median over"
    echo "rounds of (fulcrum / nginx) in the same round; \"count\" rows are sums over rounds"
    echo "(reload: $RELOAD_ROUNDS) and their ratio is of the sums."
    [ "$FC_BIN" = "$TOP/objs/fulcrum" ] || echo "NOTE: the fulcrum column ran $FC_BIN"
    echo "error-log [error] lines: fulcrum ${ERRCOUNT[fulcrum]:-0}, nginx ${ERRCOUNT[nginx]:-0}"
    if ((${#ANOMALIES[@]})); then
        echo "anomalies:"
        printf '  - %s\n' "${ANOMALIES[@]}"
    else
        echo "anomalies: none"
    fi
    echo
    echo "# metric fulcrum nginx ratio"
    cat "$W/summary"
}

# ------------------------------------------------------------------ L4 section

metric l4_bulk1_gbps        higher Gbit/s  "L4 bulk, 1 stream" ">=1.3"
metric l4_bulk1_cpu_per_gb  lower  "cpu s/GB"  "L4 bulk, 1 stream, proxy CPU"
metric l4_bulk1_cpu_util    info   "%"    "L4 bulk, 1 stream, proxy CPU busy"
metric l4_bulk1_client_busy info   "%"    "L4 bulk, 1 stream, client core busy"
metric l4_bulkN_gbps        higher Gbit/s  "L4 bulk, -P N streams"
metric l4_bulkN_cpu_per_gb  lower  "cpu s/GB"  "L4 bulk, -P N, proxy CPU"
metric l4_bulkN_cpu_util    info   "%"    "L4 bulk, -P N, proxy CPU busy"
metric l4_bulkN_client_busy info   "%"    "L4 bulk, -P N, client core busy"
metric l4_rps               higher "req/s"  "L4 small requests" ">=1.0"
metric l4_p99_ms            lower  ms     "L4 small requests, p99"
metric l4_cpu_us_per_req    lower  "cpu us/req"  "L4 small requests, proxy CPU"
metric l4_rps_cpu_util      info   "%"    "L4 small requests, proxy CPU busy"
metric l4_rps_client_busy   info   "%"    "L4 small requests, client core busy"
metric l4_rps_proxy_other   info   "%"    "L4 small requests, proxy core, not worker"
metric l4_idle_rss_kb       lower  "KiB/conn"  "L4 idle conn, worker RSS" "<=1.0"
metric l4_idle_pss_kb       lower  "KiB/conn"  "L4 idle conn, worker PSS"
metric l4_idle_fds          info   "fd/conn"   "L4 idle conn, worker fds"
metric l4_idle_slab_kb      info   "KiB/conn"  "L4 idle conn, kernel slab (system)"
metric l4_base_rss_kb       info   KiB    "worker RSS at start"

# bulk PROXY ROUND STREAMS TAG: iperf3 client -> proxy -> iperf3 server.
l4_bulk() {
    local p=$1 r=$2 n=$3 tag=$4 t0 t1 c0 c1 json bytes secs gbps cpu
    c0=$(core_stat "$CLIENT_CPU")
    t0=$(cpu_ticks "$WORKER")
    json=$(on_client timeout -k 5 $((DURATION + 30)) iperf3 -c 127.0.0.1 -p "$BULK_PORT" -t "$DURATION" -P "$n" -J $IPERF_OPTS 2>&1)
    local rc=$?
    ((rc != 124 && rc != 137)) || note "$p round $r: iperf3 -P $n stalled: killed after $((DURATION + 30)) s"
    t1=$(cpu_ticks "$WORKER")
    c1=$(core_stat "$CLIENT_CPU")
    echo "$json" >"$W/iperf3-$p-$r-$n.json"
    bytes=$(jq -r '.end.sum_received.bytes // empty' <<<"$json" 2>/dev/null)
    secs=$(jq -r '.end.sum_received.seconds // empty' <<<"$json" 2>/dev/null)
    if [ -z "$bytes" ] || [ -z "$secs" ] || [ "$bytes" = 0 ]; then
        note "$p round $r: iperf3 -P $n failed: $(jq -r '.error // empty' <<<"$json" 2>/dev/null | head -c 200)"
        record "l4_${tag}_gbps" "$p" "$r" NA
        check_worker "$p" "round $r, bulk -P $n"
        return
    fi
    # A respawned worker would make the CPU figure meaningless.
    check_worker "$p" "round $r, bulk -P $n" || { record "l4_${tag}_gbps" "$p" "$r" NA; return; }
    gbps=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { print b * 8 / s / 1e9 }')
    cpu=$(awk -v d="$((t1 - t0))" -v hz="$HZ" 'BEGIN { print d / hz }')
    record "l4_${tag}_gbps" "$p" "$r" "$gbps"
    record "l4_${tag}_cpu_per_gb" "$p" "$r" "$(awk -v c="$cpu" -v b="$bytes" 'BEGIN { print c / (b / 1e9) }')"
    record "l4_${tag}_cpu_util" "$p" "$r" "$(awk -v c="$cpu" -v s="$secs" 'BEGIN { print 100 * c / s }')"
    record "l4_${tag}_client_busy" "$p" "$r" "$(core_busy "$c0" "$c1")"
    log "  $p round $r: bulk -P $n $(fmt "$gbps") Gbit/s, proxy cpu $(fmt "$cpu") s"
}

# wrk latency value (e.g. 850.00us, 1.23ms, 2.00s) -> ms
to_ms() { awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) print v * 0.001; else if (v ~ /ms$/) print v + 0;
    else if (v ~ /m$/) print v * 60000; else print v * 1000 }'; }

# wrk_measure PREFIX PROXY ROUND URL [WRK OPTION...]: one wrk run of DURATION
# against the running proxy; records PREFIX_rps, PREFIX_p99_ms,
# PREFIX_cpu_us_per_req (worker utime+stime / requests), PREFIX_rps_cpu_util,
# PREFIX_rps_client_busy and PREFIX_rps_proxy_other (how busy the proxy's
# core was beyond the worker's own time: softirq, and other processes that
# run there although nothing else is pinned to it).  Sets WRK_REQS (requests completed, 0 on
# failure).  Returns 1 when the run gave no usable figure.
wrk_measure() {
    local pre=$1 p=$2 r=$3 url=$4 t0 t1 c0 c1 k0 k1 out rps reqs p99 errs cpu
    shift 4
    WRK_REQS=0
    c0=$(core_stat "$CLIENT_CPU")
    k0=$(core_stat "$PROXY_CPU")
    t0=$(cpu_ticks "$WORKER")
    out=$(on_client timeout -k 5 $((DURATION + 30)) wrk -t1 -c"$WRK_CONNS" -d"${DURATION}s" --latency \
        "$@" "$url" 2>&1)
    local rc=$?
    ((rc != 124 && rc != 137)) || note "$p round $r: wrk stalled: killed after $((DURATION + 30)) s"
    t1=$(cpu_ticks "$WORKER")
    k1=$(core_stat "$PROXY_CPU")
    c1=$(core_stat "$CLIENT_CPU")
    echo "$out" >"$W/wrk-$pre-$p-$r.txt"
    check_worker "$p" "round $r, wrk $pre" || { record "${pre}_rps" "$p" "$r" NA; return 1; }
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errs=$(sed -n 's/.*Socket errors: //p; s/.*Non-2xx or 3xx responses: \(.*\)/non-2xx \1/p' <<<"$out" | tr '\n' ' ')
    [ -z "$errs" ] || note "$p round $r: wrk $pre errors: $errs"
    if [ -z "$rps" ] || [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
        note "$p round $r: wrk $pre failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        record "${pre}_rps" "$p" "$r" NA
        return 1
    fi
    WRK_REQS=$reqs
    cpu=$(awk -v d="$((t1 - t0))" -v hz="$HZ" 'BEGIN { print d / hz }')
    record "${pre}_rps" "$p" "$r" "$rps"
    [ -z "$p99" ] || record "${pre}_p99_ms" "$p" "$r" "$(to_ms "$p99")"
    record "${pre}_cpu_us_per_req" "$p" "$r" "$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { print c * 1e6 / n }')"
    record "${pre}_rps_cpu_util" "$p" "$r" "$(awk -v c="$cpu" -v s="$DURATION" 'BEGIN { print 100 * c / s }')"
    record "${pre}_rps_client_busy" "$p" "$r" "$(core_busy "$c0" "$c1")"
    record "${pre}_rps_proxy_other" "$p" "$r" "$(awk -v b="$(core_busy "$k0" "$k1")" -v c="$cpu" \
        -v s="$DURATION" 'BEGIN { o = b - 100 * c / s; print o < 0 ? 0 : o }')"
    log "  $p round $r: wrk $pre $(fmt "$rps") req/s, p99 $p99, proxy cpu $(fmt "$cpu") s"
}

l4_rps() { wrk_measure l4 "$1" "$2" "http://127.0.0.1:$RPS_PORT/"; }

l4_round() {
    local p=$1 r=$2
    proxy_start l4 "$p" "$BULK_PORT" "$RPS_PORT" "$IDLE_PORT"
    l4_bulk "$p" "$r" 1 bulk1
    [ "$PARALLEL" -gt 0 ] && l4_bulk "$p" "$r" "$PARALLEL" bulkN
    l4_rps "$p" "$r"
    proxy_stop "$p"
}

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
pss_kb() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
established() { [ "$(ss -Htn state established "sport = :$ECHO_PORT" | wc -l)" -ge "$1" ]; }
held_line() { grep -q '^held=' "$1"; }

# Idle: hold IDLE_CONNS connections client -> proxy -> echo, compare the
# worker's memory before and after they are all established.  Connections
# are opened in batches of IDLE_BATCH (below the listen backlog, 511): a burst
# of 5,000 connects overflows the accept queue, and with SYN cookies a client
# whose final ACK was dropped believes it is connected while the server never
# sees it (an idle client never retransmits), so the count would be off.
l4_idle() {
    local p=$1 r=$2 rss0 pss0 fd0 slab0 rss1 pss1 fd1 slab1 n=$IDLE_CONNS
    local b=0 want got held=0 closed=0 h out hpids=() ok=1
    proxy_start l4 "$p" "$BULK_PORT" "$RPS_PORT" "$IDLE_PORT"
    sleep 0.5
    rss0=$(rss_kb "$WORKER") pss0=$(pss_kb "$WORKER") fd0=$(nfds "$WORKER") slab0=$(slab_kb)
    record l4_base_rss_kb "$p" "$r" "$rss0"
    while ((held < n)); do
        want=$((n - held < IDLE_BATCH ? n - held : IDLE_BATCH))
        out="$W/hold-$b.out"
        : >"$out"
        taskset -c "$CLIENT_CPU" "$HELPERS/tcpclient" -p "$IDLE_PORT" -H "$want" -T 20000 >"$out" 2>&1 &
        hpids+=($!)
        track $!
        if ! wait_until 30 held_line "$out"; then
            note "$p round $r: tcpclient -H $want did not finish connecting in 30 s"; ok=0; break
        fi
        got=$(sed -n 's/^held=\([0-9]*\).*/\1/p' "$out")
        held=$((held + ${got:-0}))
        if [ "${got:-0}" -ne "$want" ]; then
            note "$p round $r: tcpclient held ${got:-0} of $want: $(head -n1 "$out")"; ok=0; break
        fi
        if ! wait_until 30 established "$held"; then
            note "$p round $r: only $(ss -Htn state established "sport = :$ECHO_PORT" | wc -l) of $held connections reached the backend in 30 s"
            ok=0; break
        fi
        b=$((b + 1))
    done
    sleep 1 # let the worker finish its bookkeeping before we read memory
    check_worker "$p" "round $r, idle hold" || ok=0
    rss1=$(rss_kb "$WORKER") pss1=$(pss_kb "$WORKER") fd1=$(nfds "$WORKER") slab1=$(slab_kb)
    for h in "${hpids[@]}"; do stop_pid "$h"; done
    for ((h = 0; h < b; h++)); do
        got=$(sed -n 's/^closed=//p' "$W/hold-$h.out")
        closed=$((closed + ${got:-0}))
    done
    [ "$closed" = 0 ] || note "$p round $r: the proxy closed $closed idle connections during the hold"
    if ((ok && held > 0)); then
        record l4_idle_rss_kb "$p" "$r" "$(awk -v a="$rss0" -v b="$rss1" -v n="$held" 'BEGIN { print (b - a) / n }')"
        [ -z "$pss0" ] || record l4_idle_pss_kb "$p" "$r" "$(awk -v a="$pss0" -v b="$pss1" -v n="$held" 'BEGIN { print (b - a) / n }')"
        record l4_idle_fds "$p" "$r" "$(awk -v a="$fd0" -v b="$fd1" -v n="$held" 'BEGIN { print (b - a) / n }')"
        record l4_idle_slab_kb "$p" "$r" "$(awk -v a="$slab0" -v b="$slab1" -v n="$held" 'BEGIN { print (b - a) / n }')"
    else
        record l4_idle_rss_kb "$p" "$r" NA
    fi
    log "  $p round $r: $held idle conns, worker RSS $rss0 -> $rss1 KiB, PSS $pss0 -> $pss1 KiB, fds $fd0 -> $fd1"
    proxy_stop "$p"
    # Let the closed connections leave the echo backend before the next round.
    wait_until 30 eval '[ "$(ss -Htn state established "sport = :$ECHO_PORT" | wc -l)" -eq 0 ]' ||
        note "connections to the echo backend linger after $p round $r"
}

# order ROUND: ABBA - fulcrum first in odd rounds, nginx first in even ones.
order() { if (($1 % 2)); then echo "fulcrum nginx"; else echo "nginx fulcrum"; fi; }

section_l4() {
    start_backends
    ports BULK_PORT RPS_PORT IDLE_PORT
    local p r
    for p in $PROXIES; do write_conf l4 "$p"; done
    check_same_config l4 || return 0
    log "== L4: $ROUNDS rounds x (iperf3 -P 1, -P $PARALLEL, wrk -c $WRK_CONNS) x ${DURATION}s"
    for ((r = 1; r <= ROUNDS; r++)); do
        for p in $(order "$r"); do l4_round "$p" "$r"; done
    done
    log "== L4 idle: $IDLE_ROUNDS rounds x $IDLE_CONNS connections"
    for ((r = 1; r <= IDLE_ROUNDS; r++)); do
        for p in $(order "$r"); do l4_idle "$p" "$r"; done
    done
    # The next section's clients share their core: leave it nothing running.
    for p in "${L4_BACKENDS[@]}"; do stop_pid "$p"; done
    L4_BACKENDS=()
}

# ------------------------------------------------------------------ L7 section

# Three wrk tests per round, all to the okd backend through one server{}:
#   ka      keep-alive clients, location / (upstream keepalive 32, HTTP/1.1)
#   close   "Connection: close": a new client connection per request, location /
#   nopool  keep-alive clients, location /nopool/ (no pool: nginx's defaults,
#           a new upstream connection per request)
L7_TESTS="ka close nopool"
declare -A L7_NAME=([ka]="keep-alive, pool" [close]="new conn per request" [nopool]="keep-alive, no pool")
declare -A L7_RPS_TARGET=([ka]=">=1.2" [close]=">=1.1" [nopool]=">=1.2")
for t in $L7_TESTS; do
    metric "l7_${t}_rps"            higher "req/s"      "L7 ${L7_NAME[$t]}" "${L7_RPS_TARGET[$t]}"
    metric "l7_${t}_p99_ms"         lower  ms           "L7 ${L7_NAME[$t]}, p99" "<=1.0"
    metric "l7_${t}_cpu_us_per_req" lower  "cpu us/req" "L7 ${L7_NAME[$t]}, proxy CPU" "<=0.8"
    metric "l7_${t}_rps_cpu_util"   info   "%"          "L7 ${L7_NAME[$t]}, proxy CPU busy"
    metric "l7_${t}_rps_client_busy" info  "%"          "L7 ${L7_NAME[$t]}, client core busy"
    metric "l7_${t}_rps_proxy_other" info  "%"          "L7 ${L7_NAME[$t]}, proxy core, not worker"
    metric "l7_${t}_upconn_per_req" info   "conn/req"   "L7 ${L7_NAME[$t]}, upstream connects"
done
unset t

# start_okd: build scripts/bench/okd.c into the work directory and run it
# on CLIENT_CPU (once, for the l7 and reload sections); write and check
# l7.conf.  Returns 1 when a proxy rejects the config (section skipped).
L7_READY=
start_okd() {
    [ -z "$L7_READY" ] || { [ "$L7_READY" = yes ]; return; }
    L7_READY=no
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -Werror -o "$W/okd" "$TOP/scripts/bench/okd.c" \
        >"$W/okd-build.log" 2>&1 || die "cannot build okd: $(head -n 5 "$W/okd-build.log")"
    ports OKD_PORT
    proxy_ports L7_PORT
    taskset -c "$CLIENT_CPU" "$W/okd" -p "$OKD_PORT" 2>"$W/okd.log" &
    track $!
    wait_until 5 listening "$OKD_PORT" || die "okd did not start: $(cat "$W/okd.log")"
    local p
    for p in $PROXIES; do
        use_ports "$p" L7_PORT
        write_conf l7 "$p"
    done
    check_same_config l7 || return 1
    L7_READY=yes
}

# okd_stats: "CONNS REQS" from the backend's counters (bash's /dev/tcp, so
# nothing but bash is needed; this connection itself counts as one).
okd_stats() {
    local fd out
    exec {fd}<>"/dev/tcp/127.0.0.1/$OKD_PORT" || { echo "NA NA"; return; }
    printf 'GET /okd-stats HTTP/1.1\r\nHost: okd\r\nConnection: close\r\n\r\n' >&"$fd"
    out=$(timeout 5 cat <&"$fd")
    exec {fd}>&-
    out=$(sed -n 's/^conns=\([0-9]*\) reqs=\([0-9]*\).*/\1 \2/p' <<<"$out")
    echo "${out:-NA NA}"
}

# l7_test PROXY ROUND TEST: one wrk run, plus what the backend saw.
l7_test() {
    local p=$1 r=$2 t=$3 url="http://127.0.0.1:$L7_PORT/" s0 s1 conns reqs opts=()
    [ "$t" = nopool ] && url+="nopool/"
    [ "$t" = close ] && opts=(-H "Connection: close")
    s0=$(okd_stats)
    wrk_measure "l7_$t" "$p" "$r" "$url" "${opts[@]}" || return
    s1=$(okd_stats)
    read -r conns reqs < <(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " ");
        if (x[1] == "NA" || y[1] == "NA") print "NA NA"; else print y[1] - x[1] - 1, y[2] - x[2] }')
    [ "$conns" = NA ] && { note "$p round $r: okd stats unreadable"; return; }
    record "l7_${t}_upconn_per_req" "$p" "$r" "$(awk -v c="$conns" -v n="$reqs" 'BEGIN { print n ? c / n : "NA" }')"
    # Every request wrk counted must have reached the backend (a few more
    # may have been in flight when wrk stopped).
    ((reqs >= WRK_REQS)) ||
        note "$p round $r: $t: wrk completed $WRK_REQS requests, the backend answered only $reqs"
}

# A round runs each test with both proxies back to back (ABBA order across
# rounds), each on a freshly started proxy: the two runs whose ratio is taken
# are DURATION apart, not a whole round, which matters on a shared machine.
section_l7() {
    start_okd || return 0
    local p r t
    log "== L7: $ROUNDS rounds x (wrk -c $WRK_CONNS: $L7_TESTS) x ${DURATION}s"
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in $L7_TESTS; do
            for p in $(order "$r"); do
                use_ports "$p" L7_PORT
                proxy_start l7 "$p" "$L7_PORT"
                l7_test "$p" "$r" "$t"
                proxy_stop "$p"
            done
        done
    done
}

# ------------------------------------------------------------------ reload section

declare -A RELOAD_NAME=([ka]="keep-alive" [close]="Connection: close")
for t in ka close; do
    metric "reload_${t}_errors"  count errors   "reload, ${RELOAD_NAME[$t]}, socket errors" "fulcrum=0"
    metric "reload_${t}_non2xx"  count answers  "reload, ${RELOAD_NAME[$t]}, non-2xx" "fulcrum=0"
    metric "reload_${t}_reloads" count HUPs     "reload, ${RELOAD_NAME[$t]}, reloads done"
    metric "reload_${t}_reqs"    count requests "reload, ${RELOAD_NAME[$t]}, requests"
done
unset t

# new_worker MASTER SEEN: a child of MASTER not in the list SEEN, if any.
new_worker() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        [[ " $2 " == *" $c "* ]] || { echo "$c"; return 0; }
    done
    return 1
}

# reload_run PROXY ROUND MODE(ka|close): wrk on location / while the master
# gets RELOADS SIGHUPs, each sent once the previous one has started a new
# worker (or 5 s passed) and RELOAD_INTERVAL more; then wrk is stopped
# (SIGINT: it prints its totals) a second after the last new worker.
reload_run() {
    local p=$1 r=$2 mode=$3 opts=() wpid i seen nw='' done=0 out errs non2xx reqs
    [ "$mode" = close ] && opts=(-H "Connection: close")
    use_ports "$p" L7_PORT
    proxy_start l7 "$p" "$L7_PORT"
    taskset -c "$CLIENT_CPU" wrk -t1 -c"$WRK_CONNS" -d"$((RELOADS * 10 + 30))s" "${opts[@]}" \
        "http://127.0.0.1:$L7_PORT/" >"$W/reload-$mode-$p-$r.txt" 2>&1 &
    wpid=$!
    track "$wpid"
    sleep 1
    seen=$(pgrep -P "$MASTER" | tr '\n' ' ')
    for ((i = 1; i <= RELOADS; i++)); do
        kill -HUP "$MASTER" 2>/dev/null || { note "$p: master gone during reload $i"; break; }
        if wait_until 5 eval 'nw=$(new_worker "$MASTER" "$seen")'; then
            done=$((done + 1))
            seen+=" $nw"
        else
            note "$p round $r: reload $i ($mode) started no new worker in 5 s"
        fi
        sleep "$RELOAD_INTERVAL"
    done
    sleep 1
    kill -INT "$wpid" 2>/dev/null
    wait_until 10 eval '! kill -0 "$wpid" 2>/dev/null' || { note "$p: wrk ignored SIGINT"; kill -KILL "$wpid"; }
    wait "$wpid" 2>/dev/null
    untrack "$wpid"
    out=$(cat "$W/reload-$mode-$p-$r.txt")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    errs=$(sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' <<<"$out" |
        awk '{ print $1 + $2 + $3 + $4 }')
    non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: \([0-9]*\).*/\1/p' <<<"$out")
    if [ -z "$reqs" ]; then
        note "$p round $r: reload wrk ($mode) printed no totals: $(tail -n 2 <<<"$out" | tr '\n' ' ')"
    else
        record "reload_${mode}_reqs" "$p" "$r" "$reqs"
        record "reload_${mode}_errors" "$p" "$r" "${errs:-0}"
        record "reload_${mode}_non2xx" "$p" "$r" "${non2xx:-0}"
        record "reload_${mode}_reloads" "$p" "$r" "$done"
        log "  $p round $r: $done reloads under wrk $mode: $reqs requests, ${errs:-0} socket errors, ${non2xx:-0} non-2xx"
    fi
    WORKER=${nw:-$WORKER} # the newest worker, for proxy_stop's check
    proxy_stop "$p"
}

section_reload() {
    start_okd || return 0
    local p r
    log "== reload: $RELOAD_ROUNDS rounds x (wrk keep-alive, Connection: close) x $RELOADS SIGHUPs"
    local mode
    for ((r = 1; r <= RELOAD_ROUNDS; r++)); do
        for mode in ka close; do
            for p in $(order "$r"); do reload_run "$p" "$r" "$mode"; done
        done
    done
}

# ------------------------------------------------------------------ TLS section

# Four wrk tests per round, each on a freshly started proxy (tls.conf):
#   hs_ec     new connection per request (Connection: close), ECDSA P-256
#   hs_rsa    new connection per request, RSA 2048
#   ka        keep-alive requests over TLS, answered by the proxy (return 200)
#   ka_proxy  keep-alive requests over TLS, proxied to okd (keep-alive pool)
# The handshake servers have no session cache and no tickets: every
# connection is a full handshake (TLS 1.3, X25519), whatever wrk offers.
TLS_TESTS="hs_ec hs_rsa ka ka_proxy"
declare -A TLS_NAME=([hs_ec]="TLS handshakes, ECDSA P-256" [hs_rsa]="TLS handshakes, RSA 2048"
    [ka]="TLS keep-alive, return 200" [ka_proxy]="TLS keep-alive, proxied")
declare -A TLS_UNIT=([hs_ec]="handshakes/s" [hs_rsa]="handshakes/s" [ka]="req/s" [ka_proxy]="req/s")
for t in $TLS_TESTS; do
    metric "tls_${t}_rps"             higher "${TLS_UNIT[$t]}" "${TLS_NAME[$t]}" ">=1.0"
    metric "tls_${t}_p99_ms"          lower  ms           "${TLS_NAME[$t]}, p99"
    metric "tls_${t}_cpu_us_per_req"  lower  "cpu us/req" "${TLS_NAME[$t]}, proxy CPU" "<=1.0"
    metric "tls_${t}_rps_cpu_util"    info   "%"          "${TLS_NAME[$t]}, proxy CPU busy"
    metric "tls_${t}_rps_client_busy" info   "%"          "${TLS_NAME[$t]}, client core busy"
    metric "tls_${t}_rps_proxy_other" info   "%"          "${TLS_NAME[$t]}, proxy core, not worker"
done
unset t

# tls_certs: an ECDSA P-256 and an RSA 2048 self-signed pair in $W.
tls_certs() {
    command -v openssl >/dev/null 2>&1 || die "the tls section needs the openssl binary"
    # shellcheck disable=SC2034 # @TLS_DIR@ in tls.conf
    TLS_DIR=$W
    openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 2 \
        -subj /CN=bench.test -keyout "$W/tls-ec.key" -out "$W/tls-ec.crt" >"$W/tls-certs.log" 2>&1 &&
        openssl req -x509 -nodes -newkey rsa:2048 -days 2 -subj /CN=bench.test \
            -keyout "$W/tls-rsa.key" -out "$W/tls-rsa.crt" >>"$W/tls-certs.log" 2>&1 ||
        die "openssl could not make the bench certificates: $(tail -n 3 "$W/tls-certs.log")"
}

tls_test() {
    local p=$1 r=$2 t=$3 url opts=()
    case $t in
    hs_ec) url="https://127.0.0.1:$TLS_EC_PORT/" opts=(-H "Connection: close") ;;
    hs_rsa) url="https://127.0.0.1:$TLS_RSA_PORT/" opts=(-H "Connection: close") ;;
    ka) url="https://127.0.0.1:$TLS_KA_PORT/" ;;
    ka_proxy) url="https://127.0.0.1:$TLS_KA_PORT/proxy/" ;;
    esac
    wrk_measure "tls_$t" "$p" "$r" "$url" "${opts[@]}"
}

section_tls() {
    start_okd || return 0
    tls_certs
    proxy_ports TLS_EC_PORT TLS_RSA_PORT TLS_KA_PORT
    local p r t
    for p in $PROXIES; do
        use_ports "$p" TLS_EC_PORT TLS_RSA_PORT TLS_KA_PORT
        write_conf tls "$p"
    done
    check_same_config tls || return 0
    log "== TLS: $ROUNDS rounds x (wrk -c $WRK_CONNS: $TLS_TESTS) x ${DURATION}s"
    for ((r = 1; r <= ROUNDS; r++)); do
        for t in $TLS_TESTS; do
            for p in $(order "$r"); do
                use_ports "$p" TLS_EC_PORT TLS_RSA_PORT TLS_KA_PORT
                proxy_start tls "$p" "$TLS_EC_PORT" "$TLS_RSA_PORT" "$TLS_KA_PORT"
                tls_test "$p" "$r" "$t"
                proxy_stop "$p"
            done
        done
    done
}

# ------------------------------------------------------------------ gzip section

# Two wrk tests per round (gzip.conf), clients sending "Accept-Encoding: gzip"
# for a 100 KB text/plain response from reflect through a keep-alive pool:
#   l1   gzip_comp_level 1
#   l6   gzip_comp_level 6
# Before each run one response is fetched and checked: gzip'ed, and gunzip
# gives the GZIP_SIZE bytes back (a proxy that does not compress is not
# measured: its figures would compare nothing).
GZIP_TESTS="l1 l6"
GZIP_SIZE=102400
declare -A GZIP_NAME=([l1]="gzip level 1, 100 KB text" [l6]="gzip level 6, 100 KB text")
for t in $GZIP_TESTS; do
    metric "gzip_${t}_rps"             higher "req/s"      "${GZIP_NAME[$t]}"
    metric "gzip_${t}_mbps"            higher "MB/s"       "${GZIP_NAME[$t]}, before compression"
    metric "gzip_${t}_p99_ms"          lower  ms           "${GZIP_NAME[$t]}, p99"
    metric "gzip_${t}_cpu_us_per_req"  lower  "cpu us/req" "${GZIP_NAME[$t]}, proxy CPU"
    metric "gzip_${t}_rps_cpu_util"    info   "%"          "${GZIP_NAME[$t]}, proxy CPU busy"
    metric "gzip_${t}_rps_client_busy" info   "%"          "${GZIP_NAME[$t]}, client core busy"
    metric "gzip_${t}_rps_proxy_other" info   "%"          "${GZIP_NAME[$t]}, proxy core, not worker"
    metric "gzip_${t}_ratio"           info   "x"          "${GZIP_NAME[$t]}, size / gzip'ed size"
done
unset t

# gzip_check PROXY ROUND TEST URL: one response, checked; records its ratio.
gzip_check() {
    local p=$1 r=$2 t=$3 url=$4 enc zsize plain
    curl -q -s --max-time 10 -H "Accept-Encoding: gzip" -D "$W/gzip-$p.head" \
        -o "$W/gzip-$p.body" "$url"
    enc=$(tr -d '\r' <"$W/gzip-$p.head" | sed -n 's/^[Cc]ontent-[Ee]ncoding: *//p')
    zsize=$(wc -c <"$W/gzip-$p.body")
    plain=$(gzip -dc <"$W/gzip-$p.body" 2>/dev/null | wc -c)
    if [ "$enc" != gzip ] || [ "$plain" != "$GZIP_SIZE" ]; then
        note "$p round $r: $t: the response is not a gzip of $GZIP_SIZE bytes (Content-Encoding: ${enc:-none}, $zsize bytes, $plain after gunzip): not measured"
        record "gzip_${t}_rps" "$p" "$r" NA
        FAILED+=("gzip: $p round $r: $t: no gzip response to measure")
        return 1
    fi
    record "gzip_${t}_ratio" "$p" "$r" "$(awk -v a="$GZIP_SIZE" -v b="$zsize" 'BEGIN { print a / b }')"
}

gzip_test() {
    local p=$1 r=$2 t=$3 url="http://127.0.0.1:$GZIP_PORT/$3/text?size=$GZIP_SIZE" rps
    gzip_check "$p" "$r" "$t" "$url" || return
    wrk_measure "gzip_$t" "$p" "$r" "$url" -H "Accept-Encoding: gzip" || return
    rps=$(awk -v m="gzip_${t}_rps" -v p="$p" -v r="$r" '$1 == m && $2 == p && $3 == r { v = $4 }
        END { print v }' "$W/results")
    record "gzip_${t}_mbps" "$p" "$r" "$(awk -v n="$rps" -v b="$GZIP_SIZE" 'BEGIN { print n * b / 1e6 }')"
}

section_gzip() {
    command -v gzip >/dev/null 2>&1 || die "the gzip section needs gzip(1)"
    ports GZIP_REFLECT_PORT GZIP_PORT
    taskset -c "$CLIENT_CPU" "$HELPERS/reflect" -p "$GZIP_REFLECT_PORT" -l /dev/null \
        2>"$W/gzip-reflect.log" &
    local back=$! p r t
    track "$back"
    wait_until 5 listening "$GZIP_REFLECT_PORT" || die "reflect (gzip section) did not start"
    for p in $PROXIES; do write_conf gzip "$p"; done
    if check_same_config gzip; then
        log "== gzip: $ROUNDS rounds x (wrk -c $WRK_CONNS: $GZIP_TESTS) x ${DURATION}s"
        for ((r = 1; r <= ROUNDS; r++)); do
            for t in $GZIP_TESTS; do
                for p in $(order "$r"); do
                    proxy_start gzip "$p" "$GZIP_PORT"
                    gzip_test "$p" "$r" "$t"
                    proxy_stop "$p"
                done
            done
        done
    else
        FAILED+=("gzip: a proxy rejects scripts/bench/gzip.conf (see the anomalies)")
    fi
    stop_pid "$back"
}

# ------------------------------------------------------------------ cache section

metric cache_hit_rps             higher "req/s"      "cache hit, one hot key" ">=1.2"
metric cache_hit_p99_ms          lower  ms           "cache hit, one hot key, p99"
metric cache_hit_cpu_us_per_req  lower  "cpu us/req" "cache hit, one hot key, proxy CPU" "<=0.8"
metric cache_hit_rps_cpu_util    info   "%"          "cache hit, one hot key, proxy CPU busy"
metric cache_hit_rps_client_busy info   "%"          "cache hit, one hot key, client core busy"
metric cache_hit_rps_proxy_other info   "%"          "cache hit, one hot key, proxy core, not worker"
metric cache_hit_upstream_reqs   info   requests     "cache hit, requests that reached okd"

# cache_test PROXY ROUND: warm the key (a MISS), check it is now a HIT, then wrk.
cache_test() {
    local p=$1 r=$2 url="http://127.0.0.1:$CACHE_PORT/hot" st s0 s1 reqs
    curl -q -s --max-time 10 -o /dev/null "$url"
    st=$(curl -q -s --max-time 10 -D - -o /dev/null "$url" | tr -d '\r' |
        sed -n 's/^[Xx]-[Cc]ache: *//p')
    if [ "$st" != HIT ]; then
        note "$p round $r: the hot key is not served from the cache (X-Cache: ${st:-none}): not measured"
        record cache_hit_rps "$p" "$r" NA
        FAILED+=("cache: $p round $r: the hot key was not a cache HIT")
        return
    fi
    s0=$(okd_stats)
    wrk_measure cache_hit "$p" "$r" "$url" || return
    s1=$(okd_stats)
    reqs=$(awk -v a="$s0" -v b="$s1" 'BEGIN { split(a, x, " "); split(b, y, " ");
        print (x[2] == "NA" || y[2] == "NA") ? "NA" : y[2] - x[2] }')
    record cache_hit_upstream_reqs "$p" "$r" "$reqs"
    [ "$reqs" = 0 ] || note "$p round $r: $reqs requests reached okd during the cache-hit run"
}

section_cache() {
    start_okd || return 0
    ports CACHE_PORT
    # shellcheck disable=SC2034 # @CACHE_DIR@ in cache.conf
    CACHE_DIR=$W/cache
    # nginx's workers run as nobody: they must get through $W to the cache
    # folder (which the master creates for them).
    chmod 711 "$W"
    local p r
    for p in $PROXIES; do write_conf cache "$p"; done
    if ! check_same_config cache; then
        FAILED+=("cache: a proxy rejects scripts/bench/cache.conf (see the anomalies): no cache-hit figures")
        return 0
    fi
    log "== cache: $ROUNDS rounds x wrk -c $WRK_CONNS on one hot key x ${DURATION}s"
    for ((r = 1; r <= ROUNDS; r++)); do
        for p in $(order "$r"); do
            rm -rf "$CACHE_DIR" # each proxy starts cold, with its own file format
            proxy_start cache "$p" "$CACHE_PORT"
            cache_test "$p" "$r"
            proxy_stop "$p"
        done
    done
}

# A later section NAME adds: scripts/bench/NAME.conf (its @PLACEHOLDERS@
# are shell variables), metric lines, section_NAME(), and NAME in
# ALL_SECTIONS.

# ------------------------------------------------------------------ main

main() {
    (($#)) && SECTIONS="$*"
    [ "$SECTIONS" = all ] && SECTIONS=$ALL_SECTIONS
    local s
    for s in $SECTIONS; do
        declare -F "section_$s" >/dev/null || die "unknown section $s (known: $ALL_SECTIONS, all)"
    done
    install_deps
    build_fulcrum
    check_tools
    ulimit -n "$(ulimit -Hn)" 2>/dev/null
    # Each proxied connection is two connections in the worker (client and
    # upstream) and may hold a splice pipe per direction.
    # shellcheck disable=SC2034 # @WORKER_CONNECTIONS@ in the configs
    WORKER_CONNECTIONS=$((2 * IDLE_CONNS + 1024))
    # Ask for 4 per connection but no more than the hard limit: without
    # CAP_SYS_RESOURCE (containers) setrlimit above it fails, even as root.
    NOFILE=$((4 * IDLE_CONNS + 4096))
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || ((NOFILE <= hard)) || NOFILE=$hard
    ((NOFILE >= 2 * IDLE_CONNS + 100)) ||
        die "open files hard limit $hard is too low for IDLE_CONNS=$IDLE_CONNS"

    W=$(mktemp -d "${TMPDIR:-/tmp}/fulcrum-bench.XXXXXX") || die "mktemp"
    trap cleanup EXIT
    trap 'exit 130' INT TERM

    local started=$SECONDS load0
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    local tree="external binary"
    [ "$FC_BIN" != "$TOP/objs/fulcrum" ] ||
        tree="tree $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
    echo "$("$FC_BIN" -v 2>&1 | head -n1) ($FC_BIN, $tree)"
    echo "$("$NGINX_BIN" -v 2>&1 | head -n1) ($NGINX_BIN)"
    echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r)"
    echo "proxy on CPU $PROXY_CPU, clients and backends on CPU $CLIENT_CPU; rounds=$ROUNDS duration=${DURATION}s"
    [ "$FC_BIN" = "$TOP/objs/fulcrum" ] || ! is_nginx "$FC_BIN" ||
        echo "SANITY RUN: the fulcrum column is $FC_BIN (ratios should be ~1.0)"
    echo "sections: $SECTIONS"
    for s in $SECTIONS; do "section_$s"; done
    report
    echo "(total $((SECONDS - started)) s; load average at start: $load0, at end: $(cut -d' ' -f1-3 /proc/loadavg))"
    if ((${#FAILED[@]})); then
        printf 'bench: FAILED: %s\n' "${FAILED[@]}" >&2
        return 1
    fi
}

# One line, read whole before it runs: editing this file during a run
# cannot make bash read a changed remainder afterwards.
main "$@"; exit

#!/bin/bash
# scripts/bench.sh - fulcrum against Debian's nginx, same config, same backends.
#
# Puts objs/fulcrum and /usr/sbin/nginx in turn in front of the same backends
# (iperf3 server, t/helpers reflect and echo), with the same config text
# (scripts/bench/l4.conf; only the binary, the pid/log paths and nginx's
# load_module line differ), one worker each.  The proxy runs alone on
# PROXY_CPU, clients and backends on CLIENT_CPU.  Many short interleaved
# rounds (fulcrum, nginx, nginx, fulcrum, ...); prints medians per proxy and
# the median of the per-round ratios fulcrum/nginx, then a machine-friendly
# block "metric fulcrum nginx ratio".  See docs/benchmarks.md.
#
# Environment (defaults in brackets):
#   ROUNDS [7]          rounds of the throughput/request-rate tests
#   DURATION [5]        seconds per test in a round
#   IDLE_ROUNDS [3]     rounds of the idle-connection memory test
#   IDLE_CONNS [5000]   idle connections held through the proxy
#   IDLE_BATCH [500]    ... opened this many at a time (below the backlog)
#   WRK_CONNS [50]      wrk keep-alive connections
#   PARALLEL [4]        iperf3 -P for the multi-stream test (0: skip it)
#   IPERF_OPTS []       extra iperf3 client options (e.g. -Z)
#   PROXY_CPU [0]  CLIENT_CPU [1]
#   SECTIONS [l4]       sections to run (only l4 exists yet)
#   FC_BIN [objs/fulcrum]  NGINX_BIN [/usr/sbin/nginx]
#   NGINX_STREAM_MODULE [/usr/lib/nginx/modules/ngx_stream_module.so]
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
SECTIONS=${SECTIONS:-l4}
FC_BIN=${FC_BIN:-$TOP/objs/fulcrum}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
NGINX_STREAM_MODULE=${NGINX_STREAM_MODULE:-/usr/lib/nginx/modules/ngx_stream_module.so}
HELPERS=${FC_HELPERS:-$TOP/objs/helpers}
PROXIES="fulcrum nginx"

W=                # work directory
PIDS=()           # every process we started, stopped by the exit trap
ANOMALIES=()      # anything odd seen during the run, printed at the end
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
    for cmd in wrk iperf3 jq taskset ss; do
        command -v "$cmd" >/dev/null 2>&1 && continue
        case $cmd in
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
build_fulcrum() {
    [ -z "${NO_BUILD:-}" ] || return 0
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

start_backends() {
    ports IPERF_PORT REFLECT_PORT ECHO_PORT
    taskset -c "$CLIENT_CPU" iperf3 -s -p "$IPERF_PORT" >"$W/iperf3-server.log" 2>&1 &
    track $!
    taskset -c "$CLIENT_CPU" "$HELPERS/reflect" -p "$REFLECT_PORT" -l /dev/null 2>"$W/reflect.log" &
    track $!
    taskset -c "$CLIENT_CPU" "$HELPERS/echo" -p "$ECHO_PORT" -l /dev/null 2>"$W/echo.log" &
    track $!
    local p
    for p in "$IPERF_PORT" "$REFLECT_PORT" "$ECHO_PORT"; do
        wait_until 5 listening "$p" || die "backend on port $p did not start"
    done
}

# ------------------------------------------------------------------ proxies

# write_conf SECTION PROXY: $W/PROXY-SECTION.conf from scripts/bench/SECTION.conf.
write_conf() {
    local load=
    [ "$2" = nginx ] && load="load_module $NGINX_STREAM_MODULE;"
    sed -e '/^#/d' -e "s|@LOAD_MODULE@|$load|" \
        -e "s|@PID@|$W/$2.pid|" \
        -e "s|@ERROR_LOG@|$W/$2-error.log|" \
        -e "s|@NOFILE@|$NOFILE|" \
        -e "s|@WORKER_CONNECTIONS@|$WORKER_CONNECTIONS|" \
        -e "s|@IPERF_PORT@|$IPERF_PORT|" \
        -e "s|@REFLECT_PORT@|$REFLECT_PORT|" \
        -e "s|@ECHO_PORT@|$ECHO_PORT|" \
        -e "s|@BULK_PORT@|$BULK_PORT|" \
        -e "s|@RPS_PORT@|$RPS_PORT|" \
        -e "s|@IDLE_PORT@|$IDLE_PORT|" \
        "$TOP/scripts/bench/$1.conf" >"$W/$2-$1.conf"
    if grep -q '@[A-Z_]*@' "$W/$2-$1.conf"; then die "unfilled placeholder in $W/$2-$1.conf"; fi
}

bin_of() { if [ "$1" = fulcrum ]; then echo "$FC_BIN"; else echo "$NGINX_BIN"; fi; }

# The config text, without the lines allowed to differ, must be identical.
check_same_config() {
    local a b
    a=$(grep -v -e '^load_module' -e '^pid ' -e '^error_log ' -e '^$' "$W/fulcrum-$1.conf")
    b=$(grep -v -e '^load_module' -e '^pid ' -e '^error_log ' -e '^$' "$W/nginx-$1.conf")
    [ "$a" = "$b" ] || die "configs differ beyond binary/pid/log/load_module"
    local p
    for p in $PROXIES; do
        "$(bin_of "$p")" -p "$W/" -c "$W/$p-$1.conf" -t >"$W/$p-$1.t" 2>&1 ||
            die "$p -t failed: $(cat "$W/$p-$1.t")"
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
declare -A M_LABEL M_UNIT M_BETTER
# metric NAME BETTER(higher|lower|info) UNIT LABEL
metric() { METRICS+=("$1"); M_BETTER[$1]=$2; M_UNIT[$1]=$3; M_LABEL[$1]=$4; }

# median of stdin numbers (NA ignored), "NA" when none.
median() {
    grep -v '^NA$' | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "NA";
              else if (NR % 2) print v[(NR + 1) / 2];
              else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

values() { awk -v m="$1" -v p="$2" '$1 == m && $2 == p { print $4 }' "$W/results"; }

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
    local m f n r lo hi
    printf '\n%-48s %10s %10s %8s %15s  %s\n' "metric ($ROUNDS rounds; idle: $IDLE_ROUNDS)" \
        fulcrum nginx ratio "ratio min..max" better
    printf '%s\n' "----------------------------------------------------------------------------------------------"
    : >"$W/summary"
    for m in "${METRICS[@]}"; do
        grep -q "^$m " "$W/results" 2>/dev/null || continue
        f=$(values "$m" fulcrum | median)
        n=$(values "$m" nginx | median)
        r=$(ratios "$m" | median)
        lo=$(ratios "$m" | sort -g | head -n1)
        hi=$(ratios "$m" | sort -g | tail -n1)
        printf '%-48s %10s %10s %8s %15s  %s\n' "${M_LABEL[$m]} (${M_UNIT[$m]})" \
            "$(fmt "$f")" "$(fmt "$n")" "$(fmt "$r")" "$(fmt "${lo:-NA}")..$(fmt "${hi:-NA}")" \
            "${M_BETTER[$m]}"
        echo "$m $(fmt "$f") $(fmt "$n") $(fmt "$r")" >>"$W/summary"
    done
    echo
    echo "ratio = median over rounds of (fulcrum / nginx) in the same round; values are medians."
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

metric l4_bulk1_gbps        higher Gbit/s  "L4 bulk, 1 stream"
metric l4_bulk1_cpu_per_gb  lower  "cpu s/GB"  "L4 bulk, 1 stream, proxy CPU"
metric l4_bulk1_cpu_util    info   "%"    "L4 bulk, 1 stream, proxy CPU busy"
metric l4_bulk1_client_busy info   "%"    "L4 bulk, 1 stream, client core busy"
metric l4_bulkN_gbps        higher Gbit/s  "L4 bulk, -P N streams"
metric l4_bulkN_cpu_per_gb  lower  "cpu s/GB"  "L4 bulk, -P N, proxy CPU"
metric l4_bulkN_cpu_util    info   "%"    "L4 bulk, -P N, proxy CPU busy"
metric l4_bulkN_client_busy info   "%"    "L4 bulk, -P N, client core busy"
metric l4_rps               higher "req/s"  "L4 small requests"
metric l4_p99_ms            lower  ms     "L4 small requests, p99"
metric l4_cpu_us_per_req    lower  "cpu us/req"  "L4 small requests, proxy CPU"
metric l4_rps_cpu_util      info   "%"    "L4 small requests, proxy CPU busy"
metric l4_rps_client_busy   info   "%"    "L4 small requests, client core busy"
metric l4_idle_rss_kb       lower  "KiB/conn"  "L4 idle conn, worker RSS"
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

l4_rps() {
    local p=$1 r=$2 t0 t1 c0 c1 out rps reqs p99 errs cpu
    c0=$(core_stat "$CLIENT_CPU")
    t0=$(cpu_ticks "$WORKER")
    out=$(on_client timeout -k 5 $((DURATION + 30)) wrk -t1 -c"$WRK_CONNS" -d"${DURATION}s" --latency \
        "http://127.0.0.1:$RPS_PORT/" 2>&1)
    local rc=$?
    ((rc != 124 && rc != 137)) || note "$p round $r: wrk stalled: killed after $((DURATION + 30)) s"
    t1=$(cpu_ticks "$WORKER")
    c1=$(core_stat "$CLIENT_CPU")
    echo "$out" >"$W/wrk-$p-$r.txt"
    check_worker "$p" "round $r, wrk" || { record l4_rps "$p" "$r" NA; return; }
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
    errs=$(sed -n 's/.*Socket errors: //p; s/.*Non-2xx or 3xx responses: \(.*\)/non-2xx \1/p' <<<"$out" | tr '\n' ' ')
    [ -z "$errs" ] || note "$p round $r: wrk errors: $errs"
    if [ -z "$rps" ] || [ -z "$reqs" ] || [ "$reqs" = 0 ]; then
        note "$p round $r: wrk failed: $(tail -n 3 <<<"$out" | tr '\n' ' ')"
        record l4_rps "$p" "$r" NA
        return
    fi
    cpu=$(awk -v d="$((t1 - t0))" -v hz="$HZ" 'BEGIN { print d / hz }')
    record l4_rps "$p" "$r" "$rps"
    [ -z "$p99" ] || record l4_p99_ms "$p" "$r" "$(to_ms "$p99")"
    record l4_cpu_us_per_req "$p" "$r" "$(awk -v c="$cpu" -v n="$reqs" 'BEGIN { print c * 1e6 / n }')"
    record l4_rps_cpu_util "$p" "$r" "$(awk -v c="$cpu" -v s="$DURATION" 'BEGIN { print 100 * c / s }')"
    record l4_rps_client_busy "$p" "$r" "$(core_busy "$c0" "$c1")"
    log "  $p round $r: wrk $(fmt "$rps") req/s, p99 $p99, proxy cpu $(fmt "$cpu") s"
}

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
    ports BULK_PORT RPS_PORT IDLE_PORT
    local p r
    for p in $PROXIES; do write_conf l4 "$p"; done
    check_same_config l4
    log "== L4: $ROUNDS rounds x (iperf3 -P 1, -P $PARALLEL, wrk -c $WRK_CONNS) x ${DURATION}s"
    for ((r = 1; r <= ROUNDS; r++)); do
        for p in $(order "$r"); do l4_round "$p" "$r"; done
    done
    log "== L4 idle: $IDLE_ROUNDS rounds x $IDLE_CONNS connections"
    for ((r = 1; r <= IDLE_ROUNDS; r++)); do
        for p in $(order "$r"); do l4_idle "$p" "$r"; done
    done
}

# Later sections (L7 http, TLS) add: a config scripts/bench/SECTION.conf, the
# placeholders it needs in write_conf, metric lines, and section_SECTION().

# ------------------------------------------------------------------ main

main() {
    install_deps
    build_fulcrum
    check_tools
    ulimit -n "$(ulimit -Hn)" 2>/dev/null
    # Each proxied connection is two connections in the worker (client and
    # upstream) and may hold a splice pipe per direction.
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
    start_backends

    local started=$SECONDS s load0
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    local tree="external binary"
    [ "$FC_BIN" != "$TOP/objs/fulcrum" ] ||
        tree="tree $(git -C "$TOP" describe --always --dirty 2>/dev/null || echo '?')"
    echo "$("$FC_BIN" -v 2>&1 | head -n1) ($FC_BIN, $tree)"
    echo "$("$NGINX_BIN" -v 2>&1 | head -n1) ($NGINX_BIN)"
    echo "$(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), kernel $(uname -r)"
    echo "proxy on CPU $PROXY_CPU, clients and backends on CPU $CLIENT_CPU; rounds=$ROUNDS duration=${DURATION}s"
    for s in $SECTIONS; do
        declare -F "section_$s" >/dev/null || die "unknown section $s"
        "section_$s"
    done
    report
    echo "(total $((SECONDS - started)) s; load average at start: $load0, at end: $(cut -d' ' -f1-3 /proc/loadavg))"
}

main "$@"

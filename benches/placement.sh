#!/bin/bash
# Where the scheduler puts the four threads of an unpinned tcp 16 B throughput run
# (local_thr / remote_thr, one process each, one I/O thread each), and what it costs.
#
#   benches/placement.sh [runs] [count]      (defaults: 8 20000000)
#
# Build first: cargo build --release -p isomq-benches (with CARGO_TARGET_DIR if set).
# Every 20 ms it reads, from /proc/<pid>/task/*/stat (field 39, no process forked so as not
# to disturb the run), the CPU each thread last ran on, as four digits: receiver
# application thread, receiver I/O thread, sender application thread, sender I/O thread.
# "1100" and "0011" are the placement the pinned rows of the compare table force (each
# side's two threads together on a core of their own); the script prints, per run, the
# throughput, the share of samples in that placement, and the most frequent others.
set -euo pipefail
shopt -s nullglob
runs=${1:-8}
count=${2:-20000000}
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../target}/release

# The CPU thread `name` of process `pid` last ran on, or nothing.
cpu_of() {
    local t s
    for t in /proc/"$1"/task/*; do
        # The thread may have ended since the glob.
        { s=$(<"$t/stat"); } 2>/dev/null || continue
        [[ $s == *"($2)"* ]] || continue
        s=${s##*) }
        # shellcheck disable=SC2086 # split into fields on purpose
        set -- $s
        printf '%s' "${37}"
        return
    done
}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for run in $(seq 1 "$runs"); do
    mkfifo "$dir/bound.$run"
    "$bin/local_thr" 'tcp://127.0.0.1:*' 16 "$count" >"$dir/recv.out" 2>"$dir/bound.$run" &
    receiver=$!
    exec 3<"$dir/bound.$run"
    endpoint=
    while read -r word value <&3; do
        if [ "$word" = bound ]; then
            endpoint=$value
            break
        fi
    done
    "$bin/remote_thr" "$endpoint" 16 "$count" >/dev/null &
    sender=$!
    declare -A seen=()
    total=0
    while [ -d "/proc/$receiver/task" ]; do
        p="$(cpu_of $receiver local_thr)$(cpu_of $receiver isomq-io-0)"
        p="$p$(cpu_of $sender remote_thr)$(cpu_of $sender isomq-io-0)"
        if [ ${#p} = 4 ]; then
            seen[$p]=$((${seen[$p]:-0} + 1))
            total=$((total + 1))
        fi
        sleep 0.02
    done
    wait "$sender" || true
    wait "$receiver" || true
    exec 3<&-
    thr=$(grep -oE '[0-9]+ \[msg/s\]' "$dir/recv.out" | cut -d' ' -f1)
    apart=$((${seen[1100]:-0} + ${seen[0011]:-0}))
    others=$(for k in "${!seen[@]}"; do echo "${seen[$k]} $k"; done | sort -rn |
        grep -vE ' (1100|0011)$' | head -n 3 | awk '{printf "%s×%s ", $2, $1}')
    echo "run $run: ${thr:-?} msg/s; sides apart in $apart of $total samples; others: $others"
    unset seen
done

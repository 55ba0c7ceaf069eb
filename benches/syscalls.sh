#!/bin/sh
# Syscalls per message at saturation, on each side of a PUSH -> PULL throughput run
# (local_thr / remote_thr, one process each).
#
#   benches/syscalls.sh [ws|tcp|ipc] [size] [count]     (defaults: ws 16 1000000)
#
# ISOMQ_IO_THREADS=0 runs both sides with inline I/O (default: one I/O thread each).
# Build first: cargo build --release -p isomq-benches (with CARGO_TARGET_DIR if set).
#
# Counted by `perf stat -e raw_syscalls:sys_enter` (every thread, no slow-down) where perf
# can read that tracepoint, by `strace -f -c` otherwise (COUNTER=strace forces it). strace
# slows every syscall, which lets more messages pile up between calls, so its counts are, if
# anything, lower. Counts include each process's start-up and handshake (a few hundred
# calls), which is noise beside a million messages.
set -eu
transport=${1:-ws}
size=${2:-16}
count=${3:-1000000}
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../target}/release
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
case $transport in
ws) bind='ws://127.0.0.1:*/syscalls' ;;
tcp) bind='tcp://127.0.0.1:*' ;;
ipc) bind="ipc://$dir/syscalls" ;;
*) echo "transport: ws, tcp or ipc" >&2; exit 1 ;;
esac
counter=${COUNTER:-perf}
if [ "$counter" = perf ] && ! perf stat -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null; then
    counter=strace
fi
# count <side> <command...>: runs the command with the counter writing to $dir/<side>.txt.
count() {
    side=$1
    shift
    if [ "$counter" = perf ]; then
        perf stat -x, -e raw_syscalls:sys_enter -o "$dir/$side.txt" "$@"
    else
        strace -f -c -o "$dir/$side.txt" "$@"
    fi
}
total() {
    if [ "$counter" = perf ]; then
        awk -F, '$3 == "raw_syscalls:sys_enter" { print $1 }' "$1"
    else
        awk '$NF == "total" { print $4 }' "$1"
    fi
}
calls() { awk -v s="$2" '$NF == s { print $4 }' "$1"; }
mkfifo "$dir/bound"
# The receiver reports the endpoint it got on stderr ("bound <endpoint>"), read from a fifo
# that stays open (fd 3) so that its later writes do not fail.
count recv "$bin/local_thr" "$bind" "$size" "$count" >"$dir/recv.out" 2>"$dir/bound" &
receiver=$!
exec 3<"$dir/bound"
endpoint=
while read -r word ep <&3; do
    if [ "$word" = bound ]; then endpoint=$ep; break; fi
done
[ -n "$endpoint" ] || { echo "the receiver did not bind" >&2; exit 1; }
count send "$bin/remote_thr" "$endpoint" "$size" "$count" >/dev/null
wait "$receiver"
exec 3<&-
echo "$transport, $size B x $count messages, counted by $counter, ISOMQ_IO_THREADS=${ISOMQ_IO_THREADS:-1}"
grep 'mean throughput' "$dir/recv.out" | head -1
for side in send recv; do
    t=$(total "$dir/$side.txt")
    printf '%s: %s syscalls, %s per message;' "$side" "$t" \
        "$(echo "$t $count" | awk '{ printf "%.4f", $1 / $2 }')"
    if [ "$counter" = strace ]; then
        for s in read write writev recvfrom sendto epoll_wait futex; do
            n=$(calls "$dir/$side.txt" "$s")
            [ -n "$n" ] && printf ' %s %s' "$s" "$n"
        done
    fi
    echo
done

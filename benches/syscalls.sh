#!/bin/sh
# Syscalls per message at saturation, on each side of a PUSH -> PULL throughput run
# (local_thr / remote_thr, one process each), counted by `strace -f -c` (every thread).
#
#   benches/syscalls.sh [ws|tcp] [size] [count]     (defaults: ws 16 1000000)
#
# Build first: cargo build --release -p isomq-benches (with CARGO_TARGET_DIR if set).
# Counts include each process's start-up and handshake (a few hundred calls), which is
# noise beside a million messages. strace slows every syscall, which lets more messages pile
# up between calls, so these counts are, if anything, lower than without it.
set -eu
transport=${1:-ws}
size=${2:-16}
count=${3:-1000000}
bin=${CARGO_TARGET_DIR:-$(dirname "$0")/../target}/release
case $transport in
ws) bind='ws://127.0.0.1:*/syscalls' ;;
tcp) bind='tcp://127.0.0.1:*' ;;
*) echo "transport: ws or tcp" >&2; exit 1 ;;
esac
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/bound"
# The receiver reports the port it got on stderr ("bound <endpoint>"), read from a fifo
# that stays open (fd 3) so that its later writes do not fail.
strace -f -c -o "$dir/recv.txt" "$bin/local_thr" "$bind" "$size" "$count" \
    >"$dir/recv.out" 2>"$dir/bound" &
receiver=$!
exec 3<"$dir/bound"
endpoint=
while read -r word ep <&3; do
    if [ "$word" = bound ]; then endpoint=$ep; break; fi
done
[ -n "$endpoint" ] || { echo "the receiver did not bind" >&2; exit 1; }
strace -f -c -o "$dir/send.txt" "$bin/remote_thr" "$endpoint" "$size" "$count" >/dev/null
wait "$receiver"
exec 3<&-
total() { awk '$NF == "total" { print $4 }' "$1"; }
calls() { awk -v s="$2" '$NF == s { print $4 }' "$1"; }
echo "$transport, $size B x $count messages"
grep 'mean throughput' "$dir/recv.out" | head -1
for side in send recv; do
    t=$(total "$dir/$side.txt")
    printf '%s: %s syscalls, %s per message;' "$side" "$t" \
        "$(echo "$t $count" | awk '{ printf "%.4f", $1 / $2 }')"
    for s in read write writev recvfrom sendto epoll_wait futex; do
        n=$(calls "$dir/$side.txt" "$s")
        [ -n "$n" ] && printf ' %s %s' "$s" "$n"
    done
    echo
done

# Shared helpers for the scripts in this folder. Sourced, not run.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Prints a header that makes each step easy to find in a long CI log.
section() {
    printf '\n==== %s ====\n' "$*"
}

# Stops the script with a one-line verdict.
fail() {
    printf '\nFAILED: %s\n' "$*" >&2
    exit 1
}

# Runs a step by name. Failures are left to `set -e` (running the step under `||` would turn
# errexit off inside it); the EXIT trap then names the step that failed, so a CI log says
# what broke without scrolling back through compiler output.
CURRENT_STEP=""
report_failed_step() {
    local rc=$?
    if [ "$rc" -ne 0 ] && [ -n "$CURRENT_STEP" ]; then
        printf '\nFAILED (exit %s): %s\n' "$rc" "$CURRENT_STEP" >&2
    fi
}
trap report_failed_step EXIT

step() {
    CURRENT_STEP="$1"
    shift
    section "$CURRENT_STEP"
    "$@"
    CURRENT_STEP=""
}

# apt-get needs root; machines of this kind run as root, a developer laptop may have sudo.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "need root to run: $*" >&2
        return 1
    fi
}

# Installs the Debian packages that are missing, and nothing when all are present, so a
# set-up machine pays one `dpkg -s` per package instead of an apt round trip.
apt_install() {
    local missing=()
    local pkg
    for pkg in "$@"; do
        if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    echo "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
}

# npm ci is skipped while the installed tree matches the lock file (npm keeps a copy of the
# lock in node_modules/.package-lock.json).
npm_ci() {
    local dir="$1"
    if ! command -v npm >/dev/null 2>&1; then
        apt_install nodejs npm
    fi
    if [ -f "$dir/node_modules/.package-lock.json" ] &&
        [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        echo "$dir/node_modules up to date"
        return 0
    fi
    (cd "$dir" && npm ci --no-audit --no-fund)
}

# Runs a command that executes tests under a time limit, so that a test that hangs (a child
# process left running, a peer that never answers) fails its step with a clear message instead
# of stalling the whole run. `timeout` signals the command's whole process group, so the
# test's own children go too. Builds run outside these limits: their time depends on the
# machine's caches, a test's time does not.
bounded() {
    local seconds="$1"
    shift
    local rc=0
    timeout --kill-after=10 "$seconds" "$@" || rc=$?
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        printf '\nTIMED OUT after %ss: %s\n' "$seconds" "$*" >&2
    fi
    return "$rc"
}

# Which toolchain builds for wasm32-unknown-unknown: "rustup" when rustup has the target or
# can add it, else "debian" (Debian's rustc-web, building std with -Zbuild-std, in
# target/wasm). ISOMQ_WASM_ROUTE=rustup|debian forces one (to check each on one machine).
wasm_route() {
    local target=wasm32-unknown-unknown
    if [ -n "${ISOMQ_WASM_ROUTE:-}" ]; then
        echo "$ISOMQ_WASM_ROUTE"
    elif command -v rustup >/dev/null 2>&1 &&
        rustup target list --installed 2>/dev/null | grep -qx "$target"; then
        echo rustup
    elif command -v rustup >/dev/null 2>&1 && timeout 180 rustup target add "$target" >&2; then
        echo rustup
    else
        echo "rustup cannot provide $target here; using Debian's rustc-web toolchain" >&2
        echo debian
    fi
}

# Runs a cargo subcommand for wasm32-unknown-unknown on the route `wasm_route` chose,
# installing the Debian toolchain for the debian route:
# `wasm_cargo ROUTE build --release -p X` (the target options go right after the
# subcommand, so that arguments after `--` stay last). The debian route builds in
# target/wasm, so that the two compilers never fight over one target dir's fingerprints.
wasm_cargo() {
    local route="$1" sub="$2"
    shift 2
    case "$route" in
    rustup)
        echo "wasm route: rustup target wasm32-unknown-unknown"
        cargo "$sub" --target wasm32-unknown-unknown "$@"
        ;;
    debian)
        echo "wasm route: Debian rustc-web + -Zbuild-std"
        apt_install rustc-web cargo-web rust-web-src lld-16
        if [ "$sub" = clippy ]; then
            apt_install rust-web-clippy
        fi
        # RUSTC pinned too: a caller running under rustup may export its own.
        env -u RUSTUP_TOOLCHAIN PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
            CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-16 \
            /usr/bin/cargo "$sub" --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort \
            --target-dir target/wasm "$@"
        ;;
    *)
        echo "unknown ISOMQ_WASM_ROUTE=$route (want rustup or debian)" >&2
        return 2
        ;;
    esac
}

# Shared by .ci/serve and .ci/test: locate the repo, pick the cargo target
# directory (cached outside the clone), and install what is missing.
# Every step checks first, so a warm machine skips straight to building.

set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/preqstation-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
SITE_ROOT="$ROOT/target/site"
BIN="$CARGO_TARGET_DIR/debug/preqstation"

step() { printf '\n==> %s\n' "$*"; }

# The cached target directory keeps every test binary cargo ever built (about
# 600 MB each); when the disk runs low, drop the large artifacts and
# incremental state not touched in the last hour (cargo rebuilds what it needs).
prune_target_if_disk_low() {
    local avail_kb
    avail_kb="$(df --output=avail -k "$(dirname "$CARGO_TARGET_DIR")" 2>/dev/null | tail -1 | tr -d ' ')"
    if [ -n "$avail_kb" ] && [ "$avail_kb" -lt $((15 * 1024 * 1024)) ] && [ -d "$CARGO_TARGET_DIR" ]; then
        step "Less than 15 GB free: pruning stale artifacts in $CARGO_TARGET_DIR"
        find "$CARGO_TARGET_DIR" -path '*/deps/*' -type f -size +50M -mmin +60 -delete 2>/dev/null || true
        find "$CARGO_TARGET_DIR" -path '*/incremental/*' -mindepth 1 -maxdepth 3 -type d -mmin +60 \
            -prune -exec rm -rf {} + 2>/dev/null || true
    fi
}

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

ensure_wasm_target() {
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        step "Installing the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown
    fi
}

# wasm-bindgen-cli must be exactly the version in Cargo.lock.
ensure_wasm_bindgen() {
    local want
    want="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
    if ! command -v wasm-bindgen >/dev/null || [ "$(wasm-bindgen --version | awk '{print $2}')" != "$want" ]; then
        step "Installing wasm-bindgen-cli $want (a few minutes, once)"
        cargo install --quiet wasm-bindgen-cli --version "$want"
    fi
}

ensure_npm_packages() {
    if ! command -v npm >/dev/null; then
        step "Installing Node.js and npm"
        apt_install nodejs npm
    fi
    if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/playwright ] \
        || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        step "Installing npm packages (Tailwind CSS, Playwright)"
        # `npm install`, not `npm ci`: npm 11 calls the lock file out of sync
        # over optional per-platform packages (tailwind oxide) and refuses.
        npm install --no-audit --no-fund --loglevel=error
    fi
}

# Builds the browser side into target/site/pkg: the wasm (wasm-bindgen,
# --target web) and the Tailwind stylesheet.
build_site() {
    local profile="${1:-debug}"
    step "Building the browser bundle ($profile)"
    if [ "$profile" = release ]; then
        cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
        profile=wasm-release
    else
        cargo build -p frontend --lib --target wasm32-unknown-unknown
    fi
    mkdir -p "$SITE_ROOT/pkg"
    wasm-bindgen --target web --no-typescript --out-dir "$SITE_ROOT/pkg" --out-name preqstation \
        "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$profile/frontend.wasm"
    # Leptos asks for preqstation_bg.wasm unless LEPTOS_OUTPUT_NAME was set at
    # compile time (cargo-leptos does that); serve both names.
    cp "$SITE_ROOT/pkg/preqstation_bg.wasm" "$SITE_ROOT/pkg/preqstation.wasm"
    node_modules/.bin/tailwindcss -i style/tailwind.css -o "$SITE_ROOT/pkg/preqstation.css" --minify 2>/dev/null
}

export_site_env() {
    export LEPTOS_OUTPUT_NAME=preqstation
    export LEPTOS_SITE_ROOT="$SITE_ROOT"
    export LEPTOS_SITE_PKG_DIR=pkg
}

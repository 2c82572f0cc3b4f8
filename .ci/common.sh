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

# Release builds, server and wasm alike, type-erase Leptos component views
# (`--cfg erase_components`, as cargo-leptos does for its dev builds): it cuts
# the monomorphised view code, the bundle's largest part, by about a quarter.
# Both sides must agree (a client built with it does not hydrate a server
# built without). Debug builds, which the tests use, leave it off.
RELEASE_CFG="--cfg erase_components"
build_server_release() {
    RUSTFLAGS="${RUSTFLAGS:-} $RELEASE_CFG" cargo build -p server --release
}

# The cached target directory keeps every test binary cargo ever built (about
# 600 MB each); when the disk runs low, drop the large artifacts and
# incremental state not touched in the last hour (cargo rebuilds what it needs).
prune_target_if_disk_low() {
    local avail_kb
    # On a new machine the cache directory does not exist yet: make it, so
    # df has something to measure (a failing df would end the run here,
    # under `set -e`, with no message).
    mkdir -p "$(dirname "$CARGO_TARGET_DIR")"
    avail_kb="$(df --output=avail -k "$(dirname "$CARGO_TARGET_DIR")" 2>/dev/null | tail -1 | tr -d ' ' || true)"
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
        || [ ! -x node_modules/.bin/wasm-opt ] || [ ! -d node_modules/@axe-core/playwright ] \
        || [ package-lock.json -nt node_modules/.package-lock.json ]; then
        step "Installing npm packages (Tailwind CSS, Binaryen, Playwright, axe-core)"
        # `npm install`, not `npm ci`: npm 11 calls the lock file out of sync
        # over optional per-platform packages (tailwind oxide) and refuses.
        npm install --no-audit --no-fund --loglevel=error
    fi
}

# Builds the browser side into target/site/pkg: the wasm (wasm-bindgen,
# --target web) and the Tailwind stylesheet, named preqstation.<hash>.* by
# their content so the server can let browsers cache them for good
# (app/src/web/assets.rs); $SITE_ROOT/bundle.txt names the current set.
# Release builds are also shrunk by wasm-opt (which drops the name section,
# most of the unoptimised file) and precompressed (.br, .gz); debug builds,
# which the tests use, skip both to stay quick.
build_site() {
    local profile="${1:-debug}" pkg="$SITE_ROOT/pkg" cargo_profile=debug stage hash name f
    step "Building the browser bundle ($profile)"
    if [ "$profile" = release ]; then
        cargo_profile=wasm-release
        RUSTFLAGS="${RUSTFLAGS:-} $RELEASE_CFG" \
            cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
    else
        cargo build -p frontend --lib --target wasm32-unknown-unknown
    fi
    stage="$(mktemp -d)"
    wasm-bindgen --target web --no-typescript --out-dir "$stage" --out-name preqstation \
        "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$cargo_profile/frontend.wasm"
    node_modules/.bin/tailwindcss -i style/tailwind.css -o "$stage/preqstation.css" --minify 2>/dev/null
    if [ "$profile" = release ]; then
        step "Optimising the wasm (wasm-opt -Oz)"
        node_modules/.bin/wasm-opt -Oz --strip-debug --strip-producers \
            "$stage/preqstation_bg.wasm" -o "$stage/preqstation_bg.wasm"
    fi
    # One hash over the three files: they come from the same sources and
    # change together, and one name is all the page needs to know.
    hash="$(cat "$stage/preqstation.js" "$stage/preqstation_bg.wasm" "$stage/preqstation.css" \
        | sha256sum | cut -c1-16)"
    name="preqstation.$hash"
    mkdir -p "$pkg"
    # Earlier builds' files would otherwise pile up. A server started before
    # this build still names the old files: restart it (`make run` does).
    rm -rf "$pkg"/preqstation.* "$pkg"/preqstation_bg.* "$pkg/snippets"
    mv "$stage/preqstation.js" "$pkg/$name.js"
    mv "$stage/preqstation_bg.wasm" "$pkg/${name}_bg.wasm"
    mv "$stage/preqstation.css" "$pkg/$name.css"
    # wasm-bindgen's JS snippets, if a dependency ever has some.
    cp -R "$stage"/. "$pkg"/
    rm -rf "$stage"
    if [ "$profile" = release ]; then
        step "Precompressing (brotli, gzip)"
        node .ci/precompress.mjs "$pkg/$name.js" "$pkg/${name}_bg.wasm" "$pkg/$name.css"
    fi
    # Leptos asks for <name>_bg.wasm unless LEPTOS_OUTPUT_NAME was set when
    # the server was compiled (cargo-leptos does that), then for <name>.wasm:
    # serve both names, as hard links (no second copy on disk).
    for f in "$pkg/${name}_bg.wasm"*; do
        ln -f "$f" "$pkg/$name.wasm${f#"$pkg/${name}_bg.wasm"}"
    done
    printf '%s\n' "$name" >"$SITE_ROOT/bundle.txt"
}

export_site_env() {
    export LEPTOS_OUTPUT_NAME=preqstation
    export LEPTOS_SITE_ROOT="$SITE_ROOT"
    export LEPTOS_SITE_PKG_DIR=pkg
}

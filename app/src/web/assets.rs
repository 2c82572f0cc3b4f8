//! The browser bundle under `/pkg`: the wasm, its JS glue and the
//! stylesheet that `build_site` (.ci/common.sh) writes into the site
//! directory under names that carry a content hash.
//!
//! A hashed name never changes content, so browsers may keep it for a year
//! without asking again (`immutable`): a second visit downloads none of it,
//! and a new build is picked up because the page (never cached) names new
//! files. Anything under `/pkg` without such a name is only revalidated.
//! Release builds also leave `.br` and `.gz` files beside each asset,
//! compressed once at build time, which `ServeDir` sends to browsers that
//! accept them, so no request pays for compression.

use std::path::Path;

use axum::{extract::Request, middleware, response::Response, Router};
use http::{header, HeaderValue, StatusCode};
use leptos::config::LeptosOptions;
use tower_http::services::ServeDir;

/// The file in the site root that names the current bundle
/// (`preqstation.<hash>`); `build_site` writes it after the assets.
pub const BUNDLE_FILE: &str = "bundle.txt";

/// Hex digits of the content hash in built file names.
const HASH_LEN: usize = 16;

/// For files whose name carries a content hash.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// For other files: may be stored, but asked about (`Last-Modified`) on
/// every use, since the same name may get new content with the next build.
const REVALIDATE: &str = "no-cache";
/// For errors: a missing file may exist after the next deploy.
const NO_STORE: &str = "no-store";

/// The output name of the bundle in `site_root`: `base.<hash>` as named by
/// [`BUNDLE_FILE`], or `base` itself (unhashed files, never `immutable`)
/// when the site was built without one, e.g. by cargo-leptos.
pub fn output_name(site_root: &str, base: &str) -> String {
    let path = Path::new(site_root).join(BUNDLE_FILE);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return base.to_string();
    };
    let name = text.trim();
    let valid = name
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(is_hash);
    if valid {
        name.to_string()
    } else {
        // The name ends up in the page's HTML and inline script: anything
        // but `base.<hex>` is refused rather than escaped.
        tracing::warn!(
            file = %path.display(),
            "ignoring a bundle name that is not `{base}.<{HASH_LEN} hex digits>`"
        );
        base.to_string()
    }
}

/// The router serving `<site_root>/<site_pkg_dir>` at `/<site_pkg_dir>`.
pub fn routes<S: Clone + Send + Sync + 'static>(options: &LeptosOptions) -> Router<S> {
    let pkg = options.site_pkg_dir.trim_matches('/');
    // The directory becomes a route: refuse what axum would read as route
    // syntax (or as the root, which it cannot nest at) instead of panicking.
    let routable = !pkg.is_empty()
        && pkg
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
    if !routable {
        tracing::warn!("site pkg dir {pkg:?} is not a plain path: /pkg is not served");
        return Router::new();
    }
    let dir = Path::new(options.site_root.as_ref()).join(pkg);
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .append_index_html_on_directories(false);
    Router::new()
        .nest_service(&format!("/{pkg}"), files)
        .layer(middleware::from_fn(cache_headers))
}

/// Sets `Cache-Control` on every `/pkg` response by the requested name,
/// and `Vary`, since the same URL is sent in different encodings.
async fn cache_headers(req: Request, next: middleware::Next) -> Response {
    let hashed = req.uri().path().rsplit('/').next().is_some_and(is_hashed);
    let mut res = next.run(req).await;
    let ok = res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED;
    let policy = match (ok, hashed) {
        (true, true) => IMMUTABLE,
        (true, false) => REVALIDATE,
        (false, _) => NO_STORE,
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    res
}

/// Whether a file name has a content hash between its stem and its
/// extension: `preqstation.<hash>.js`, `preqstation.<hash>_bg.wasm` (the
/// `_bg` name Leptos asks wasm-bindgen output by), or a `.br`/`.gz` of those.
fn is_hashed(file_name: &str) -> bool {
    let parts: Vec<&str> = file_name.split('.').collect();
    parts.len() >= 3
        && parts[1..parts.len() - 1]
            .iter()
            .any(|p| is_hash(p.strip_suffix("_bg").unwrap_or(p)))
}

fn is_hash(s: &str) -> bool {
    s.len() == HASH_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_content_hashed_names_count_as_hashed() {
        for name in [
            "preqstation.0123456789abcdef.js",
            "preqstation.0123456789abcdef_bg.wasm",
            "preqstation.0123456789abcdef.wasm",
            "preqstation.0123456789abcdef.css",
            "preqstation.0123456789abcdef.js.br",
        ] {
            assert!(is_hashed(name), "{name}");
        }
        for name in [
            "preqstation.js",
            "preqstation_bg.wasm",
            "preqstation.css",
            "0123456789abcdef.js",
            "preqstation.0123456789ABCDEF.js",
            "preqstation.0123456789abcde.js",
            "preqstation.0123456789abcdef",
            "",
        ] {
            assert!(!is_hashed(name), "{name}");
        }
    }

    #[test]
    fn the_bundle_name_comes_from_the_site_root_when_valid() {
        let dir = std::env::temp_dir().join(format!("preq-assets-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let root = dir.to_str().unwrap();
        assert_eq!(output_name(root, "preqstation"), "preqstation");
        std::fs::write(dir.join(BUNDLE_FILE), "preqstation.0123456789abcdef\n").unwrap();
        assert_eq!(
            output_name(root, "preqstation"),
            "preqstation.0123456789abcdef"
        );
        std::fs::write(dir.join(BUNDLE_FILE), "preqstation.x\"><script>").unwrap();
        assert_eq!(output_name(root, "preqstation"), "preqstation");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! The browser entry point: hydrates the server-rendered page.

// The optimised (`wasm-release`) build lays out the hydration futures of
// the whole nested view type here, deeper than rustc's default 128 (the
// audit page's table overflowed it); `app` raises its own limit likewise.
#![recursion_limit = "256"]

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
    // A marker for end-to-end tests (and curious humans): the page is live.
    if let Some(root) = leptos::prelude::document().document_element() {
        let _ = root.set_attribute("data-hydrated", "true");
    }
}

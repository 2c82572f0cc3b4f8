//! The browser side of passkeys: `navigator.credentials.create()` and
//! `.get()` with the server's options (JSON, binary fields in base64url), and
//! the answer back as JSON in the shape `webauthn-rs` reads. A few lines of
//! JavaScript (a wasm-bindgen snippet served from `/pkg`, allowed by the
//! CSP's `script-src 'self'`) do the conversions; the server checks
//! everything.

#[cfg(feature = "hydrate")]
mod js {
    use wasm_bindgen::prelude::*;

    #[wasm_bindgen(inline_js = r#"
function toBuf(s) {
  s = s.replace(/-/g, '+').replace(/_/g, '/');
  while (s.length % 4) s += '=';
  const b = atob(s);
  const u = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) u[i] = b.charCodeAt(i);
  return u.buffer;
}
function toB64(buf) {
  const u = new Uint8Array(buf);
  let s = '';
  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function clean(o) {
  if (Array.isArray(o)) return o.map(clean);
  if (o && typeof o === 'object' && !(o instanceof ArrayBuffer)) {
    const r = {};
    for (const k of Object.keys(o)) if (o[k] !== null && o[k] !== undefined) r[k] = clean(o[k]);
    return r;
  }
  return o;
}
function ids(list) {
  return (list || []).map((c) => Object.assign({}, c, { id: toBuf(c.id) }));
}
export async function passkeyCreate(json) {
  const o = clean(JSON.parse(json).publicKey);
  o.challenge = toBuf(o.challenge);
  o.user.id = toBuf(o.user.id);
  o.excludeCredentials = ids(o.excludeCredentials);
  const c = await navigator.credentials.create({ publicKey: o });
  return JSON.stringify({
    id: c.id, rawId: toB64(c.rawId), type: c.type,
    response: {
      attestationObject: toB64(c.response.attestationObject),
      clientDataJSON: toB64(c.response.clientDataJSON),
    },
    extensions: c.getClientExtensionResults(),
  });
}
export async function passkeyGet(json) {
  const o = clean(JSON.parse(json).publicKey);
  o.challenge = toBuf(o.challenge);
  o.allowCredentials = ids(o.allowCredentials);
  const c = await navigator.credentials.get({ publicKey: o });
  return JSON.stringify({
    id: c.id, rawId: toB64(c.rawId), type: c.type,
    response: {
      authenticatorData: toB64(c.response.authenticatorData),
      clientDataJSON: toB64(c.response.clientDataJSON),
      signature: toB64(c.response.signature),
      userHandle: c.response.userHandle ? toB64(c.response.userHandle) : null,
    },
    extensions: c.getClientExtensionResults(),
  });
}
"#)]
    extern "C" {
        #[wasm_bindgen(catch, js_name = passkeyCreate)]
        pub async fn passkey_create(json: String) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_name = passkeyGet)]
        pub async fn passkey_get(json: String) -> Result<JsValue, JsValue>;
    }

    pub fn text(v: Result<JsValue, JsValue>) -> Result<String, String> {
        match v {
            Ok(v) => v
                .as_string()
                .ok_or_else(|| "No answer from the browser.".into()),
            Err(e) => Err(js_sys::Reflect::get(&e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
                .unwrap_or_else(|| "The browser refused.".into())),
        }
    }
}

/// Asks the browser to create a passkey with `options` (the server's JSON).
pub async fn create(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::text(js::passkey_create(options).await)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err("Passkeys need the page's script.".into())
    }
}

/// Asks the browser to sign `options`' challenge with a passkey.
pub async fn get(options: String) -> Result<String, String> {
    #[cfg(feature = "hydrate")]
    {
        js::text(js::passkey_get(options).await)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = options;
        Err("Passkeys need the page's script.".into())
    }
}

//! The human-readable references the server serves, rendered on the server
//! (no JavaScript, no CDN): the API at `/docs/api`, from the same OpenAPI
//! document, and MCP and agent setup at `/docs/mcp`, with each host's
//! configuration for this server's public URL.

use axum::{extract::State, response::Html};
use serde_json::Value;

use crate::{html::escape as esc, state::AppState};

fn schema_name(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    v.get("type")
        .map(|t| t.to_string().replace('"', ""))
        .unwrap_or_default()
}

pub async fn page(State(state): State<AppState>) -> Html<String> {
    let doc = super::openapi::json();
    let mut body = String::new();
    let info = &doc["info"];
    body.push_str(&format!(
        "<h1 class=\"text-2xl font-semibold\">{}</h1><p class=\"mt-2 max-w-3xl text-sm text-slate-600\">{}</p>\
         <p class=\"mt-2 text-sm\"><a class=\"text-indigo-700 hover:underline\" href=\"/api/openapi.json\">OpenAPI 3.1 document</a></p>",
        esc(info["title"].as_str().unwrap_or("API")),
        esc(info["description"].as_str().unwrap_or(""))
    ));
    if let Some(paths) = doc["paths"].as_object() {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                let scopes = op["security"]
                    .as_array()
                    .and_then(|s| s.first())
                    .and_then(|s| s["bearer"].as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "any valid token".into());
                body.push_str(&format!(
                    "<section class=\"mt-8 rounded-lg border border-slate-200 bg-white p-5\">\
                     <h2 class=\"font-mono text-sm font-semibold\"><span class=\"rounded bg-indigo-100 px-1.5 py-0.5 text-indigo-800\">{}</span> {}</h2>\
                     <p class=\"mt-2 text-sm text-slate-700\">{}</p><p class=\"mt-1 text-xs text-slate-500\">Scope: {}</p>",
                    method.to_uppercase(),
                    esc(path),
                    esc(op["description"].as_str().or(op["summary"].as_str()).unwrap_or("")),
                    esc(&scopes)
                ));
                if let Some(params) = op["parameters"].as_array() {
                    body.push_str("<p class=\"mt-3 text-xs font-semibold uppercase text-slate-500\">Parameters</p><ul class=\"text-sm\">");
                    for p in params {
                        body.push_str(&format!(
                            "<li><code>{}</code> ({}) {}</li>",
                            esc(p["name"].as_str().unwrap_or("")),
                            esc(p["in"].as_str().unwrap_or("")),
                            esc(p["description"].as_str().unwrap_or(""))
                        ));
                    }
                    body.push_str("</ul>");
                }
                if let Some(schema) =
                    op["requestBody"]["content"]["application/json"]["schema"].as_object()
                {
                    body.push_str(&format!(
                        "<p class=\"mt-3 text-xs font-semibold uppercase text-slate-500\">Body</p><p class=\"text-sm\"><code>{}</code></p>",
                        esc(&schema_name(&Value::Object(schema.clone())))
                    ));
                }
                if let Some(responses) = op["responses"].as_object() {
                    body.push_str("<p class=\"mt-3 text-xs font-semibold uppercase text-slate-500\">Responses</p><ul class=\"text-sm\">");
                    for (status, r) in responses {
                        let schema = r["content"]["application/json"]["schema"].clone();
                        body.push_str(&format!(
                            "<li><code>{}</code> {} {}</li>",
                            esc(status),
                            esc(&schema_name(&schema)),
                            esc(r["description"].as_str().unwrap_or(""))
                        ));
                    }
                    body.push_str("</ul>");
                }
                body.push_str("</section>");
            }
        }
    }
    document(&state, "API reference", &body)
}

/// A reference page around `body`, with the dashboard's stylesheet (under
/// its content-hashed name).
fn document(state: &AppState, title: &str, body: &str) -> Html<String> {
    let stylesheet = format!(
        "/{}/{}.css",
        state.leptos.site_pkg_dir, state.leptos.output_name
    );
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Preqstation</title><link rel=\"stylesheet\" href=\"{}\"></head>\
         <body class=\"bg-slate-50 text-slate-900\"><main class=\"mx-auto max-w-4xl px-6 py-10\">{body}</main></body></html>",
        esc(title),
        esc(&stylesheet)
    ))
}

/// MCP and agent setup: each popular host's configuration for this server.
pub async fn mcp_page(State(state): State<AppState>) -> Html<String> {
    use crate::tokens::snippets;
    let url = state.config.public_url.as_str();
    let mut body = format!(
        "<h1 class=\"text-2xl font-semibold\">MCP and agent setup</h1>\
         <p class=\"mt-2 max-w-3xl text-sm text-slate-600\">Agents reach Preqstation over MCP at <code>{}/mcp</code> \
         (streamable HTTP) with an API key as the bearer token, or run <code>preqstation mcp</code> over stdio. \
         Create a key in <a class=\"text-indigo-700 hover:underline\" href=\"/settings/api-keys\">Settings &gt; API Keys</a> \
         and put it in the agent's environment as <code>PREQSTATION_TOKEN</code>; the configurations below read it \
         from there, so no file holds the secret. Hosts that accept only OAuth (Claude.ai) need no key: they \
         register and ask you to approve them. The tools and their scopes are in the \
         <a class=\"text-indigo-700 hover:underline\" href=\"/docs/api\">API reference</a>.</p>",
        esc(url.trim_end_matches('/'))
    );
    let blocks = [
        ("claude-code", "Claude Code, one line", "Run in the project (add <code>--scope user</code> for every project).", snippets::claude_code_add(url)),
        ("claude-code-json", "Claude Code, <code>.mcp.json</code>", "The project's shared file; Claude Code expands <code>${PREQSTATION_TOKEN}</code> from the environment.", snippets::claude_code_json(url)),
        ("codex", "Codex, <code>~/.codex/config.toml</code>", "Codex reads the bearer token only from the variable <code>bearer_token_env_var</code> names (it refuses a token written inline).", snippets::codex_toml(url)),
        ("vscode", "VS Code, <code>.vscode/mcp.json</code>", "VS Code asks for the token once and keeps it in its secret storage.", snippets::vscode_json(url)),
        ("stdio", "Any host, stdio", "Runs this server's own binary, <code>preqstation mcp</code>, which calls the API with the token.", snippets::stdio_env(url)),
    ];
    for (id, title, note, text) in blocks {
        body.push_str(&format!(
            "<section class=\"mt-8 rounded-lg border border-slate-200 bg-white p-5\" id=\"{id}\">\
             <h2 class=\"font-semibold\">{title}</h2><p class=\"mt-1 text-sm text-slate-600\">{note}</p>\
             <pre data-host=\"{id}\" class=\"mt-3 overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100\">{}</pre></section>",
            esc(&text)
        ));
    }
    document(&state, "MCP and agent setup", &body)
}

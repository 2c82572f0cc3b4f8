//! The ready-to-paste agent configuration: on the shown-once panel the
//! `export` lines, seed 000's `mcpServers` entry running this project's own
//! binary over stdio, and the remote variant pointing at `/mcp`; on the
//! setup page (`/docs/mcp`) each popular host's own form, with the token
//! read from `PREQSTATION_TOKEN` rather than written into a file.

use serde_json::json;

pub fn exports(api_url: &str, token: &str) -> String {
    format!("export PREQSTATION_API_URL={api_url}\nexport PREQSTATION_TOKEN={token}")
}

/// Seed 000's shape: `preqstation mcp` with the two variables.
pub fn mcp_stdio(api_url: &str, token: &str) -> String {
    pretty(json!({"mcpServers": {"preqstation": {
        "command": "preqstation",
        "args": ["mcp"],
        "env": {"PREQSTATION_API_URL": api_url, "PREQSTATION_TOKEN": token}
    }}}))
}

/// The same server reached over streamable HTTP, nothing to install.
pub fn mcp_remote(api_url: &str, token: &str) -> String {
    pretty(json!({"mcpServers": {"preqstation": {
        "type": "http",
        "url": format!("{}/mcp", api_url.trim_end_matches('/')),
        "headers": {"Authorization": format!("Bearer {token}")}
    }}}))
}

/// The MCP endpoint of a server whose public URL is `api_url`.
fn endpoint(api_url: &str) -> String {
    format!("{}/mcp", api_url.trim_end_matches('/'))
}

/// Claude Code's one line (remote, streamable HTTP).
pub fn claude_code_add(api_url: &str) -> String {
    format!(
        "claude mcp add --transport http preqstation {} \\\n  --header \"Authorization: Bearer $PREQSTATION_TOKEN\"",
        endpoint(api_url)
    )
}

/// Claude Code's project file `.mcp.json` (it expands `${VAR}`).
pub fn claude_code_json(api_url: &str) -> String {
    pretty(json!({"mcpServers": {"preqstation": {
        "type": "http",
        "url": endpoint(api_url),
        "headers": {"Authorization": "Bearer ${PREQSTATION_TOKEN}"}
    }}}))
}

/// Codex's `~/.codex/config.toml`: Codex takes the token only from an
/// environment variable it names.
pub fn codex_toml(api_url: &str) -> String {
    format!(
        "[mcp_servers.preqstation]\nurl = \"{}\"\nbearer_token_env_var = \"PREQSTATION_TOKEN\"",
        endpoint(api_url)
    )
}

/// VS Code's `.vscode/mcp.json` (`servers`), asking for the token once and
/// keeping it in its secret storage.
pub fn vscode_json(api_url: &str) -> String {
    pretty(json!({
        "inputs": [{
            "type": "promptString",
            "id": "preqstation-token",
            "description": "Preqstation API token",
            "password": true
        }],
        "servers": {"preqstation": {
            "type": "http",
            "url": endpoint(api_url),
            "headers": {"Authorization": "Bearer ${input:preqstation-token}"}
        }}
    }))
}

/// Any host that starts a local process: `preqstation mcp` over stdio,
/// with the token from the environment.
pub fn stdio_env(api_url: &str) -> String {
    pretty(json!({"mcpServers": {"preqstation": {
        "command": "preqstation",
        "args": ["mcp"],
        "env": {"PREQSTATION_API_URL": api_url, "PREQSTATION_TOKEN": "${PREQSTATION_TOKEN}"}
    }}}))
}

fn pretty(v: serde_json::Value) -> String {
    serde_json::to_string_pretty(&v).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_are_valid_config() {
        let stdio: serde_json::Value =
            serde_json::from_str(&mcp_stdio("https://t.example", "preq_x")).unwrap();
        let s = &stdio["mcpServers"]["preqstation"];
        assert_eq!(s["command"], "preqstation");
        assert_eq!(s["args"][0], "mcp");
        assert_eq!(s["env"]["PREQSTATION_API_URL"], "https://t.example");
        assert_eq!(s["env"]["PREQSTATION_TOKEN"], "preq_x");
        let remote: serde_json::Value =
            serde_json::from_str(&mcp_remote("https://t.example/", "preq_x")).unwrap();
        let r = &remote["mcpServers"]["preqstation"];
        assert_eq!(r["url"], "https://t.example/mcp");
        assert_eq!(r["headers"]["Authorization"], "Bearer preq_x");
        assert!(exports("u", "t").contains("export PREQSTATION_TOKEN=t"));
    }

    #[test]
    fn host_configs_name_the_endpoint_and_keep_the_token_in_the_environment() {
        let url = "https://t.example/";
        assert!(claude_code_add(url)
            .starts_with("claude mcp add --transport http preqstation https://t.example/mcp"));
        let claude: serde_json::Value = serde_json::from_str(&claude_code_json(url)).unwrap();
        assert_eq!(
            claude["mcpServers"]["preqstation"]["url"],
            "https://t.example/mcp"
        );
        let codex = codex_toml(url);
        assert!(codex.contains("[mcp_servers.preqstation]"));
        assert!(codex.contains("bearer_token_env_var = \"PREQSTATION_TOKEN\""));
        assert!(!codex.contains("preq_"));
        let vscode: serde_json::Value = serde_json::from_str(&vscode_json(url)).unwrap();
        assert_eq!(vscode["servers"]["preqstation"]["type"], "http");
        assert_eq!(vscode["inputs"][0]["password"], true);
        let stdio: serde_json::Value = serde_json::from_str(&stdio_env(url)).unwrap();
        assert_eq!(stdio["mcpServers"]["preqstation"]["args"][0], "mcp");
    }
}

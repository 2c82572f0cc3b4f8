//! The ready-to-paste agent configuration on the shown-once panel: the
//! `export` lines, seed 000's `mcpServers` entry running this project's own
//! binary over stdio, and the remote variant pointing at `/mcp`.

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
}

//! MCP, the agents' second door: the same operations as the REST API, as
//! MCP tools with the same scopes, errors and audit entries. [`tools`] is the
//! route-by-tool table built from the OpenAPI document, [`handler`] the
//! rmcp server over a backend that sends each call to its route, [`http`]
//! the `/mcp` endpoint (the stdio server, `preqstation mcp`, lives in the
//! binary and sends the same calls over HTTP).

pub mod handler;
pub mod http;
pub mod tools;

pub use handler::{Backend, McpServer, RestReply};

//! The MCP server itself (an rmcp `ServerHandler`): lists the tools the
//! token's scopes allow and turns a tool call into its route's request,
//! sent by a [`Backend`]. Errors the route answers come back as tool
//! results with `isError: true` and the route's own code and message.

use std::future::Future;

use rmcp::{
    model::{
        CacheScope, CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock,
        Implementation, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig,
        Tool as McpTool, ToolAnnotations,
    },
    service::RequestContext,
    ErrorData, RoleServer, ServerHandler,
};
use serde_json::{json, Value};

use super::tools::{self, RestCall, Tool};
use crate::tokens::{
    operation::{Denied, OUTSIDE_TASK},
    Scope,
};

/// The route's answer.
#[derive(Debug, Clone)]
pub struct RestReply {
    pub status: u16,
    pub body: Value,
}

/// Sends a tool's request to its route.
pub trait Backend: Send + Sync + 'static {
    /// The calling token's scopes and whether it is bound to a task (`None`:
    /// not authenticated, so no tools).
    fn grant(&self, ctx: &RequestContext<RoleServer>) -> Option<(Vec<Scope>, bool)>;

    fn send(
        &self,
        call: RestCall,
        ctx: &RequestContext<RoleServer>,
    ) -> impl Future<Output = RestReply> + Send;

    /// Called with the route's status after each tool call (for the audit).
    fn record(&self, _ctx: &RequestContext<RoleServer>, _tool: &str, _status: u16) {}
}

pub struct McpServer<B> {
    backend: B,
}

impl<B: Backend> McpServer<B> {
    pub fn new(backend: B) -> Self {
        Self { backend }
    }
}

const INSTRUCTIONS: &str = "Preqstation: the projects, tasks and work logs of the account that owns this token. \
Read a project's settings before working on it, keep a task's status current (todo, in_progress, review, done, \
blocked), record results on the task and work in work logs. Tools outside the token's scopes are not listed.";

/// The token-agnostic description of a tool, as MCP lists it.
pub fn describe(t: &Tool) -> McpTool {
    let mut annotations = ToolAnnotations::new()
        .read_only(t.spec.read_only)
        .destructive(t.spec.destructive)
        .idempotent(t.spec.idempotent)
        .open_world(false);
    annotations.title = Some(t.spec.name.replace('_', " "));
    let description = match t.scope {
        Some(s) => format!("{} Needs the `{}` scope.", t.spec.description, s.as_str()),
        None => t.spec.description.to_string(),
    };
    McpTool::new(t.spec.name, description, t.input_schema.clone())
        .with_raw_output_schema(t.output_schema.clone())
        .with_annotations(annotations)
}

/// A tool result in the API's error envelope, as text content only: a
/// structured result must match the tool's output schema (MCP 2025-11-25,
/// tools), and clients that validate it (the TypeScript SDK 1.x) would turn
/// an envelope there into a protocol error the agent never reads.
pub fn error_result(code: &str, message: &str) -> CallToolResult {
    let envelope = json!({"error": {"code": code, "message": message}});
    CallToolResult::error(vec![ContentBlock::text(envelope.to_string())])
}

impl<B: Backend> ServerHandler for McpServer<B> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                "preqstation",
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let (scopes, task_bound) = self.backend.grant(&ctx).unwrap_or_default();
        let listed = tools::catalog()
            .iter()
            .filter(|t| t.op.permits(&scopes, task_bound).is_ok())
            .map(describe)
            .collect();
        // The list depends on the token: a shared cache must not keep it.
        Ok(ListToolsResult::with_all_items(listed).with_cache_scope(CacheScope::Private))
    }

    fn get_tool(&self, name: &str) -> Option<McpTool> {
        tools::find(name).map(describe)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some(tool) = tools::find(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("Unknown tool: {}", request.name),
                None,
            ));
        };
        let (scopes, task_bound) = self.backend.grant(&ctx).unwrap_or_default();
        if let Err(denied) = tool.op.permits(&scopes, task_bound) {
            self.backend.record(&ctx, tool.spec.name, 403);
            let message = match denied {
                Denied::Scope(scope) => format!(
                    "This token lacks the `{}` scope that {} needs.",
                    scope.as_str(),
                    tool.spec.name
                ),
                Denied::OutsideTask => OUTSIDE_TASK.to_string(),
            };
            return Ok(error_result("FORBIDDEN", &message).into());
        }
        let call = match tool.request(request.arguments.as_ref()) {
            Ok(call) => call,
            Err(e) => {
                self.backend.record(&ctx, tool.spec.name, 422);
                return Ok(error_result(e.code, &e.message).into());
            }
        };
        let reply = self.backend.send(call, &ctx).await;
        self.backend.record(&ctx, tool.spec.name, reply.status);
        Ok(to_result(reply).into())
    }
}

fn to_result(reply: RestReply) -> CallToolResult {
    if (200..300).contains(&reply.status) {
        return match reply.body {
            Value::Object(_) => CallToolResult::structured(reply.body),
            _ => CallToolResult::structured(json!({"ok": true})),
        };
    }
    let code = reply.body["error"]["code"]
        .as_str()
        .unwrap_or("INTERNAL_ERROR");
    let message = reply.body["error"]["message"]
        .as_str()
        .unwrap_or("The request failed.");
    error_result(code, message)
}

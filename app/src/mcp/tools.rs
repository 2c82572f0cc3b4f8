//! The MCP tools, one per REST operation, built from `/api/openapi.json`:
//! the table below names each tool's route and how an agent should read
//! it; the input schema (path, query and body fields), the output schema
//! and the scope come from the OpenAPI document, so a tool can never drift
//! from its route. A call becomes a [`RestCall`] to that route, which
//! either door's backend sends (in process for `/mcp`, over HTTP for
//! `preqstation mcp`): one rule, one handler, two doors.

use std::sync::{Arc, OnceLock};

use serde_json::{json, Map, Value};

use crate::tokens::{operation::Operation, Scope};

/// A REST operation offered as a tool.
pub struct ToolSpec {
    pub name: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub description: &'static str,
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
}

const fn spec(
    name: &'static str,
    method: &'static str,
    path: &'static str,
    description: &'static str,
    (read_only, destructive, idempotent): (bool, bool, bool),
) -> ToolSpec {
    ToolSpec {
        name,
        method,
        path,
        description,
        read_only,
        destructive,
        idempotent,
    }
}

const READ: (bool, bool, bool) = (true, false, true);

/// Route by tool. Every operation of the OpenAPI document is here or in
/// [`EXCLUDED`] (a test fails otherwise).
pub const TOOLS: &[ToolSpec] = &[
    spec("whoami", "get", "/api/auth/whoami",
        "Who this token belongs to (account) and what it is (name, prefix, scopes, expiry).", READ),
    spec("get_token_info", "get", "/api/tokens/self",
        "The calling token: name, prefix, scopes, created, expiry, last use. Check expiry before long work.", READ),
    spec("verify_token", "post", "/api/tokens/verify",
        "Status and expiry of another token of the same account (pass the whole token). Does not count as its use.", READ),
    spec("revoke_own_token", "delete", "/api/tokens/self",
        "Revoke the calling token at once, e.g. when it may have leaked. Every later call with it fails.", (false, true, true)),
    spec("list_projects", "get", "/api/projects",
        "List the account's projects (id, name, settings), 50 per page; pass next_cursor as cursor for more.", READ),
    spec("get_project", "get", "/api/projects/{id}",
        "One project with its settings (key = value pairs such as branch or build command).", READ),
    spec("list_tasks", "get", "/api/tasks",
        "List tasks, optionally of one project and one status (todo, in_progress, review, done, blocked); paginated by cursor.", READ),
    spec("get_task", "get", "/api/tasks/{id}",
        "One task: title, description, status, result.", READ),
    spec("create_task", "post", "/api/tasks",
        "Create a task in a project. Pass idempotency_key to make retries safe.", (false, false, false)),
    spec("update_task", "patch", "/api/tasks/{id}",
        "Set a task's status and/or result (result null clears it).", (false, false, true)),
    spec("add_work_log", "post", "/api/tasks/{id}/worklogs",
        "Record work done on a task (message, optional minutes). Pass idempotency_key to make retries safe.", (false, false, false)),
    spec("list_work_logs", "get", "/api/tasks/{id}/worklogs",
        "A task's work logs, oldest first, paginated by cursor.", READ),
];

/// REST operations with no tool, and why.
pub const EXCLUDED: &[(&str, &str, &str)] = &[
    (
        "post",
        "/api/tokens/self/rotate",
        "its answer is a new secret, which would land in the model's transcript; rotate from the dashboard or a script",
    ),
    (
        "post",
        "/api/secret-scanning/report",
        "signed by a scanner's key, not called with a token: a leaked-token report is no agent's tool",
    ),
];

/// A tool ready to list and call.
pub struct Tool {
    pub spec: &'static ToolSpec,
    /// The operation it is (its name is the operation's).
    pub op: Operation,
    /// The scope its route needs (`None`: any valid token).
    pub scope: Option<Scope>,
    pub input_schema: Arc<Map<String, Value>>,
    pub output_schema: Arc<Map<String, Value>>,
    path_params: Vec<String>,
    query_params: Vec<String>,
    body_params: Vec<String>,
    takes_idempotency_key: bool,
}

/// What the tool sends to its route.
#[derive(Debug, Clone, PartialEq)]
pub struct RestCall {
    pub method: http::Method,
    /// Path and query, e.g. `/api/tasks?status=todo`.
    pub uri: String,
    pub body: Option<Value>,
    pub idempotency_key: Option<String>,
}

/// A refusal before the route is called, in the API envelope's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    pub code: &'static str,
    pub message: String,
}

impl ToolError {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: "VALIDATION_FAILED",
            message: message.into(),
        }
    }
}

/// Every tool, built once from the OpenAPI document.
pub fn catalog() -> &'static [Tool] {
    static CATALOG: OnceLock<Vec<Tool>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let doc = crate::api::openapi::json();
        TOOLS.iter().map(|s| Tool::from_openapi(s, &doc)).collect()
    })
}

pub fn find(name: &str) -> Option<&'static Tool> {
    catalog().iter().find(|t| t.spec.name == name)
}

impl Tool {
    fn from_openapi(spec: &'static ToolSpec, doc: &Value) -> Self {
        let op = &doc["paths"][spec.path][spec.method];
        let scope = op["security"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["bearer"].as_array())
            .flatten()
            .filter_map(|s| serde_json::from_value::<Scope>(s.clone()).ok())
            .next();

        let mut properties = Map::new();
        let mut required = Vec::new();
        let (mut path_params, mut query_params, mut body_params) = (vec![], vec![], vec![]);
        let mut takes_idempotency_key = false;
        for p in op["parameters"].as_array().into_iter().flatten() {
            let name = p["name"].as_str().unwrap_or_default().to_string();
            let mut schema = inline(&p["schema"], doc, 0);
            if let (Some(d), Value::Object(m)) = (p["description"].as_str(), &mut schema) {
                m.insert("description".into(), d.into());
            }
            match p["in"].as_str() {
                Some("path") => {
                    required.push(Value::from(name.clone()));
                    properties.insert(name.clone(), schema);
                    path_params.push(name);
                }
                Some("query") => {
                    properties.insert(name.clone(), schema);
                    query_params.push(name);
                }
                Some("header") if name.eq_ignore_ascii_case("idempotency-key") => {
                    properties.insert("idempotency_key".into(), schema);
                    takes_idempotency_key = true;
                }
                _ => {}
            }
        }
        let body = inline(
            &op["requestBody"]["content"]["application/json"]["schema"],
            doc,
            0,
        );
        if let Some(props) = body["properties"].as_object() {
            for (k, v) in props {
                properties.insert(k.clone(), v.clone());
                body_params.push(k.clone());
            }
            required.extend(body["required"].as_array().cloned().unwrap_or_default());
        }
        let mut input = Map::new();
        input.insert("type".into(), "object".into());
        input.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            input.insert("required".into(), Value::Array(required));
        }
        input.insert("additionalProperties".into(), false.into());

        let responses = op["responses"].as_object();
        let success = responses
            .into_iter()
            .flatten()
            .find(|(code, _)| code.starts_with('2'))
            .map(|(_, r)| inline(&r["content"]["application/json"]["schema"], doc, 0));
        let output = match success {
            Some(Value::Object(m)) if !m.is_empty() => m,
            _ => json!({"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        Self {
            // Every tool's name is its operation's (a test checks it);
            // an unknown name would need tokens:delegate, which no tool has.
            op: Operation::parse(spec.name).unwrap_or(Operation::ExchangeToken),
            spec,
            scope,
            input_schema: Arc::new(input),
            output_schema: Arc::new(output),
            path_params,
            query_params,
            body_params,
            takes_idempotency_key,
        }
    }

    /// The request for `args`, or the argument error (the route validates
    /// the values themselves, with the same messages as over REST).
    pub fn request(&self, args: Option<&Map<String, Value>>) -> Result<RestCall, ToolError> {
        let empty = Map::new();
        let args = args.unwrap_or(&empty);
        let known = |k: &String| {
            self.path_params.contains(k)
                || self.query_params.contains(k)
                || self.body_params.contains(k)
                || (self.takes_idempotency_key && k == "idempotency_key")
        };
        if let Some(unknown) = args.keys().find(|k| !known(k)) {
            return Err(ToolError::invalid(format!(
                "Unknown argument `{unknown}` for {}.",
                self.spec.name
            )));
        }
        let mut path = self.spec.path.to_string();
        for p in &self.path_params {
            let v = match args.get(p) {
                Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
                _ => {
                    return Err(ToolError::invalid(format!(
                        "`{p}` is required (a string id)."
                    )))
                }
            };
            let enc = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
            path = path.replace(&format!("{{{p}}}"), &enc.to_string());
        }
        let mut query = form_urlencoded::Serializer::new(String::new());
        let mut has_query = false;
        for q in &self.query_params {
            match args.get(q) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    query.append_pair(q, s);
                    has_query = true;
                }
                Some(v @ (Value::Number(_) | Value::Bool(_))) => {
                    query.append_pair(q, &v.to_string());
                    has_query = true;
                }
                Some(_) => {
                    return Err(ToolError::invalid(format!(
                        "`{q}` must be a string or number."
                    )))
                }
            }
        }
        if has_query {
            path = format!("{path}?{}", query.finish());
        }
        let body = (!self.body_params.is_empty()).then(|| {
            Value::Object(
                args.iter()
                    .filter(|(k, _)| self.body_params.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            )
        });
        let idempotency_key = match args.get("idempotency_key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s))
                if (1..=255).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(s.clone())
            }
            Some(_) => {
                return Err(ToolError::invalid(
                    "`idempotency_key` must be 1-255 visible ASCII characters.",
                ))
            }
        };
        let method = http::Method::from_bytes(self.spec.method.to_ascii_uppercase().as_bytes())
            .unwrap_or(http::Method::GET);
        Ok(RestCall {
            method,
            uri: path,
            body,
            idempotency_key,
        })
    }
}

/// `schema` with every `$ref` to `#/components/schemas/...` replaced by the
/// schema it names, so each tool's schema stands alone.
fn inline(schema: &Value, doc: &Value, depth: usize) -> Value {
    if depth > 16 {
        return json!({});
    }
    match schema {
        Value::Object(m) => {
            if let Some(r) = m.get("$ref").and_then(Value::as_str) {
                let name = r.trim_start_matches("#/components/schemas/");
                return inline(&doc["components"]["schemas"][name], doc, depth + 1);
            }
            Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), inline(v, doc, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| inline(v, doc, depth + 1)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_has_a_tool_or_a_reason() {
        let doc = crate::api::openapi::json();
        let mut missing = vec![];
        for (path, ops) in doc["paths"].as_object().into_iter().flatten() {
            for method in ops.as_object().into_iter().flatten().map(|(m, _)| m) {
                let has_tool = TOOLS.iter().any(|t| t.path == path && t.method == method);
                let excluded = EXCLUDED.iter().any(|(m, p, _)| p == path && m == method);
                if has_tool == excluded {
                    missing.push(format!("{method} {path}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "routes without exactly one of tool/exclusion: {missing:?}"
        );
        for t in TOOLS {
            assert!(
                doc["paths"][t.path][t.method].is_object(),
                "{} names no route",
                t.name
            );
        }
    }

    #[test]
    fn schemas_and_scopes_come_from_the_document() {
        let create = find("create_task").unwrap();
        assert_eq!(create.scope, Some(Scope::TasksWrite));
        let props = create.input_schema["properties"].as_object().unwrap();
        assert!(props.contains_key("project_id") && props.contains_key("title"));
        assert!(props.contains_key("idempotency_key"));
        assert_eq!(create.output_schema["type"], "object");
        assert!(create.output_schema["properties"]["id"].is_object());
        assert_eq!(find("whoami").unwrap().scope, None);
        assert_eq!(
            find("list_work_logs").unwrap().scope,
            Some(Scope::TasksRead)
        );
        assert!(find("rotate_token").is_none());
    }

    #[test]
    fn each_tool_is_its_operation_with_its_scope() {
        for t in catalog() {
            assert_eq!(Operation::parse(t.spec.name), Some(t.op), "{}", t.spec.name);
            assert_eq!(t.op.scope(), t.scope, "{}", t.spec.name);
        }
    }

    #[test]
    fn arguments_become_the_route_request() {
        let args = json!({"id": "0193/x", "status": "done", "result": null});
        let call = find("update_task")
            .unwrap()
            .request(args.as_object())
            .unwrap();
        assert_eq!(call.method, http::Method::PATCH);
        assert_eq!(call.uri, "/api/tasks/0193%2Fx");
        assert_eq!(call.body, Some(json!({"status": "done", "result": null})));

        let args = json!({"project_id": "p", "status": "todo", "limit": 5});
        let call = find("list_tasks")
            .unwrap()
            .request(args.as_object())
            .unwrap();
        assert_eq!(call.uri, "/api/tasks?project_id=p&status=todo&limit=5");
        assert_eq!(call.body, None);

        let err = find("get_task").unwrap().request(None).unwrap_err();
        assert_eq!(err.code, "VALIDATION_FAILED");
        let err = find("whoami")
            .unwrap()
            .request(json!({"x": 1}).as_object())
            .unwrap_err();
        assert!(err.message.contains("Unknown argument `x`"));
    }
}

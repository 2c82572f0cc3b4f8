//! `GET /settings/audit-logs/export.csv` and `.jsonl`: the filtered entries,
//! streamed page by page (1,000 at a time) so an export of millions of rows
//! never sits in memory. Same access rules as the page.

use axum::{
    body::{Body, Bytes},
    extract::{Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};

use super::{query, AuditEntry, AuditFilter};
use crate::{state::AppState, web::MaybeSession};

const CHUNK: i64 = 1_000;

#[derive(Clone, Copy)]
enum Format {
    Csv,
    JsonLines,
}

pub async fn csv(
    state: State<AppState>,
    session: Option<Extension<MaybeSession>>,
    filter: Query<AuditFilter>,
) -> Response {
    export(state, session, filter, Format::Csv).await
}

pub async fn jsonl(
    state: State<AppState>,
    session: Option<Extension<MaybeSession>>,
    filter: Query<AuditFilter>,
) -> Response {
    export(state, session, filter, Format::JsonLines).await
}

async fn export(
    State(state): State<AppState>,
    session: Option<Extension<MaybeSession>>,
    Query(filter): Query<AuditFilter>,
    format: Format,
) -> Response {
    let Some(me) = session.and_then(|Extension(MaybeSession(s))| s) else {
        return (StatusCode::UNAUTHORIZED, "Sign in to export the audit log.").into_response();
    };
    let scope = match query::Scope::for_user(&me.user, &filter) {
        Ok(s) => s,
        Err(e) => return (StatusCode::FORBIDDEN, e.to_string()).into_response(),
    };
    // Validate the filter before streaming starts (errors become a 422).
    if let Err(e) = query::page(&state.db, &scope, &filter, Some(i64::MIN + 1), 1).await {
        let e = crate::error::AppError::from(e);
        return (
            StatusCode::from_u16(e.status_code()).unwrap_or(StatusCode::BAD_REQUEST),
            e.to_string(),
        )
            .into_response();
    }
    let stream = futures::stream::unfold(Some((None::<i64>, true)), move |cursor| {
        let state = state.clone();
        let scope = scope.clone();
        let filter = filter.clone();
        async move {
            let (before, first) = cursor?;
            match query::page(&state.db, &scope, &filter, before, CHUNK).await {
                Ok((entries, next)) => {
                    let chunk = render(&entries, format, first);
                    Some((
                        Ok::<Bytes, std::io::Error>(Bytes::from(chunk)),
                        next.map(|n| (Some(n), false)),
                    ))
                }
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let (content_type, name) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "preqstation-audit.csv"),
        Format::JsonLines => ("application/x-ndjson", "preqstation-audit.jsonl"),
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

const COLUMNS: [&str; 14] = [
    "seq",
    "time",
    "account",
    "actor_kind",
    "actor",
    "action",
    "target",
    "outcome",
    "ip",
    "user_agent",
    "request_id",
    "token_prefix",
    "details",
    "security",
];

/// OWASP's CSV-injection guidance: a cell that a spreadsheet would read as a
/// formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage return)
/// gets a leading `'`, so an attacker-chosen User-Agent or path cannot run
/// in the owner's spreadsheet. JSON Lines stays exact.
fn neutralize(cell: String) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell,
    }
}

fn render(entries: &[AuditEntry], format: Format, header: bool) -> Vec<u8> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if header {
                let _ = w.write_record(COLUMNS);
            }
            for e in entries {
                let _ = w.write_record(
                    [
                        e.seq.to_string(),
                        e.at.rfc3339(),
                        e.account_email.clone().unwrap_or_default(),
                        e.actor_kind.clone(),
                        e.actor.clone().unwrap_or_default(),
                        e.action.clone(),
                        e.target.clone().unwrap_or_default(),
                        e.outcome.clone(),
                        e.ip.clone().unwrap_or_default(),
                        e.user_agent.clone().unwrap_or_default(),
                        e.request_id.clone().unwrap_or_default(),
                        e.token_prefix.clone().unwrap_or_default(),
                        e.details.clone(),
                        e.security.to_string(),
                    ]
                    .map(neutralize),
                );
            }
            w.into_inner().unwrap_or_default()
        }
        Format::JsonLines => {
            let mut out = Vec::new();
            for e in entries {
                let line = serde_json::json!({
                    "seq": e.seq, "time": e.at.rfc3339(), "account": e.account_email, "actor_kind": e.actor_kind,
                    "actor": e.actor, "action": e.action, "target": e.target, "outcome": e.outcome, "ip": e.ip,
                    "user_agent": e.user_agent, "request_id": e.request_id, "token_prefix": e.token_prefix,
                    "details": serde_json::from_str::<serde_json::Value>(&e.details).unwrap_or_default(),
                    "security": e.security,
                });
                out.extend(line.to_string().into_bytes());
                out.push(b'\n');
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::neutralize;

    #[test]
    fn formula_cells_are_neutralized() {
        for risky in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralize(risky.into()), format!("'{risky}"));
        }
        for safe in ["curl/8.0", "", "2026-11-29T10:00:00Z", "a=b"] {
            assert_eq!(neutralize(safe.into()), safe);
        }
    }
}

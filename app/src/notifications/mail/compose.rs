//! One email per notification: plain text and HTML alternatives of the same
//! words (`message::render`), a link to the page to act on, and a footer
//! saying why the owner got it and where to change that. Never a secret.

use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};

use crate::{
    html::escape as esc,
    notifications::{message::Message, NoticeKind},
};

/// What an email needs beyond the message.
pub struct Envelope<'a> {
    pub from: &'a str,
    pub to: &'a str,
    /// The server's public URL, for links.
    pub public_url: &'a str,
    /// The outbox row's id: the Message-ID, so a receiver can tell copies.
    pub id: &'a str,
}

/// The footer's words.
fn footer(kind: NoticeKind, to: &str, settings: &str) -> String {
    let always = if kind.is_security() {
        " Security notices also always appear in the dashboard."
    } else {
        ""
    };
    format!(
        "You received this email because notifications for “{}” are on for {to}. \
         Change which notifications you get by email at {settings}.{always}",
        kind.label()
    )
}

/// The subject, text and HTML of `m`.
pub fn parts(kind: NoticeKind, m: &Message, env: &Envelope<'_>) -> (String, String, String) {
    let settings = format!("{}/settings/notifications", env.public_url);
    let link = m
        .link
        .as_ref()
        .map(|(path, words)| (format!("{}{path}", env.public_url), words.clone()));
    let foot = footer(kind, env.to, &settings);
    let subject = format!("[Preqstation] {}", m.title);
    let mut text = format!("{}\n\n{}\n\nWhat to do: {}\n", m.title, m.text, m.next);
    if let Some((url, words)) = &link {
        text.push_str(&format!("\n{words}: {url}\n"));
    }
    text.push_str(&format!("\n-- \n{foot}\n"));
    let button = link
        .as_ref()
        .map(|(url, words)| {
            format!(
                "<p><a href=\"{}\" style=\"display:inline-block;padding:8px 14px;background:#4338ca;color:#fff;border-radius:6px;text-decoration:none\">{}</a></p>",
                esc(url),
                esc(words)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#0f172a;max-width:36rem\">\
         <h1 style=\"font-size:18px\">{}</h1><p>{}</p><p><strong>What to do:</strong> {}</p>{button}\
         <hr style=\"border:none;border-top:1px solid #e2e8f0\"><p style=\"font-size:12px;color:#64748b\">{}</p></body></html>",
        esc(&m.title),
        esc(&m.text),
        esc(&m.next),
        esc(&foot)
    );
    (subject, text, html)
}

/// A message could not be built (an address that does not parse).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the email: {0}")]
pub struct ComposeError(String);

/// The whole email, ready to send.
pub fn build(
    kind: NoticeKind,
    m: &Message,
    env: &Envelope<'_>,
) -> Result<lettre::Message, ComposeError> {
    let (subject, text, html) = parts(kind, m, env);
    let from: Mailbox = env
        .from
        .parse()
        .map_err(|e| ComposeError(format!("from: {e}")))?;
    let to: Mailbox = env
        .to
        .parse()
        .map_err(|e| ComposeError(format!("to: {e}")))?;
    let host = url::Url::parse(env.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "preqstation".into());
    lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}@{host}>", env.id)))
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html),
                ),
        )
        .map_err(|e| ComposeError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_the_footer_says_why() {
        let m = Message {
            title: "Token “<b>x</b>” (preq_ab12…) expired".into(),
            text: "t".into(),
            next: "n".into(),
            link: Some(("/settings/api-keys/1".into(), "Open the token".into())),
        };
        let env = Envelope {
            from: "Preqstation <noreply@example.com>",
            to: "owner@example.com",
            public_url: "https://preq.example.com",
            id: "0190-1",
        };
        let (subject, text, html) = parts(NoticeKind::TokenExpired, &m, &env);
        assert!(subject.starts_with("[Preqstation] "));
        assert!(text.contains("https://preq.example.com/settings/api-keys/1"));
        assert!(text.contains("https://preq.example.com/settings/notifications"));
        assert!(!html.contains("<b>x</b>") && html.contains("&lt;b&gt;"));
        assert!(build(NoticeKind::TokenExpired, &m, &env).is_ok());
    }
}

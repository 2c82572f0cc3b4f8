//! One SMTP conversation per email, step by step (lettre's connection, not
//! its transport), so a failure is known by where it happened: before the
//! message data was sent nothing was delivered and the send may be retried;
//! once the data is out, only the server's answer says whether it was taken.

use lettre::transport::smtp::{
    authentication::{Credentials, Mechanism},
    client::{AsyncSmtpConnection, TlsParameters},
    commands::{Data, Mail, Rcpt},
    extension::{ClientId, Extension, MailParameter},
};

use super::{MailConfig, Security};

/// Why an email was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The server did not take it: unreachable, TLS or authentication
    /// failed, or it answered 4xx. Nothing was delivered: retry later.
    NotTaken(String),
    /// The server refused it for good (5xx).
    Refused(String),
    /// The connection failed after the message was sent, before the server
    /// answered: it may have been delivered, so it is never sent again.
    Unknown(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotTaken(e) => write!(f, "not taken: {e}"),
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::Unknown(e) => write!(f, "unknown: {e}"),
        }
    }
}

/// Sends `message` to its envelope's recipients.
pub async fn send(config: &MailConfig, message: &lettre::Message) -> Result<(), SendError> {
    let not_taken = |e: lettre::transport::smtp::Error| SendError::NotTaken(e.to_string());
    let hello = ClientId::Domain("preqstation".into());
    let tls = || {
        TlsParameters::builder(config.host.clone())
            .build_rustls()
            .map_err(not_taken)
    };
    let wrapper = match config.security {
        Security::Tls => Some(tls()?),
        _ => None,
    };
    let mut conn = AsyncSmtpConnection::connect_tokio1(
        (config.host.as_str(), config.port),
        Some(config.timeout),
        &hello,
        wrapper,
        None,
    )
    .await
    .map_err(not_taken)?;
    let result = converse(config, &mut conn, message, &hello, tls).await;
    match &result {
        Ok(()) => {
            let _ = conn.quit().await;
        }
        Err(_) => conn.abort().await,
    }
    result
}

async fn converse(
    config: &MailConfig,
    conn: &mut AsyncSmtpConnection,
    message: &lettre::Message,
    hello: &ClientId,
    tls: impl Fn() -> Result<TlsParameters, SendError>,
) -> Result<(), SendError> {
    let not_taken = |e: lettre::transport::smtp::Error| SendError::NotTaken(e.to_string());
    if config.security == Security::StartTls {
        if !conn.can_starttls() {
            return Err(SendError::NotTaken(
                "the server does not offer STARTTLS, which this configuration requires".into(),
            ));
        }
        conn.starttls(tls()?, hello).await.map_err(not_taken)?;
    }
    if let Some((user, password)) = &config.credentials {
        conn.auth(
            &[Mechanism::Plain, Mechanism::Login],
            &Credentials::new(user.clone(), password.expose().to_string()),
        )
        .await
        .map_err(not_taken)?;
    }
    let envelope = message.envelope();
    let mut params = Vec::new();
    let non_ascii = envelope
        .from()
        .into_iter()
        .chain(envelope.to())
        .any(|a: &lettre::Address| !AsRef::<str>::as_ref(a).is_ascii());
    if non_ascii && conn.server_info().supports_feature(Extension::SmtpUtfEight) {
        params.push(MailParameter::SmtpUtfEight);
    }
    // Until DATA is accepted nothing can have been delivered.
    let answered = |e: lettre::transport::smtp::Error| {
        if e.is_permanent() {
            SendError::Refused(e.to_string())
        } else {
            SendError::NotTaken(e.to_string())
        }
    };
    conn.command(Mail::new(envelope.from().cloned(), params))
        .await
        .map_err(answered)?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![]))
            .await
            .map_err(answered)?;
    }
    conn.command(Data).await.map_err(answered)?;
    conn.message(&message.formatted())
        .await
        .map(|_| ())
        .map_err(|e| {
            if e.is_permanent() {
                SendError::Refused(e.to_string())
            } else if e.is_transient() {
                SendError::NotTaken(e.to_string())
            } else {
                SendError::Unknown(e.to_string())
            }
        })
}

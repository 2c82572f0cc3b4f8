//! What a notification says: a title, a sentence with the token (name and
//! prefix), app or session it names, the time and the IP, what to do next,
//! and a link to the page to do it on. The dashboard's list and the email
//! both read it from here. Never a secret: a token is named by its prefix.

use super::{outbox::Details, NoticeKind};
use crate::types::Timestamp;

const DAY_MS: i64 = 86_400_000;

/// A notification in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub title: String,
    pub text: String,
    pub next: String,
    /// A path on this server, and the link's words.
    pub link: Option<(String, String)>,
}

fn token_words(d: &Details) -> String {
    d.token
        .as_ref()
        .map(|t| match t.name.as_str() {
            "" => format!("{}…", t.prefix),
            name => format!("“{name}” ({}…)", t.prefix),
        })
        .unwrap_or_else(|| "a token".into())
}

fn token_link(d: &Details) -> Option<(String, String)> {
    d.token.as_ref().map(|t| {
        (
            format!("/settings/api-keys/{}", t.id),
            "Open the token".into(),
        )
    })
}

fn when_and_where(d: &Details) -> String {
    let at = Timestamp(d.at).display_utc();
    match d.ip.as_deref() {
        Some(ip) => format!("at {at} from {ip}"),
        None => format!("at {at}"),
    }
}

/// Renders `kind` with its stored `details`.
pub fn render(kind: NoticeKind, d: &Details) -> Message {
    let token = token_words(d);
    let by = d.by.clone().unwrap_or_else(|| "an administrator".into());
    match kind {
        NoticeKind::TokenExpiring => {
            let expires = d.expires_at.unwrap_or(d.at);
            let days_left = (expires - d.at + DAY_MS - 1).div_euclid(DAY_MS);
            let when = match days_left {
                i64::MIN..=1 => "within a day".to_string(),
                n => format!("in {n} days"),
            };
            Message {
                title: format!("Token {token} expires {when}"),
                text: format!(
                    "The API token {token} expires {}. Agents using it will get 401 Unauthorized after that.",
                    Timestamp(expires).display_utc()
                ),
                next: "Rotate it now to get a successor with a grace period, or let it expire if it is no longer needed.".into(),
                link: token_link(d),
            }
        }
        NoticeKind::TokenExpired => Message {
            title: format!("Token {token} expired"),
            text: format!("The API token {token} expired {}. Calls with it are refused.", Timestamp(d.at).display_utc()),
            next: "If an agent still needs access, create a new token and give it to the agent.".into(),
            link: Some(("/settings/api-keys".into(), "Open API keys".into())),
        },
        NoticeKind::TokenNewIp => Message {
            title: format!("Token {token} was used from a new IP address"),
            text: format!("The API token {token} was used {}, an address it had not been used from before.", when_and_where(d)),
            next: "If you do not recognise this address, revoke the token now, and consider an IP allowlist on it.".into(),
            link: token_link(d),
        },
        NoticeKind::CredentialRevoked => {
            let why = match d.reason.as_deref() {
                Some("dormant") => "it had not been used for longer than the dormant-token policy allows".to_string(),
                Some(r) => format!("{by} revoked it (reason: {r})"),
                None => format!("{by} revoked it"),
            };
            match &d.grant {
                Some((id, client)) => Message {
                    title: format!("Connected app “{client}” was revoked"),
                    text: format!("The access of “{client}” to your account ended {}: {why}.", Timestamp(d.at).display_utc()),
                    next: "The app must ask for access again; approve it only if you still use it.".into(),
                    link: Some((format!("/settings/connected-apps/{id}"), "Open the app".into())),
                },
                None => Message {
                    title: format!("Token {token} was revoked"),
                    text: format!("The API token {token} was revoked {}: {why}.", Timestamp(d.at).display_utc()),
                    next: "Agents using it now get 401 Unauthorized. If one still needs access, create a new token.".into(),
                    link: token_link(d),
                },
            }
        }
        NoticeKind::ReuseDetected => {
            let what = d.reason.clone().unwrap_or_else(|| "a credential".into());
            let link = match (&d.grant, &d.token) {
                (Some((id, _)), _) => Some((format!("/settings/connected-apps/{id}"), "Open the app".into())),
                (None, Some(_)) => token_link(d),
                _ => None,
            };
            let subject = match (&d.grant, &d.token) {
                (Some((_, client)), _) => format!("connected app “{client}”"),
                (None, Some(_)) => format!("token {token}"),
                _ => "your account".into(),
            };
            Message {
                title: format!("Possible theft: {what} of {subject} was used again"),
                text: format!(
                    "{what} that had already been used was presented again {}.{}",
                    when_and_where(d),
                    if d.flag == Some(true) { " It was revoked, with what it belongs to, as a precaution." } else { "" }
                ),
                next: "Find where the credential was copied (logs, a shared machine, a repository); then create a new one.".into(),
                link,
            }
        }
        NoticeKind::NewDeviceSignIn => Message {
            title: "New sign-in to your account".into(),
            text: format!(
                "Someone signed in to your account {}{}, from a browser this server had not seen for you.",
                when_and_where(d),
                d.browser.as_deref().map(|b| format!(" using {b}")).unwrap_or_default()
            ),
            next: "If this was not you, end that session and change your password now.".into(),
            link: Some(("/settings/sessions".into(), "Open sessions".into())),
        },
        NoticeKind::TwoFactorEnabled => Message {
            title: match d.reason.as_deref() {
                Some(what) => format!("A second factor was added: {what}"),
                None => "Two-factor authentication was turned on".into(),
            },
            text: format!("Your account now asks for a second factor at sign-in; this one was added {}.", when_and_where(d)),
            next: "Keep your recovery codes somewhere safe. If this was not you, change your password and ask an administrator to reset the second factor.".into(),
            link: Some(("/settings/security".into(), "Open security settings".into())),
        },
        NoticeKind::TwoFactorDisabled => Message {
            title: match d.by.as_deref() {
                Some(_) => "An administrator reset your two-factor authentication".into(),
                None => "Two-factor authentication was turned off".into(),
            },
            text: format!(
                "{} removed the second factor of your account (authenticator app, passkeys and recovery codes) {}. Sign-in now asks only for the password.",
                d.by.clone().unwrap_or_else(|| "You".into()),
                when_and_where(d)
            ),
            next: "Set up a second factor again in Settings > Security. If you did not ask for this, change your password now.".into(),
            link: Some(("/settings/security".into(), "Open security settings".into())),
        },
        NoticeKind::RecoveryCodeUsed => Message {
            title: "A recovery code was used".into(),
            text: format!(
                "A recovery code of your account was used {}; {} left.",
                when_and_where(d),
                d.count.unwrap_or(0)
            ),
            next: "If this was you, consider regenerating your codes. If not, change your password and regenerate them now.".into(),
            link: Some(("/settings/security".into(), "Open security settings".into())),
        },
        NoticeKind::PasskeyCloned => Message {
            title: format!("Passkey “{}” was refused: its counter went back", d.reason.clone().unwrap_or_default()),
            text: format!(
                "A sign-in {} presented the passkey with a signature counter lower than the last one seen. The authenticator may have been copied.",
                when_and_where(d)
            ),
            next: "If you did not restore or copy this authenticator, remove the passkey and change your password.".into(),
            link: Some(("/settings/security".into(), "Open security settings".into())),
        },
        NoticeKind::TokenLeaked => Message {
            title: format!("Token {token} was found in public and revoked"),
            text: format!(
                "A leaked-token report {} said the token {token} was published{}. It was revoked at once{}.",
                Timestamp(d.at).display_utc(),
                d.reason.as_deref().map(|u| format!(" at {u}")).unwrap_or_default(),
                match d.count {
                    Some(n) if n > 1 => format!(", with {} tokens related to it", n - 1),
                    _ => String::new(),
                }
            ),
            next: "Remove the token from where it was published (and from the repository's history), then create a new one for the agent that used it.".into(),
            link: token_link(d).or_else(|| Some(("/settings/api-keys".into(), "Open API keys".into()))),
        },
        NoticeKind::WebhookDisabled => Message {
            title: format!("Webhook endpoint {} was disabled", d.reason.clone().unwrap_or_default()),
            text: format!(
                "Preqstation stopped sending to this endpoint {}: {}. Events after that are not queued for it.",
                Timestamp(d.at).display_utc(),
                d.by.clone().unwrap_or_else(|| "its deliveries kept failing".into())
            ),
            next: "Fix the receiver, then enable the endpoint again in Settings > Webhooks; resend the deliveries it missed from its log.".into(),
            link: Some(("/settings/webhooks".into(), "Open webhooks".into())),
        },
        NoticeKind::PasswordChanged => Message {
            title: "Your password was changed".into(),
            text: format!("The password of your account was changed {}. Your other sessions were ended.", when_and_where(d)),
            next: "If you did not do this, ask an administrator to disable the account and reset it at once.".into(),
            link: Some(("/settings/account".into(), "Open account settings".into())),
        },
        NoticeKind::SessionsInvalidated => Message {
            title: "An administrator ended your sessions".into(),
            text: format!(
                "{by} ended every session of your account and revoked its tokens ({} revoked) {}.",
                d.count.unwrap_or(0),
                Timestamp(d.at).display_utc()
            ),
            next: "Sign in again, and create new tokens for the agents that still need them.".into(),
            link: Some(("/settings/api-keys".into(), "Open API keys".into())),
        },
        NoticeKind::AccountDisabled => {
            if d.flag == Some(false) {
                Message {
                    title: "Your account was enabled again".into(),
                    text: format!("{by} enabled your account {}.", Timestamp(d.at).display_utc()),
                    next: "You can sign in again; tokens revoked when it was disabled stay revoked.".into(),
                    link: Some(("/settings/api-keys".into(), "Open API keys".into())),
                }
            } else {
                Message {
                    title: "Your account was disabled".into(),
                    text: format!(
                        "{by} disabled your account {}; its sessions ended and its tokens were revoked.",
                        Timestamp(d.at).display_utc()
                    ),
                    next: "Contact your administrator if you think this is a mistake.".into(),
                    link: None,
                }
            }
        }
        NoticeKind::AccountCreated => {
            let email = d.account.as_ref().map(|(_, e)| e.as_str()).unwrap_or("an account");
            Message {
                title: format!("New account {email}"),
                text: format!("The account {email} was created by {by} {}.", when_and_where(d)),
                next: "Check that it was expected; disable it on the accounts page if not.".into(),
                link: Some(("/admin/accounts".into(), "Open accounts".into())),
            }
        }
        NoticeKind::UsageLow => Message {
            title: format!("Token {token} has {} calls left", d.count.unwrap_or(0)),
            text: format!(
                "The API token {token} is down to {} calls of its usage limit ({}).",
                d.count.unwrap_or(0),
                Timestamp(d.at).display_utc()
            ),
            next: "Raise the limit on the token's page if the agent needs more; calls past it are refused with 429.".into(),
            link: token_link(d),
        },
        NoticeKind::UsageExhausted => Message {
            title: format!("Token {token} used up its usage limit"),
            text: format!(
                "The API token {token} has no calls left of its usage limit since {}; its calls are refused with 429 USAGE_EXHAUSTED{}.",
                Timestamp(d.at).display_utc(),
                if d.flag == Some(true) { " until its next refill" } else { "" }
            ),
            next: "If the agent's work is legitimate, raise the limit on the token's page; if not, revoke the token.".into(),
            link: token_link(d),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::outbox::TokenRef;

    #[test]
    fn every_kind_names_its_subject_and_never_more_than_a_prefix() {
        let d = Details {
            token: Some(TokenRef {
                id: "t1".into(),
                name: "ci-bot".into(),
                prefix: "preq_ab12cd34".into(),
            }),
            ip: Some("203.0.113.9".into()),
            at: 1_800_000_000_000,
            ..Default::default()
        };
        for kind in NoticeKind::ALL {
            let m = render(*kind, &d);
            assert!(
                !m.title.is_empty() && !m.text.is_empty() && !m.next.is_empty(),
                "{kind}"
            );
            if let Some((path, _)) = &m.link {
                assert!(path.starts_with('/'), "{kind}: {path}");
            }
        }
        let m = render(NoticeKind::TokenNewIp, &d);
        assert!(m.title.contains("ci-bot") && m.title.contains("preq_ab12cd34"));
        assert!(m.text.contains("203.0.113.9"));
        assert_eq!(m.link.unwrap().0, "/settings/api-keys/t1");
    }
}

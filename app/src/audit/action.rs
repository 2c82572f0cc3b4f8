//! The audit log's vocabulary as types: every action, actor kind and
//! outcome an entry can have. The page's filter, the query's check, the
//! exports and docs/audit.md (a test compares them) all read these lists,
//! so an action written somewhere cannot be missing from them.

use crate::types::vocabulary;

vocabulary! {
    /// What happened. docs/audit.md describes each.
    AuditAction {
        SetupCompleted => "setup_completed",
        AccountCreated => "account_created",
        LoginSucceeded => "login_succeeded",
        LoginFailed => "login_failed",
        Logout => "logout",
        SessionRevoked => "session_revoked",
        PasswordChanged => "password_changed",
        PasswordChangeFailed => "password_change_failed",
        AccountDisabled => "account_disabled",
        SessionsInvalidated => "sessions_invalidated",
        TokenCreated => "token_created",
        TokenRevoked => "token_revoked",
        TokenRotated => "token_rotated",
        TokenUpdated => "token_updated",
        CredentialsRevoked => "credentials_revoked",
        TokenRotationReplayed => "token_rotation_replayed",
        TokenExpired => "token_expired",
        TokenUsed => "token_used",
        AuthFailed => "auth_failed",
        TokenReuseDetected => "token_reuse_detected",
        AccessDenied => "access_denied",
        RateLimited => "rate_limited",
        PolicyChanged => "policy_changed",
        OauthClientRegistered => "oauth_client_registered",
        OauthGrantCreated => "oauth_grant_created",
        OauthConsentDenied => "oauth_consent_denied",
        OauthTokenRefreshed => "oauth_token_refreshed",
        OauthRefreshReplayed => "oauth_refresh_replayed",
        OauthRefreshReused => "oauth_refresh_reused",
        OauthCodeReused => "oauth_code_reused",
        OauthGrantRevoked => "oauth_grant_revoked",
        NotificationSettingsChanged => "notification_settings_changed",
        TaskTokenIssued => "task_token_issued",
        TaskTokenRevoked => "task_token_revoked",
        UsageExhausted => "usage_exhausted",
        TwoFactorEnabled => "two_factor_enabled",
        TwoFactorDisabled => "two_factor_disabled",
        TwoFactorReset => "two_factor_reset",
        SecondFactorFailed => "second_factor_failed",
        RecoveryCodeUsed => "recovery_code_used",
        RecoveryCodesRegenerated => "recovery_codes_regenerated",
        PasskeyAdded => "passkey_added",
        PasskeyRemoved => "passkey_removed",
        PasskeyCounterRegressed => "passkey_counter_regressed",
        SudoConfirmed => "sudo_confirmed",
        WebhookCreated => "webhook_created",
        WebhookUpdated => "webhook_updated",
        WebhookDeleted => "webhook_deleted",
        WebhookSecretRolled => "webhook_secret_rolled",
        WebhookDisabled => "webhook_disabled",
        WebhookResent => "webhook_resent",
        TokenLeaked => "token_leaked",
        LeakReportReceived => "leak_report_received",
        LeakReportKeyChanged => "leak_report_key_changed",
        FederationRuleCreated => "federation_rule_created",
        FederationRuleUpdated => "federation_rule_updated",
        FederationRuleEnabled => "federation_rule_enabled",
        FederationRuleDisabled => "federation_rule_disabled",
        FederationRuleDeleted => "federation_rule_deleted",
        FederatedTokenIssued => "federated_token_issued",
        FederatedExchangeRefused => "federated_exchange_refused",
    }
}

vocabulary! {
    /// Who acted.
    ActorKind {
        /// A person, outside a session (setup, sign-in).
        Account => "account",
        /// A signed-in person.
        Session => "session",
        /// An API key.
        Token => "token",
        /// An OAuth client with a grant's access token.
        OauthClient => "oauth_client",
        /// A task-scoped token, acting for its subject (the `act` detail).
        TaskToken => "task_token",
        /// A CI job: its ID token in an exchange, or the CI token a trust
        /// rule issued for it (the `act` detail names the run).
        Ci => "ci",
        /// The server itself (the sweep).
        System => "system",
        /// An administrator's command on the server (`preqstation tokens ...`).
        Cli => "cli",
        /// Nobody known (a refused request).
        Anonymous => "anonymous",
    }
}

vocabulary! {
    /// How it ended.
    Outcome {
        Success => "success",
        Failure => "failure",
    }
}

impl Outcome {
    /// `success` below HTTP status 400, `failure` from there on.
    pub fn of_status(status: u16) -> Self {
        if status < 400 {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_parses_back_and_spellings_are_unique() {
        for a in AuditAction::ALL {
            assert_eq!(AuditAction::parse(a.as_str()), Some(*a));
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::json!(a.as_str())
            );
        }
        let mut spellings: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        spellings.sort();
        spellings.dedup();
        assert_eq!(spellings.len(), AuditAction::ALL.len());
        for k in ActorKind::ALL {
            assert_eq!(ActorKind::parse(k.as_str()), Some(*k));
        }
        assert_eq!(AuditAction::parse("nope"), None);
    }

    /// docs/audit.md's table of actions lists exactly these, in a row each,
    /// and its sentence on actor kinds names every kind.
    #[test]
    fn the_docs_list_every_action_and_actor_kind() {
        let doc = include_str!("../../../docs/audit.md");
        let documented: Vec<String> = doc
            .lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(|l| {
                let first = l.split('|').nth(1).unwrap_or_default();
                first
                    .split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        for a in AuditAction::ALL {
            assert!(
                documented.iter().any(|d| d == a.as_str()),
                "docs/audit.md does not describe `{a}`"
            );
        }
        for d in &documented {
            assert!(
                AuditAction::parse(d).is_some(),
                "docs/audit.md describes `{d}`, which is not an action"
            );
        }
        for k in ActorKind::ALL {
            assert!(
                doc.contains(&format!("`{k}`")),
                "docs/audit.md does not name the actor kind `{k}`"
            );
        }
    }
}

//! First-run setup: creates the first account (an admin). The server only
//! serves this page while no account exists.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    components::{AuthCard, Field, FormAlert, SubmitButton},
    rpc::auth::Setup,
};

pub const SETUP_CODE_HINT: &str =
    "The one-time code the server printed when it started; it is also in the \
     setup-code file of its data directory. It proves you run this server.";

/// Kept in step with the limits by a test below.
pub const PASSWORD_HINT: &str =
    "8 to 128 characters. A long passphrase is best; common passwords are refused.";

#[component]
pub fn SetupPage() -> impl IntoView {
    let action = ServerAction::<Setup>::new();
    let err = move || action.value().get().and_then(|r| r.err());
    view! {
        <Title text="Set up Preqstation"/>
        <AuthCard title="Set up Preqstation" subtitle="Create the first account. It will be the administrator.">
            <FormAlert message=Signal::derive(move || err().and_then(|e| e.general()))/>
            <ActionForm action=action>
                <div class="space-y-3">
                    <Field label="Setup code" name="setup_code" kind="text" autocomplete="one-time-code" hint=SETUP_CODE_HINT
                        error=Signal::derive(move || err().and_then(|e| e.for_field("setup_code")))/>
                    <Field label="Email" name="email" kind="email" autocomplete="username"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("email")))/>
                    <Field label="Password" name="password" kind="password" autocomplete="new-password" hint=PASSWORD_HINT
                        error=Signal::derive(move || err().and_then(|e| e.for_field("password")))/>
                    <Field label="Confirm password" name="confirm" kind="password" autocomplete="new-password"
                        error=Signal::derive(move || err().and_then(|e| e.for_field("confirm")))/>
                    <SubmitButton label="Create account" pending_label="Creating account…" pending=action.pending()/>
                </div>
            </ActionForm>
        </AuthCard>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hint_matches_the_limits() {
        let expected = format!(
            "{} to {} characters.",
            crate::accounts::PASSWORD_MIN_CHARS,
            crate::accounts::PASSWORD_MAX_CHARS
        );
        assert!(super::PASSWORD_HINT.starts_with(&expected));
    }
}

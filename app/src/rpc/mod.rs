//! The server functions (a door): what the dashboard's pages call under
//! `/rpc/...`, one file per noun. Each reads the session and the request
//! from `web::ServerFnContext`, calls the noun's service for the signed-in
//! account, and maps its [`crate::fault::Fault`] to an
//! [`crate::error::AppError`] that the page shows by the field.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod credentials;
pub mod federation;
pub mod notifications;
pub mod projects;
pub mod security;
pub mod sessions;
pub mod tasks;
pub mod token_limits;
pub mod tokens;
pub mod webhooks;

//! One module per page (or group of pages) of the dashboard.

pub mod account;
pub mod admin_accounts;
pub mod admin_credentials;
pub mod api_keys;
pub mod audit;
pub mod connected_apps;
pub mod consent;
pub mod dashboard;
pub mod kill_switch;
pub mod login;
pub mod login_two_factor;
pub mod notifications;
pub mod policies;
pub mod project_choice;
pub mod projects;
pub mod security;
pub mod sessions;
pub mod setup;
pub mod task_logs;
pub mod token_actions;
pub mod token_limits;
pub mod token_list;
pub mod token_page;
pub mod webhook_form;
pub mod webhook_log;
pub mod webhooks;

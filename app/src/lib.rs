//! Preqstation: a self-hosted service where account owners manage the API
//! tokens their coding agents use, and everything lands in an audit log.
//!
//! This crate is the whole application, in two layers. Calls go one way:
//! doors call the domain, the domain never names a door (a test,
//! `app/tests/architecture.rs`, fails when a domain file does).
//!
//! **Domain**: the rules, their queries and their audit entries.
//!
//! | module        | what it owns |
//! |---------------|--------------|
//! | [`accounts`]  | accounts, email and password policy, password hashing |
//! | [`auth`]      | setup, sign-in and sign-out rules: throttling, known devices, setup codes, the second step, sudo mode |
//! | [`second_factor`] | authenticator app (TOTP), passkeys, recovery codes, the half-signed-in state, the policy requiring one |
//! | [`sessions`]  | signed `__Host-session` cookies and server-side sessions, sudo mode's time |
//! | [`tokens`]    | API tokens: format, policy, create/list/revoke/rotate, last use, a token's page and usage, the admins' credentials inventory; what each operation needs; usage limits; task-scoped tokens (token exchange) |
//! | [`federation`] | CI federation: trust rules for OIDC issuers (GitHub Actions, GitLab CI), verifying ID tokens against the issuers' keys, short-lived CI tokens |
//! | `bearer`      | (server) a presented bearer credential, any kind (API key, OAuth, task, CI): one check every door calls |
//! | [`oauth`]     | OAuth 2.1 for MCP hosts: clients, the code flow, grants, refresh, revocation |
//! | [`notifications`] | in-app and email notifications: event types, the outbox and the feed, preferences, SMTP |
//! | [`webhooks`]  | signed webhooks (Standard Webhooks): endpoints, secrets, durable cursors over the audit log and notification feed, ordered delivery with retries |
//! | `leaks`       | (server) leaked-token reports (GitHub's secret-scanning format): signing keys, revoking what a report names, feedback |
//! | `outbound`    | (server) requests to URLs someone else chose: the SSRF guard (IANA special-purpose ranges, pinned address, no redirects, no proxy) |
//! | [`audit`]     | the keyed hash-chained audit log, its typed actions, queue and queries, the calls rollup |
//! | [`projects`]  | projects and their settings (owners edit, agents read) |
//! | [`tasks`]     | tasks and work logs (agents write, owners watch) |
//! | `keys`        | (server) the keyring: session, device, audit-chain and sealing keys with ids |
//! | `db`          | (server) the SQLite/PostgreSQL pool, migrations, and connections kept aside |
//! | `request`     | (server) what the domain knows of a request: client IP, User-Agent, request id |
//! | [`types`]     | typed ids, UTC timestamps, roles, form secrets |
//! | [`fault`]     | what went wrong in a rule, in domain words (each door maps it) |
//! | `crypto`      | (server) randomness, SHA-256, constant-time compare |
//! | `html`        | (server) escaping text for the HTML the server writes by hand |
//!
//! **Doors**: what the outside calls, each a thin translation to the domain.
//!
//! | module        | what it owns |
//! |---------------|--------------|
//! | [`rpc`]       | the server functions the pages call (`/rpc/...`), one file per noun |
//! | [`app`], [`pages`], [`components`], [`overview`] | the HTML shell, route table, dashboard pages and shared UI pieces |
//! | `api`         | (server) the bearer-token REST API under `/api/` |
//! | `mcp`         | (server) the same operations as MCP tools: `/mcp` and the stdio server's tools |
//! | `oauth::http`, `oauth::consent` | (server) the OAuth endpoints and the consent page's functions |
//! | `web`         | (server) the axum router and its middleware (sessions, CSRF, headers, client IP) |
//! | [`error`]     | the error every server function returns |
//!
//! **Wiring**: `config` (configuration from the environment), `state`
//! (what handlers and server functions share), `maintenance` (the periodic
//! sweep: expiries, rotation grace, retention), `metrics` (Prometheus, on
//! its own listener).
//!
//! The browser build (`hydrate`) sees only the shared parts; everything
//! touching the database or secrets is behind the `ssr` feature.

#![recursion_limit = "256"]

pub mod accounts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod components;
pub mod error;
pub mod fault;
pub mod federation;
pub mod notifications;
pub mod oauth;
pub mod overview;
pub mod pages;
pub mod projects;
pub mod rpc;
pub mod second_factor;
pub mod sessions;
pub mod tasks;
pub mod tokens;
pub mod types;
pub mod webhooks;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod bearer;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod html;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod leaks;
#[cfg(feature = "ssr")]
pub mod maintenance;
#[cfg(feature = "ssr")]
pub mod mcp;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod outbound;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod web;

pub use app::{shell, App};

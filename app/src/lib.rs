//! Preqstation: a self-hosted service where account owners manage the API
//! tokens their coding agents use, and everything lands in an audit log.
//!
//! This crate is the whole application. Read it in this order:
//!
//! | module        | what it owns |
//! |---------------|--------------|
//! | [`app`]       | the HTML shell and the route table |
//! | [`overview`]  | the Overview page's summary (expiring tokens, security events) |
//! | [`pages`]     | one module per dashboard page |
//! | [`components`]| shared UI pieces (fields with their error line, cards) |
//! | [`audit`]     | the hash-chained audit log, its queue, page and exports |
//! | [`auth`]      | setup, sign-in, sign-out server functions and their rules |
//! | [`accounts`]  | accounts, email and password policy, password hashing |
//! | [`sessions`]  | signed `__Host-session` cookies and server-side sessions |
//! | [`projects`]  | projects and their settings (owner pages, agents read) |
//! | [`tasks`]     | tasks and work logs (agents write, owners watch) |
//! | [`tokens`]    | API tokens: format, policy, create/list/revoke, bearer authentication |
//! | [`oauth`]     | OAuth 2.1 for MCP hosts: metadata, registration, consent, grants and their tokens |
//! | `api`         | (server) the bearer-token REST API under `/api/` |
//! | `mcp`         | (server) the same operations as MCP tools: `/mcp` and the stdio server's tools |
//! | `request`     | (server) what the domain knows of a request: client IP, User-Agent, request id |
//! | [`error`]     | the error every server function returns |
//! | [`types`]     | typed ids, UTC timestamps, roles, form secrets |
//! | `config`      | (server) configuration from the environment |
//! | `db`          | (server) the SQLite/PostgreSQL pool, migrations, and connections kept aside (token lookups, the page of tasks) |
//! | `state`       | (server) state shared by handlers and server functions |
//! | `web`         | (server) the axum router and its middleware |
//! | `maintenance` | (server) the periodic sweep: expiries, rotation grace, retention |
//! | `metrics`     | (server) Prometheus metrics, served on their own listener |
//! | `keys`        | (server) the keyring: session, device, audit-chain and sealing keys with ids |
//! | `crypto`      | (server) randomness, SHA-256, constant-time compare |
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
pub mod oauth;
pub mod overview;
pub mod pages;
pub mod projects;
pub mod sessions;
pub mod tasks;
pub mod tokens;
pub mod types;

#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod keys;
#[cfg(feature = "ssr")]
pub mod maintenance;
#[cfg(feature = "ssr")]
pub mod mcp;
#[cfg(feature = "ssr")]
pub mod metrics;
#[cfg(feature = "ssr")]
pub mod request;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod web;

pub use app::{shell, App};

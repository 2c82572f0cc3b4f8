//! One module per page (or group of pages) of the dashboard.

pub mod dashboard;
pub mod login;
pub mod sessions;
pub mod setup;

//! Sign-in: first-run setup, login, logout and "who am I". The rules live
//! in `service` (behind `ssr`: throttling, known devices, setup codes), so
//! every entry point (the server functions in `rpc`, the admin CLI) shares
//! them; `second_step` completes a sign-in with a second factor, and `sudo`
//! is the re-confirmation sensitive actions need.

#[cfg(feature = "ssr")]
pub mod device;
#[cfg(feature = "ssr")]
pub mod second_step;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod setup_code;
#[cfg(feature = "ssr")]
pub mod sudo;
#[cfg(feature = "ssr")]
pub mod throttle;

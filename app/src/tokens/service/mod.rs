//! Token queries, one file per verb. Every query that reads or changes a
//! token filters on its owner's account id; functions take the pool and an
//! explicit `now`.

mod authenticate;
mod create;
mod detail;
mod family;
mod lookup;
mod read;
mod revoke;
mod rotate;
mod update;

pub use authenticate::*;
pub use create::*;
pub use detail::detail;
pub use family::*;
pub use lookup::TokenLookups;
pub use read::*;
pub use revoke::*;
pub use rotate::*;
pub use update::*;

//! Tenant directories: DID → route.
//!
//! The embedded default is [`StaticDirectory`], built from the configuration's
//! `[[routes]]`; the PostgreSQL-backed one arrives with the data work.

mod static_routes;

pub use static_routes::StaticDirectory;

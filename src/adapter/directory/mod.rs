//! Tenant directories: DID → route.
//!
//! [`StaticDirectory`] is built from the configuration's `[[routes]]`;
//! [`TenantManagerDirectory`] asks the platform's tenant-manager; the
//! PostgreSQL one lives with the other PostgreSQL adapters;
//! [`ChainDirectory`] tries several in order.

mod chain;
mod static_routes;
pub mod tenant_manager;

pub use chain::ChainDirectory;
pub use static_routes::StaticDirectory;
pub use tenant_manager::TenantManagerDirectory;

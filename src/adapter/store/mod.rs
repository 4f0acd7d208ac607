//! Call stores. [`MemoryCallStore`] is the embedded default.

mod memory;

pub use memory::MemoryCallStore;

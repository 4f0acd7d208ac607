//! Fault scenarios of the data path (see main.rs).

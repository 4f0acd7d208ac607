//! Fault scenarios of the call path (see main.rs).

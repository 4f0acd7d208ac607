//! Ports (traits) and use cases.

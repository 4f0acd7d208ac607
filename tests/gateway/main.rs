//! Integration tests of the gateway, compiled into one binary.

mod binary;
mod harness;
mod lifecycle;
mod support;

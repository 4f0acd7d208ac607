//! Integration tests of the gateway, compiled into one binary.

mod against_sim;
mod binary;
mod harness;
mod lifecycle;
mod support;

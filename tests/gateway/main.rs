//! Integration tests of the gateway, compiled into one binary.

mod against_sim;
mod api;
mod binary;
mod conversation;
mod harness;
mod lifecycle;
mod outbound;
mod support;

//! Tests of the ARI client: the contract with Asterisk's Swagger description, and
//! the client against a local HTTP server replaying the recorded responses.

mod client;
mod contract;
mod errors;
mod mock;

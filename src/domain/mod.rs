//! Pure call and conversation model: identifiers, value types, state machines, events.
//!
//! Nothing here does I/O or reads the clock: time comes in as a parameter. Values
//! are checked once, at the boundary, into newtypes whose `parse` is the only way
//! in, so code past the boundary cannot hold an invalid one.

pub mod actions;
pub mod call;
pub mod dialing;
pub mod endpoint;
pub mod events;
pub mod ids;
pub mod phone;
pub mod pii;
pub mod screening;
pub mod transfer;

pub use actions::{DtmfDigits, DtmfError, SayText, SayTextError};
pub use dialing::{DialRefusal, DialRules, NumberPrefix, PrefixError};
pub use endpoint::{EndpointTemplate, EndpointTemplateError};
pub use ids::{AgentId, CallId, ChannelRef, IdError, TenantId};
pub use phone::{Did, E164, PhoneError, Redacted};
pub use transfer::{TransferMode, TransferTarget, TransferTargetError};

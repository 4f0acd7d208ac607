//! The call state machine.
//!
//! ```text
//! inbound:  Created ─start─▶ Ringing ─answer─▶ Answered ─converse─▶ Active{Listening ⇄ Thinking ⇄ Speaking}
//! outbound: Created ─originate─▶ Originating ─ring─▶ Ringing ─answer─▶ … │ Busy │ NoAnswer │ Failed
//! Active ─transfer─▶ Transferring ─done─▶ Ended(Transferred) │ ─failed─▶ Active{Speaking}
//! any live state ─hangup/error─▶ Ended{reason}
//! ```
//! Every accepted transition yields the catalog events it stands for; an illegal
//! one is rejected with both states named and changes nothing.

mod state;
mod transition;

pub use state::{CallState, Direction, EndReason, Phase};
pub use transition::{Call, CallInput, TransitionError};

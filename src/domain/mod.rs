//! Pure call and conversation model: identifiers, value types, state machines, events.

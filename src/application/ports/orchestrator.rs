//! The agent orchestrator port (filled by the orchestrator work).

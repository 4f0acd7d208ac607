//! The calls this instance holds, keyed by the caller's channel and by call id.
//! What each ARI event means for them is decided by the router's
//! classification.
//!
//! Events raised while the events socket was down are lost for good (fixture
//! 10), so the snapshot taken after a reconnect is the only way to learn that a
//! call ended meanwhile: a held call whose channel Asterisk no longer has gets
//! [`SessionCommand::ChannelLost`]. A call whose channel is still there goes on
//! untouched, media included.

use super::session::SessionHandle;
use crate::domain::CallId;
use ari::ChannelId;
use std::collections::{HashMap, HashSet};

/// Running sessions by caller channel.
#[derive(Debug, Default)]
pub struct LiveCalls {
    calls: HashMap<ChannelId, SessionHandle>,
    /// Caller channel by call id: the gateway's own channels (`vg-m-{call id}`)
    /// name the call, not the caller.
    by_call: HashMap<CallId, ChannelId>,
}

impl LiveCalls {
    /// Number of calls held.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }

    /// The session of a caller channel.
    pub fn get(&self, channel: &ChannelId) -> Option<&SessionHandle> {
        self.calls.get(channel)
    }

    /// Records a started session.
    pub fn insert(&mut self, channel: ChannelId, handle: SessionHandle) {
        self.by_call.insert(handle.call_id.clone(), channel.clone());
        self.calls.insert(channel, handle);
    }

    /// Forgets a session that has ended.
    pub fn remove(&mut self, channel: &ChannelId) -> Option<SessionHandle> {
        let handle = self.calls.remove(channel)?;
        self.by_call.remove(&handle.call_id);
        super::maps::shrink_after_peak(&mut self.calls);
        super::maps::shrink_after_peak(&mut self.by_call);
        Some(handle)
    }

    /// Every held session (for shutdown).
    pub fn handles(&self) -> impl Iterator<Item = &SessionHandle> {
        self.calls.values()
    }

    /// The caller channel of a held call.
    pub fn caller_of(&self, call: &CallId) -> Option<&ChannelId> {
        self.by_call.get(call)
    }

    /// Sessions whose caller channel is not among `present` (the channel ids
    /// Asterisk listed after a reconnect): each should get `ChannelLost`.
    pub fn vanished<'a>(&self, present: impl IntoIterator<Item = &'a ChannelId>) -> Vec<ChannelId> {
        let present: HashSet<&ChannelId> = present.into_iter().collect();
        self.calls
            .keys()
            .filter(|c| !present.contains(c))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc;

    fn handle(call: &str) -> SessionHandle {
        SessionHandle {
            call_id: CallId::parse(call).unwrap(),
            commands: mpsc::channel(1).0,
        }
    }

    fn id(s: &str) -> ChannelId {
        ChannelId::new(s)
    }

    #[test]
    fn calls_are_found_by_channel_and_by_call_until_removed() {
        let mut calls = LiveCalls::default();
        calls.insert(id("c1"), handle("call-1"));
        let call = CallId::parse("call-1").unwrap();
        assert_eq!(calls.caller_of(&call), Some(&id("c1")));
        assert!(calls.get(&id("c1")).is_some());
        calls.remove(&id("c1"));
        assert_eq!(
            calls.caller_of(&call),
            None,
            "a call that ended is forgotten"
        );
        assert!(calls.is_empty());
    }

    #[test]
    fn vanished_lists_only_calls_whose_channel_is_gone() {
        let mut calls = LiveCalls::default();
        for (i, c) in ["a", "b", "c"].into_iter().enumerate() {
            calls.insert(id(c), handle(&format!("call-{i}")));
        }
        let present = [id("b"), id("zzz")];
        let mut gone = calls.vanished(&present);
        gone.sort();
        assert_eq!(gone, [id("a"), id("c")]);
    }
}

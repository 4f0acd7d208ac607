//! Calls an earlier gateway process handed to a person and left talking when
//! it shut down (attended transfer, then a deploy): caller and person are
//! still in the call's bridge on Asterisk, and no session watches them.
//!
//! Each resync finds them (a `vg-b-` bridge of no live session with a
//! `vg-h-` person leg in it) and watches their channels. When one party
//! leaves, the others are hung up and the bridge destroyed, as the session
//! would have done. A `vg-b-` bridge of no live session with nobody left in
//! it is destroyed then too. Other leftovers are not touched: without a
//! person leg there is no telling whose they are.

use super::CallRouter;
use crate::application::{
    own_ids::{OwnChannel, parse_bridge},
    ports::telephony::HangupCause,
    session::ignore_gone,
};
use ari::{Bridge, BridgeId, ChannelId};

/// One handed-over call being watched.
#[derive(Debug, Clone)]
pub(super) struct HandedOver {
    pub(super) bridge: BridgeId,
    pub(super) members: Vec<ChannelId>,
}

impl CallRouter {
    /// Takes up the handed-over calls and empty bridges no session owns;
    /// returns how many calls are watched now.
    pub(super) fn adopt_handed_over(&mut self, bridges: &[Bridge]) -> usize {
        // Parties that left while the events socket was down: end their calls.
        let left: Vec<ChannelId> = self
            .handed_over
            .iter()
            .filter(|(c, h)| {
                !bridges
                    .iter()
                    .any(|b| b.id == h.bridge && b.channels.contains(c))
            })
            .map(|(c, _)| c.clone())
            .collect();
        for c in &left {
            self.end_handed_over(c);
        }
        for b in bridges {
            let Some(call) = parse_bridge(&b.id) else {
                continue;
            };
            if self.calls.handles().any(|h| h.call_id == call)
                || b.channels.iter().any(|c| self.handed_over.contains_key(c))
            {
                continue;
            }
            if b.channels.is_empty() {
                tracing::info!(bridge = %b.id, "destroying an empty bridge left by an earlier run");
                self.release(Vec::new(), b.id.clone());
                continue;
            }
            let person = b
                .channels
                .iter()
                .any(|c| matches!(OwnChannel::parse(c), Some(OwnChannel::TransferLeg(_))));
            if !person {
                continue;
            }
            tracing::info!(bridge = %b.id, members = b.channels.len(), "watching a call handed to a person by an earlier run");
            let watched = HandedOver {
                bridge: b.id.clone(),
                members: b.channels.clone(),
            };
            for c in &b.channels {
                self.handed_over.insert(c.clone(), watched.clone());
            }
            if b.channels.len() == 1 {
                // The other party left while no gateway was listening.
                self.end_handed_over(&b.channels[0]);
            }
        }
        self.handed_over
            .values()
            .map(|h| &h.bridge)
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// A watched party left: the rest go.
    pub(super) fn end_handed_over(&mut self, left: &ChannelId) {
        let Some(call) = self.handed_over.remove(left) else {
            return;
        };
        let rest: Vec<ChannelId> = call.members.into_iter().filter(|c| c != left).collect();
        for c in &rest {
            self.handed_over.remove(c);
        }
        tracing::info!(bridge = %call.bridge, channel = %left, "a party of a handed-over call left: ending it");
        self.release(rest, call.bridge);
    }

    /// Hangs `channels` up and destroys `bridge`, off the event loop.
    fn release(&self, channels: Vec<ChannelId>, bridge: BridgeId) {
        let t = self.deps.telephony.clone();
        tokio::spawn(async move {
            for c in &channels {
                ignore_gone(
                    "hang up a handed-over party",
                    t.hangup(c, HangupCause::Normal).await,
                );
            }
            ignore_gone(
                "destroy a handed-over bridge",
                t.destroy_bridge(&bridge).await,
            );
        });
    }
}

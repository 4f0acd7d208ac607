//! Taking over a live call another gateway instance answered (`[ha]`): the
//! caller and the call's bridge are still on Asterisk, the old media channel
//! sends audio to a process that is gone. A new externalMedia channel toward
//! this instance joins the bridge, the recogniser opens, the conversation
//! goes on under its conversation id with `session.resume_text`
//! (`ha.resume_text`) said first, and the old channel is hung up. A call
//! taken over while the person of an attended transfer is being rung goes
//! on waiting for that person instead, without a word.

use super::run::Session;
use crate::{
    application::{
        own_ids::{OwnChannel, bridge_id, next_media_channel},
        ports::{calls::CallSummary, orchestrator::ConversationId, telephony::HangupCause},
        session::{resources::ignore_gone, run::read_clock},
    },
    domain::{
        TransferTarget,
        call::{Call, EndReason},
    },
};
use ari::ChannelId;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// A call to take over, as the router found it.
#[derive(Debug, Clone)]
pub struct Takeover {
    /// Its record, as the instance that ran it last wrote it.
    pub record: CallSummary,
    /// Its conversation.
    pub conversation: ConversationId,
    /// The media channel the previous instance left in the bridge.
    pub old_media: ChannelId,
    /// Shared by the calls taken over together: how many re-attach at once.
    pub reattach: Arc<Semaphore>,
    /// A call taken over in an attended transfer: whom the person's leg
    /// rings, and whether that leg is still on Asterisk.
    pub transfer: Option<(TransferTarget, bool)>,
}

impl Takeover {
    /// The highest event number the record covers: the call's events go on after it.
    pub(super) fn sequence(&self) -> u64 {
        self.record.resume.as_ref().map_or(0, |r| r.sequence)
    }
}

impl Session {
    /// Re-attaches the call. Returns false when it ended instead.
    pub(super) async fn resume(&mut self, from: Takeover) -> bool {
        self.res.caller = Some(self.inbound.caller.clone());
        let looked_up = match self.core.route() {
            // Outbound: the route of the API request, rebuilt from the record.
            Some(route) => Ok(Some(route.clone())),
            None => self.deps.directory.lookup(&self.inbound.did).await,
        };
        let route = match looked_up {
            Ok(Some(route)) => route,
            Ok(None) => {
                self.end(
                    EndReason::Error("taken over: the DID has no route any more".into()),
                    true,
                );
                return false;
            }
            Err(e) => {
                self.end(
                    EndReason::Error(format!("taken over: tenant directory: {e}")),
                    true,
                );
                return false;
            }
        };
        if !self.take_route(&route).await {
            return false;
        }
        let r = &from.record;
        let answered = r.answered_at.unwrap_or(r.created_at);
        self.core.resumed(
            Call::resumed(r.direction, r.created_at, answered),
            r.answered_by,
        );
        self.core.conversation_opened(from.conversation.as_str());
        self.look_up_agent(&from.conversation);
        self.conversation = Some(from.conversation.clone());
        // Re-attaching is a handful of ARI requests per call; 20 calls' at
        // once kept a loaded Asterisk from answering any within the request
        // timeout (calls lost), a few at a time each answers quickly.
        let turn = from.reattach.acquire().await;
        let reattached = self.reattach_media(&from.old_media).await;
        drop(turn);
        if let Err(e) = reattached {
            self.end(EndReason::Error(format!("taken over: {e}")), true);
            return false;
        }
        self.now = read_clock();
        if let Err(e) = self.open_stt().await {
            self.end(EndReason::Error(format!("taken over: stt: {e}")), true);
            return false;
        }
        self.now = read_clock();
        tracing::warn!(old_media = %from.old_media, "call taken over from another instance");
        match from.transfer {
            // The caller waits for the person: no resume sentence.
            Some((target, leg_rings)) => {
                if leg_rings {
                    self.res.human = Some(OwnChannel::TransferLeg(self.call_id.clone()).id());
                }
                self.core.at(self.now).resume_transfer(target, leg_rings);
            }
            None => {
                let text = self.deps.config.resume_text.clone();
                self.core.at(self.now).converse(Some(text));
            }
        }
        self.hang_up_old_media(from.old_media);
        !self.core.is_ended()
    }

    /// The old media channel goes once the call is back: the caller's audio
    /// does not wait for its hangup, nor does the next call's re-attach (a
    /// loaded Asterisk took up to `ari.request_timeout` to answer one). It
    /// sits silent in the bridge meanwhile: its process is gone.
    fn hang_up_old_media(&self, old: ChannelId) {
        let t = self.deps.telephony.clone();
        let span = tracing::Span::current();
        tokio::spawn(tracing::Instrument::instrument(
            async move {
                ignore_gone(
                    "hang up the media channel of the instance the call was taken from",
                    t.hangup(&old, HangupCause::Normal).await,
                );
            },
            span,
        ));
    }

    /// New media leg and channel into the call's existing bridge (the old
    /// channel is hung up after: no instant with neither).
    async fn reattach_media(&mut self, old: &ChannelId) -> Result<(), String> {
        let (_, format, attach) = self.open_leg().await?;
        let bridge = bridge_id(&self.call_id);
        self.res.bridge = Some(bridge.clone());
        let media_channel = next_media_channel(&self.call_id, old);
        let latch = self
            .create_media_channel(&media_channel, &attach, format)
            .await?;
        self.bridge_media(&bridge, &media_channel, latch).await
    }
}

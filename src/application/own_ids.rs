//! The ids the gateway gives its own channels and bridges: `vg-{kind}-{call id}`.
//!
//! Chosen by us at creation, so an event that beats the HTTP response still
//! names its call, and after a restart the bridges of calls an earlier
//! process handed to a person are recognised. Every id starting `vg-` is
//! ours: its events are never a new inbound call.

use crate::domain::CallId;
use ari::{BridgeId, ChannelId};

/// What every id of ours starts with.
const OWN: &str = "vg-";
const MEDIA: &str = "vg-m-";
/// A call's externalMedia channel made by an instance that took the call
/// over while the `vg-m-` one still existed (the next takeover goes back).
const MEDIA_TAKEN_OVER: &str = "vg-n-";
const OUTBOUND: &str = "vg-o-";
const TRANSFER_LEG: &str = "vg-h-";
const BRIDGE: &str = "vg-b-";

/// A channel the gateway created, by the call it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnChannel {
    /// The call's externalMedia channel (`vg-m-`).
    Media(CallId),
    /// An outbound call's channel (`vg-o-`).
    Outbound(CallId),
    /// The person's leg of an attended transfer (`vg-h-`).
    TransferLeg(CallId),
}

impl OwnChannel {
    /// The channel id to create it with.
    pub fn id(&self) -> ChannelId {
        let (prefix, call) = match self {
            Self::Media(c) => (MEDIA, c),
            Self::Outbound(c) => (OUTBOUND, c),
            Self::TransferLeg(c) => (TRANSFER_LEG, c),
        };
        ChannelId::new(format!("{prefix}{call}"))
    }

    /// Which of our channels `id` is; the far half of a Local channel
    /// (`vg-o-{call id};2`) counts as its channel. `None`: not one of ours,
    /// or not a kind this gateway creates.
    pub fn parse(id: &ChannelId) -> Option<Self> {
        let base = local_base(id);
        let call = |prefix: &str| CallId::parse(base.strip_prefix(prefix)?).ok();
        if let Some(c) = call(MEDIA).or_else(|| call(MEDIA_TAKEN_OVER)) {
            Some(Self::Media(c))
        } else if let Some(c) = call(OUTBOUND) {
            Some(Self::Outbound(c))
        } else {
            call(TRANSFER_LEG).map(Self::TransferLeg)
        }
    }

    /// The call it belongs to.
    pub fn call(&self) -> &CallId {
        match self {
            Self::Media(c) | Self::Outbound(c) | Self::TransferLeg(c) => c,
        }
    }
}

/// The id of a new media channel for `call` whose media channel is `old`
/// (a takeover): the other of `vg-m-` and `vg-n-`, so both can be in the
/// call's bridge for a moment.
pub fn next_media_channel(call: &CallId, old: &ChannelId) -> ChannelId {
    let prefix = match old.as_str().starts_with(MEDIA_TAKEN_OVER) {
        true => MEDIA,
        false => MEDIA_TAKEN_OVER,
    };
    ChannelId::new(format!("{prefix}{call}"))
}

/// Whether `id` is a channel the gateway created (any `vg-` id, either half).
pub fn is_own_channel(id: &ChannelId) -> bool {
    id.as_str().starts_with(OWN)
}

/// Whether `id` is the far half (`;2`) of a Local channel.
pub fn is_far_half(id: &ChannelId) -> bool {
    id.as_str().split_once(';').is_some()
}

/// `id` without a Local channel's `;1`/`;2` half suffix.
fn local_base(id: &ChannelId) -> &str {
    id.as_str().split_once(';').map_or(id.as_str(), |(b, _)| b)
}

/// The bridge of a call (`vg-b-{call id}`).
pub fn bridge_id(call: &CallId) -> BridgeId {
    BridgeId::new(format!("{BRIDGE}{call}"))
}

/// The call whose bridge `id` is; `None`: not a bridge of ours.
pub fn parse_bridge(id: &BridgeId) -> Option<CallId> {
    CallId::parse(id.as_str().strip_prefix(BRIDGE)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> CallId {
        CallId::parse("c1-x").unwrap()
    }

    #[test]
    fn ids_round_trip() {
        for own in [
            OwnChannel::Media(call()),
            OwnChannel::Outbound(call()),
            OwnChannel::TransferLeg(call()),
        ] {
            let id = own.id();
            assert!(is_own_channel(&id), "{id}");
            assert_eq!(OwnChannel::parse(&id).as_ref(), Some(&own));
            assert_eq!(own.call(), &call());
        }
        assert_eq!(OwnChannel::Media(call()).id().as_str(), "vg-m-c1-x");
        assert_eq!(OwnChannel::Outbound(call()).id().as_str(), "vg-o-c1-x");
        assert_eq!(OwnChannel::TransferLeg(call()).id().as_str(), "vg-h-c1-x");
        assert_eq!(bridge_id(&call()).as_str(), "vg-b-c1-x");
        assert_eq!(parse_bridge(&bridge_id(&call())), Some(call()));
    }

    #[test]
    fn a_taken_over_media_channel_alternates_and_is_still_the_media_channel() {
        let first = OwnChannel::Media(call()).id();
        let next = next_media_channel(&call(), &first);
        assert_eq!(next.as_str(), "vg-n-c1-x");
        assert_eq!(OwnChannel::parse(&next), Some(OwnChannel::Media(call())));
        assert_eq!(next_media_channel(&call(), &next), first);
    }

    #[test]
    fn the_far_half_of_a_local_channel_is_its_channel() {
        let far = ChannelId::new("vg-h-c1-x;2");
        assert_eq!(
            OwnChannel::parse(&far),
            Some(OwnChannel::TransferLeg(call()))
        );
        assert!(is_far_half(&far));
        assert!(!is_far_half(&OwnChannel::TransferLeg(call()).id()));
        assert_eq!(
            OwnChannel::parse(&ChannelId::new("vg-o-c1-x;1")),
            Some(OwnChannel::Outbound(call()))
        );
    }

    #[test]
    fn other_ids_are_not_ours() {
        for other in [
            "1795241008.163",
            "vg-m-",
            "vg-m-a b",
            "vg-x-c1",
            "xvg-m-c1",
            "vg-b-c1",
        ] {
            assert_eq!(OwnChannel::parse(&ChannelId::new(other)), None, "{other}");
        }
        assert!(is_own_channel(&ChannelId::new("vg-x-c1")));
        assert!(!is_own_channel(&ChannelId::new("1795241008.163")));
        assert_eq!(parse_bridge(&BridgeId::new("other")), None);
        assert_eq!(parse_bridge(&BridgeId::new("vg-b-")), None);
    }
}

//! Identifiers of ARI resources, as newtypes so a bridge id cannot be passed where a
//! channel id is expected.

id_newtype!(
    /// A channel's unique id (`Channel.id`), e.g. `1795241008.163`, or the id we chose
    /// with `channelId` on originate/externalMedia.
    ChannelId
);
id_newtype!(
    /// A bridge's id (`Bridge.id`): a UUID unless we chose it with `bridgeId`.
    BridgeId
);
id_newtype!(
    /// A playback's id (`Playback.id`): a UUID unless we chose it with `playbackId`.
    PlaybackId
);
id_newtype!(
    /// A live or stored recording's name (recordings are addressed by name, not id).
    RecordingName
);

//! The catalogue of every ARI request this client can make.
//!
//! Each client method builds its request from one of these constants, and the
//! builder ([`super::call`]) refuses any path, query or body parameter the constant
//! does not declare. The contract test checks every entry of [`ALL_REQUESTS`] against
//! Asterisk 20.20.1's own Swagger description, so what the client sends is what
//! Asterisk documents.

/// HTTP method of an ARI operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET (the only method the client retries).
    Get,
    /// POST.
    Post,
    /// DELETE.
    Delete,
}

impl HttpMethod {
    /// Upper-case name, as Swagger's `httpMethod` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Delete => "DELETE",
        }
    }

    /// Whether repeating the request cannot change anything on Asterisk: only these
    /// are retried. DELETE is not, because a retried hangup whose first attempt
    /// succeeded would report a misleading 404.
    pub fn is_idempotent_read(self) -> bool {
        matches!(self, Self::Get)
    }
}

/// One ARI operation: method, path relative to the `/ari` base (with `{name}`
/// placeholders), and the parameters the client may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestSpec {
    /// Short name for logs and errors (`channels.answer`).
    pub name: &'static str,
    /// HTTP method.
    pub method: HttpMethod,
    /// Path as in the Swagger `apis[].path`, e.g. `/channels/{channelId}/answer`.
    pub path_template: &'static str,
    /// Query parameters the client may send.
    pub query_params: &'static [&'static str],
    /// Body parameters the client may send (each becomes a key of the JSON body).
    pub body_params: &'static [&'static str],
}

impl RequestSpec {
    /// Names of the `{placeholders}` in the path.
    pub fn path_params(&self) -> impl Iterator<Item = &'static str> {
        self.path_template
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
    }
}

macro_rules! specs {
    ($(
        $(#[$doc:meta])*
        $konst:ident = $name:literal, $method:ident $path:literal,
            query [$($q:literal),* $(,)?], body [$($b:literal),* $(,)?];
    )+) => {
        $(
            $(#[$doc])*
            pub const $konst: RequestSpec = RequestSpec {
                name: $name,
                method: HttpMethod::$method,
                path_template: $path,
                query_params: &[$($q),*],
                body_params: &[$($b),*],
            };
        )+
        /// Every request the client can make.
        pub const ALL_REQUESTS: &[RequestSpec] = &[$($konst),+];
    };
}

specs! {
    /// `GET /channels`.
    CHANNELS_LIST = "channels.list", Get "/channels", query [], body [];
    /// `POST /channels` (originate).
    CHANNELS_ORIGINATE = "channels.originate", Post "/channels",
        query ["endpoint", "app", "appArgs", "callerId", "timeout", "channelId", "otherChannelId", "formats"],
        body ["variables"];
    /// `GET /channels/{channelId}`.
    CHANNELS_GET = "channels.get", Get "/channels/{channelId}", query [], body [];
    /// `DELETE /channels/{channelId}` (hangup).
    CHANNELS_HANGUP = "channels.hangup", Delete "/channels/{channelId}", query ["reason"], body [];
    /// `POST /channels/{channelId}/answer`.
    CHANNELS_ANSWER = "channels.answer", Post "/channels/{channelId}/answer", query [], body [];
    /// `POST /channels/{channelId}/ring`.
    CHANNELS_RING = "channels.ring", Post "/channels/{channelId}/ring", query [], body [];
    /// `POST /channels/{channelId}/play`.
    CHANNELS_PLAY = "channels.play", Post "/channels/{channelId}/play",
        query ["media", "lang", "playbackId"], body [];
    /// `POST /channels/{channelId}/record`.
    CHANNELS_RECORD = "channels.record", Post "/channels/{channelId}/record",
        query ["name", "format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep", "terminateOn"],
        body [];
    /// `POST /channels/{channelId}/snoop`.
    CHANNELS_SNOOP = "channels.snoop", Post "/channels/{channelId}/snoop",
        query ["spy", "whisper", "app", "appArgs", "snoopId"], body [];
    /// `POST /channels/{channelId}/redirect`.
    CHANNELS_REDIRECT = "channels.redirect", Post "/channels/{channelId}/redirect",
        query ["endpoint"], body [];
    /// `POST /channels/{channelId}/continue`.
    CHANNELS_CONTINUE = "channels.continue", Post "/channels/{channelId}/continue",
        query ["context", "extension", "priority", "label"], body [];
    /// `GET /channels/{channelId}/variable`.
    CHANNELS_GET_VAR = "channels.getVariable", Get "/channels/{channelId}/variable",
        query ["variable"], body [];
    /// `POST /channels/{channelId}/variable`.
    CHANNELS_SET_VAR = "channels.setVariable", Post "/channels/{channelId}/variable",
        query ["variable", "value"], body [];
    /// `POST /channels/{channelId}/dtmf`.
    CHANNELS_DTMF = "channels.sendDtmf", Post "/channels/{channelId}/dtmf",
        query ["dtmf", "before", "between", "duration", "after"], body [];
    /// `POST /channels/externalMedia`.
    CHANNELS_EXTERNAL_MEDIA = "channels.externalMedia", Post "/channels/externalMedia",
        query ["channelId", "app", "external_host", "encapsulation", "transport",
               "connection_type", "format", "direction", "data", "transport_data"],
        body ["variables"];
    /// `GET /bridges`.
    BRIDGES_LIST = "bridges.list", Get "/bridges", query [], body [];
    /// `POST /bridges`.
    BRIDGES_CREATE = "bridges.create", Post "/bridges", query ["type", "bridgeId", "name"], body [];
    /// `GET /bridges/{bridgeId}`.
    BRIDGES_GET = "bridges.get", Get "/bridges/{bridgeId}", query [], body [];
    /// `DELETE /bridges/{bridgeId}`.
    BRIDGES_DESTROY = "bridges.destroy", Delete "/bridges/{bridgeId}", query [], body [];
    /// `POST /bridges/{bridgeId}/addChannel`.
    BRIDGES_ADD_CHANNEL = "bridges.addChannel", Post "/bridges/{bridgeId}/addChannel",
        query ["channel"], body [];
    /// `POST /bridges/{bridgeId}/removeChannel`.
    BRIDGES_REMOVE_CHANNEL = "bridges.removeChannel", Post "/bridges/{bridgeId}/removeChannel",
        query ["channel"], body [];
    /// `POST /bridges/{bridgeId}/play`.
    BRIDGES_PLAY = "bridges.play", Post "/bridges/{bridgeId}/play",
        query ["media", "lang", "playbackId"], body [];
    /// `POST /bridges/{bridgeId}/record`.
    BRIDGES_RECORD = "bridges.record", Post "/bridges/{bridgeId}/record",
        query ["name", "format", "maxDurationSeconds", "maxSilenceSeconds", "ifExists", "beep", "terminateOn"],
        body [];
    /// `GET /playbacks/{playbackId}`.
    PLAYBACKS_GET = "playbacks.get", Get "/playbacks/{playbackId}", query [], body [];
    /// `DELETE /playbacks/{playbackId}` (stop; the playback ends `done`).
    PLAYBACKS_STOP = "playbacks.stop", Delete "/playbacks/{playbackId}", query [], body [];
    /// `POST /recordings/live/{recordingName}/stop`.
    RECORDINGS_STOP = "recordings.stop", Post "/recordings/live/{recordingName}/stop", query [], body [];
    /// `GET /applications`.
    APPLICATIONS_LIST = "applications.list", Get "/applications", query [], body [];
    /// `GET /applications/{applicationName}`.
    APPLICATIONS_GET = "applications.get", Get "/applications/{applicationName}", query [], body [];
    /// `POST /applications/{applicationName}/subscription`.
    APPLICATIONS_SUBSCRIBE = "applications.subscribe", Post "/applications/{applicationName}/subscription",
        query ["eventSource"], body [];
    /// `GET /asterisk/info`.
    ASTERISK_INFO = "asterisk.info", Get "/asterisk/info", query [], body [];
    /// `GET /asterisk/ping`.
    ASTERISK_PING = "asterisk.ping", Get "/asterisk/ping", query [], body [];
}

//! The few messages of `google.cloud.speech.v2` that `StreamingRecognize`
//! needs, written by hand as `prost` structs (no protoc, no build script).
//! Field numbers and types are those of googleapis'
//! `google/cloud/speech/v2/cloud_speech.proto` and
//! `google/protobuf/duration.proto`; fields we neither send nor read are
//! left out (prost skips unknown fields when decoding). Public for the
//! gateway's own tests, whose fake server speaks them.

/// The gRPC path of the method.
pub const STREAMING_RECOGNIZE: &str = "/google.cloud.speech.v2.Speech/StreamingRecognize";

/// `StreamingRecognizeRequest`: the first carries `recognizer` and
/// `streaming_config`, every later one `audio`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingRecognizeRequest {
    #[prost(string, tag = "3")]
    pub recognizer: String,
    #[prost(oneof = "StreamingRequest", tags = "6, 5")]
    pub streaming_request: Option<StreamingRequest>,
}

/// `oneof streaming_request`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum StreamingRequest {
    #[prost(message, tag = "6")]
    StreamingConfig(StreamingRecognitionConfig),
    #[prost(bytes, tag = "5")]
    Audio(Vec<u8>),
}

/// `StreamingRecognitionConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingRecognitionConfig {
    #[prost(message, optional, tag = "1")]
    pub config: Option<RecognitionConfig>,
    #[prost(message, optional, tag = "2")]
    pub streaming_features: Option<StreamingRecognitionFeatures>,
}

/// `RecognitionConfig` (the `explicit_decoding_config` arm of its oneof).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecognitionConfig {
    #[prost(message, optional, tag = "8")]
    pub explicit_decoding_config: Option<ExplicitDecodingConfig>,
    #[prost(message, optional, tag = "2")]
    pub features: Option<RecognitionFeatures>,
    #[prost(string, tag = "9")]
    pub model: String,
    #[prost(string, repeated, tag = "10")]
    pub language_codes: Vec<String>,
    #[prost(message, optional, tag = "6")]
    pub adaptation: Option<SpeechAdaptation>,
}

/// `SpeechAdaptation`: phrases to favour (the session's hints).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpeechAdaptation {
    #[prost(message, repeated, tag = "1")]
    pub phrase_sets: Vec<AdaptationPhraseSet>,
}

/// `SpeechAdaptation.AdaptationPhraseSet` (the `inline_phrase_set` arm).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AdaptationPhraseSet {
    #[prost(message, optional, tag = "2")]
    pub inline_phrase_set: Option<PhraseSet>,
}

/// `PhraseSet` (its phrases only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PhraseSet {
    #[prost(message, repeated, tag = "3")]
    pub phrases: Vec<Phrase>,
}

/// `PhraseSet.Phrase`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Phrase {
    #[prost(string, tag = "1")]
    pub value: String,
}

/// `ExplicitDecodingConfig.AudioEncoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum AudioEncoding {
    Unspecified = 0,
    Linear16 = 1,
    Mulaw = 2,
}

/// `ExplicitDecodingConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExplicitDecodingConfig {
    #[prost(enumeration = "AudioEncoding", tag = "1")]
    pub encoding: i32,
    #[prost(int32, tag = "2")]
    pub sample_rate_hertz: i32,
    #[prost(int32, tag = "3")]
    pub audio_channel_count: i32,
}

/// `RecognitionFeatures` (punctuation only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct RecognitionFeatures {
    #[prost(bool, tag = "4")]
    pub enable_automatic_punctuation: bool,
}

/// `StreamingRecognitionFeatures`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingRecognitionFeatures {
    #[prost(bool, tag = "1")]
    pub enable_voice_activity_events: bool,
    #[prost(bool, tag = "2")]
    pub interim_results: bool,
}

/// `StreamingRecognizeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingRecognizeResponse {
    #[prost(message, repeated, tag = "6")]
    pub results: Vec<StreamingRecognitionResult>,
    #[prost(enumeration = "SpeechEventType", tag = "3")]
    pub speech_event_type: i32,
    #[prost(message, optional, tag = "7")]
    pub speech_event_offset: Option<Duration>,
}

/// `StreamingRecognizeResponse.SpeechEventType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, prost::Enumeration)]
#[repr(i32)]
pub enum SpeechEventType {
    Unspecified = 0,
    EndOfSingleUtterance = 1,
    SpeechActivityBegin = 2,
    SpeechActivityEnd = 3,
}

/// `StreamingRecognitionResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamingRecognitionResult {
    #[prost(message, repeated, tag = "1")]
    pub alternatives: Vec<SpeechRecognitionAlternative>,
    #[prost(bool, tag = "2")]
    pub is_final: bool,
    #[prost(float, tag = "3")]
    pub stability: f32,
    #[prost(message, optional, tag = "4")]
    pub result_end_offset: Option<Duration>,
}

/// `SpeechRecognitionAlternative` (no word list).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SpeechRecognitionAlternative {
    #[prost(string, tag = "1")]
    pub transcript: String,
    #[prost(float, tag = "2")]
    pub confidence: f32,
}

/// `google.protobuf.Duration`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Duration {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Duration {
    /// As a `std` duration; negative or absurd values (a broken server) give zero.
    pub fn to_std(self) -> std::time::Duration {
        let (Ok(s), Ok(n)) = (u64::try_from(self.seconds), u32::try_from(self.nanos)) else {
            return std::time::Duration::ZERO;
        };
        if n >= 1_000_000_000 {
            return std::time::Duration::from_secs(s);
        }
        std::time::Duration::new(s, n)
    }

    /// From a `std` duration (offsets of test servers).
    pub fn from_std(d: std::time::Duration) -> Self {
        Self {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        }
    }
}

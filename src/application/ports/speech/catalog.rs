//! Choosing speech providers per route: a [`SpeechChoice`] names a primary
//! and its fallbacks for one direction, and a [`SpeechCatalog`] turns it into
//! a provider the session uses like any other (a fallback chain when it names
//! more than one).

use std::{fmt, sync::Arc};

use super::{SpeechToText, TextToSpeech};

/// A route's providers for one direction, by name (`deepgram`, `wyoming`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct SpeechChoice {
    /// The provider that serves first; `None` keeps the instance default's
    /// primary (then `fallbacks` replace only its fallbacks).
    pub primary: Option<String>,
    /// Providers that take over in order when the one before fails.
    pub fallbacks: Vec<String>,
}

impl SpeechChoice {
    /// Neither a primary nor fallbacks: the instance default serves.
    pub fn is_default(&self) -> bool {
        self.primary.is_none() && self.fallbacks.is_empty()
    }
}

impl fmt::Display for SpeechChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.primary.as_deref().unwrap_or("(default)"))?;
        for name in &self.fallbacks {
            write!(f, " → {name}")?;
        }
        Ok(())
    }
}

/// A resolved choice: the provider and how many providers stand behind it.
#[derive(Clone)]
pub struct Chosen<P: ?Sized> {
    /// The provider (a fallback chain when `names` holds more than one).
    pub provider: Arc<P>,
    /// Provider names in order, e.g. `["deepgram", "wyoming"]`.
    pub names: Vec<String>,
}

impl<P: ?Sized> fmt::Debug for Chosen<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chosen")
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// Why a choice cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// No provider has this name.
    #[error("{name:?} is not a speech provider ({known})")]
    Unknown {
        /// The name asked for.
        name: String,
        /// Every provider's name, comma-separated.
        known: String,
    },
    /// The provider exists but does not serve this direction.
    #[error("{0} offers no speech-to-text")]
    NoSpeechToText(String),
    /// The provider is known but this instance cannot use it.
    #[error("{name} is not configured: {why}")]
    Unconfigured {
        /// The provider.
        name: String,
        /// What is missing, naming the key or variable.
        why: String,
    },
    /// A name appears twice in the chain.
    #[error("{0} is listed twice")]
    Repeated(String),
}

/// The providers this instance can use, by name.
pub trait SpeechCatalog: Send + Sync {
    /// The speech-to-text for `choice`.
    fn stt(&self, choice: &SpeechChoice) -> Result<Chosen<dyn SpeechToText>, CatalogError>;
    /// The text-to-speech for `choice`.
    fn tts(&self, choice: &SpeechChoice) -> Result<Chosen<dyn TextToSpeech>, CatalogError>;
}

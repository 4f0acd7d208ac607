//! [`ProviderCatalog`]: every speech provider this instance could construct,
//! by name, and the chains routes ask for, built on first use and kept so
//! that every call of a route shares one chain (and its circuit breakers).
//!
//! A choice resolves to a list of names: the instance default when it names
//! nothing; its primary (or the default's primary when it names only
//! fallbacks) followed by its fallbacks otherwise. One name gives the
//! provider itself, several give a [`FallbackStt`] / [`FallbackTts`]. Each
//! provider has one circuit breaker per direction, shared by every chain it
//! is in: once it has failed enough, every route skips it until it cools down.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

use super::fallback::{FallbackConfig, FallbackStt, FallbackTts, SharedBreaker, SpeechMetrics};
use crate::adapter::config::SpeechProvider;
use crate::application::ports::speech::{
    CatalogError, Chosen, SpeechCatalog, SpeechChoice, SpeechToText, TextToSpeech,
};

struct SttEntry {
    name: String,
    provider: Arc<dyn SpeechToText>,
    /// Sends results while audio flows; `false` for providers that answer
    /// only at the end of an utterance (Wyoming), which no stall detection suits.
    streams_results: bool,
    breaker: SharedBreaker,
}

struct TtsEntry {
    name: String,
    provider: Arc<dyn TextToSpeech>,
    breaker: SharedBreaker,
}

/// The providers of this instance. Build it with the `add_*` methods, then
/// share it behind `Arc<dyn SpeechCatalog>`.
pub struct ProviderCatalog {
    stt: Vec<SttEntry>,
    tts: Vec<TtsEntry>,
    /// Known providers this instance cannot use, with the reason.
    unavailable: Vec<(String, String)>,
    default_stt: Vec<String>,
    default_tts: Vec<String>,
    fallback: FallbackConfig,
    metrics: SpeechMetrics,
    stt_chains: Mutex<HashMap<Vec<String>, Arc<dyn SpeechToText>>>,
    tts_chains: Mutex<HashMap<Vec<String>, Arc<dyn TextToSpeech>>>,
}

impl std::fmt::Debug for ProviderCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let stt: Vec<&str> = self.stt.iter().map(|e| e.name.as_str()).collect();
        let tts: Vec<&str> = self.tts.iter().map(|e| e.name.as_str()).collect();
        f.debug_struct("ProviderCatalog")
            .field("stt", &stt)
            .field("tts", &tts)
            .field("unavailable", &self.unavailable)
            .field("default_stt", &self.default_stt)
            .field("default_tts", &self.default_tts)
            .finish_non_exhaustive()
    }
}

impl ProviderCatalog {
    /// An empty catalog whose default chains are these names (primary first).
    pub fn new(
        default_stt: Vec<String>,
        default_tts: Vec<String>,
        fallback: FallbackConfig,
        metrics: SpeechMetrics,
    ) -> Self {
        Self {
            stt: Vec::new(),
            tts: Vec::new(),
            unavailable: Vec::new(),
            default_stt,
            default_tts,
            fallback,
            metrics,
            stt_chains: Mutex::default(),
            tts_chains: Mutex::default(),
        }
    }

    /// Adds a speech-to-text provider.
    pub fn add_stt(
        &mut self,
        name: impl Into<String>,
        provider: Arc<dyn SpeechToText>,
        streams_results: bool,
    ) {
        self.stt.push(SttEntry {
            name: name.into(),
            provider,
            streams_results,
            breaker: SharedBreaker::new(self.fallback.breaker),
        });
    }

    /// Adds a text-to-speech provider.
    pub fn add_tts(&mut self, name: impl Into<String>, provider: Arc<dyn TextToSpeech>) {
        self.tts.push(TtsEntry {
            name: name.into(),
            provider,
            breaker: SharedBreaker::new(self.fallback.breaker),
        });
    }

    /// Records a known provider that cannot be used here, and why (the
    /// missing key or variable): choosing it reports this.
    pub fn add_unavailable(&mut self, name: impl Into<String>, why: impl Into<String>) {
        self.unavailable.push((name.into(), why.into()));
    }

    /// The names a choice resolves to, checked for repeats.
    fn names(choice: &SpeechChoice, default: &[String]) -> Result<Vec<String>, CatalogError> {
        if choice.is_default() {
            return Ok(default.to_vec());
        }
        let primary = choice
            .primary
            .clone()
            .or_else(|| default.first().cloned())
            .ok_or_else(|| unknown(""))?;
        let names: Vec<String> = std::iter::once(primary)
            .chain(choice.fallbacks.iter().cloned())
            .collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(CatalogError::Repeated(n.clone()));
            }
        }
        Ok(names)
    }

    /// Why `name` is not among the providers of a direction.
    fn missing(&self, name: &str, stt: bool) -> CatalogError {
        if let Some((_, why)) = self.unavailable.iter().find(|(n, _)| n == name) {
            return CatalogError::Unconfigured {
                name: name.to_owned(),
                why: why.clone(),
            };
        }
        if stt && self.tts.iter().any(|e| e.name == name) {
            return CatalogError::NoSpeechToText(name.to_owned());
        }
        unknown(name)
    }
}

/// The error for a name no provider has.
fn unknown(name: &str) -> CatalogError {
    CatalogError::Unknown {
        name: name.to_owned(),
        known: SpeechProvider::names(),
    }
}

fn cached<P: ?Sized>(
    cache: &Mutex<HashMap<Vec<String>, Arc<P>>>,
    names: Vec<String>,
    build: impl FnOnce() -> Result<Arc<P>, CatalogError>,
) -> Result<Chosen<P>, CatalogError> {
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(p) = cache.get(&names) {
        return Ok(Chosen {
            provider: p.clone(),
            names,
        });
    }
    let provider = build()?;
    cache.insert(names.clone(), provider.clone());
    Ok(Chosen { provider, names })
}

impl SpeechCatalog for ProviderCatalog {
    fn stt(&self, choice: &SpeechChoice) -> Result<Chosen<dyn SpeechToText>, CatalogError> {
        let names = Self::names(choice, &self.default_stt)?;
        let entries = names
            .iter()
            .map(|n| {
                self.stt
                    .iter()
                    .find(|e| &e.name == n)
                    .ok_or_else(|| self.missing(n, true))
            })
            .collect::<Result<Vec<_>, _>>()?;
        cached(&self.stt_chains, names, || {
            if let [one] = entries.as_slice() {
                return Ok(one.provider.clone());
            }
            let cfg = FallbackConfig {
                stt_stall_timeout: self
                    .fallback
                    .stt_stall_timeout
                    .filter(|_| entries.iter().all(|e| e.streams_results)),
                ..self.fallback
            };
            let list = entries
                .iter()
                .map(|e| (e.name.clone(), e.provider.clone(), e.breaker.clone()))
                .collect();
            Ok(Arc::new(FallbackStt::with_breakers(
                list,
                cfg,
                self.metrics.clone(),
            )))
        })
    }

    fn tts(&self, choice: &SpeechChoice) -> Result<Chosen<dyn TextToSpeech>, CatalogError> {
        let names = Self::names(choice, &self.default_tts)?;
        let entries = names
            .iter()
            .map(|n| {
                self.tts
                    .iter()
                    .find(|e| &e.name == n)
                    .ok_or_else(|| self.missing(n, false))
            })
            .collect::<Result<Vec<_>, _>>()?;
        cached(&self.tts_chains, names, || {
            if let [one] = entries.as_slice() {
                return Ok(one.provider.clone());
            }
            let list = entries
                .iter()
                .map(|e| (e.name.clone(), e.provider.clone(), e.breaker.clone()))
                .collect();
            Ok(Arc::new(FallbackTts::with_breakers(
                list,
                self.fallback,
                self.metrics.clone(),
            )))
        })
    }
}

#[cfg(test)]
#[path = "catalog_tests.rs"]
mod tests;

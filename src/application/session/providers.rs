//! The call's speech providers: the route's choice, resolved once at setup.

use super::run::Session;
use crate::application::ports::{
    directory::Route,
    speech::{Chosen, SpeechCatalog, SpeechChoice, SpeechToText, TextToSpeech},
};

/// The providers a route's call uses.
pub(crate) struct Resolved {
    pub(crate) stt: Option<Chosen<dyn SpeechToText>>,
    pub(crate) tts: Option<Chosen<dyn TextToSpeech>>,
}

impl Resolved {
    /// The provider names, primary first: (speech-to-text, text-to-speech).
    pub(crate) fn names(&self) -> (Vec<String>, Vec<String>) {
        (
            self.stt
                .as_ref()
                .map(|c| c.names.clone())
                .unwrap_or_default(),
            self.tts
                .as_ref()
                .map(|c| c.names.clone())
                .unwrap_or_default(),
        )
    }
}

/// Takes the providers the route names. A choice the catalog cannot serve
/// (a database route naming an unknown or unconfigured provider; routes of
/// the configuration file were checked at start) is logged and the
/// instance default serves: the call must not fail for it.
pub(crate) fn resolve(catalog: &dyn SpeechCatalog, route: &Route) -> Resolved {
    let (stt, tts) = (route.stt_choice(), route.tts_choice());
    let default = SpeechChoice::default();
    let stt = catalog.stt(&stt).or_else(|e| {
        warn_default(&route.tenant, "stt", &stt, &e);
        catalog.stt(&default)
    });
    let tts = catalog.tts(&tts).or_else(|e| {
        warn_default(&route.tenant, "tts", &tts, &e);
        catalog.tts(&default)
    });
    Resolved {
        stt: stt.ok(),
        tts: tts.ok(),
    }
}

impl Session {
    /// Takes the providers the route names (see [`resolve`]); returns their names.
    pub(super) fn choose_speech(&mut self, route: &Route) -> (Vec<String>, Vec<String>) {
        let Some(catalog) = self.deps.speech.clone() else {
            return (Vec::new(), Vec::new());
        };
        let resolved = resolve(catalog.as_ref(), route);
        let names = resolved.names();
        if let Some(chosen) = resolved.stt {
            self.stt_provider = chosen.provider;
        }
        if let Some(chosen) = resolved.tts {
            self.tts_provider = chosen.provider;
        }
        tracing::debug!(stt = ?names.0, tts = ?names.1, "speech providers");
        names
    }
}

fn warn_default(
    tenant: &crate::domain::TenantId,
    direction: &str,
    choice: &SpeechChoice,
    error: &crate::application::ports::speech::CatalogError,
) {
    tracing::warn!(
        %tenant, direction, choice = %choice, %error,
        "the route's speech providers cannot be used; the instance default serves this call"
    );
}

//! The call's speech providers: the route's choice, resolved once at setup.

use super::run::Session;
use crate::application::ports::{directory::Route, speech::SpeechChoice};

impl Session {
    /// Takes the providers the route names. A choice the catalog cannot serve
    /// (a database route naming an unknown or unconfigured provider; routes of
    /// the configuration file were checked at start) is logged and the
    /// instance default serves: the call must not fail for it.
    pub(super) fn choose_speech(&mut self, route: &Route) -> (Vec<String>, Vec<String>) {
        let mut names = (Vec::new(), Vec::new());
        let Some(catalog) = self.deps.speech.clone() else {
            return names;
        };
        let (stt, tts) = (route.stt_choice(), route.tts_choice());
        let default = SpeechChoice::default();
        let stt = catalog.stt(&stt).or_else(|e| {
            warn_default(&route.tenant, "stt", &stt, &e);
            catalog.stt(&default)
        });
        if let Ok(chosen) = stt {
            self.stt_provider = chosen.provider;
            names.0 = chosen.names;
        }
        let tts = catalog.tts(&tts).or_else(|e| {
            warn_default(&route.tenant, "tts", &tts, &e);
            catalog.tts(&default)
        });
        if let Ok(chosen) = tts {
            self.tts_provider = chosen.provider;
            names.1 = chosen.names;
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

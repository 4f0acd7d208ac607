//! Building the speech providers: every provider the configuration can
//! construct goes into one catalog, from which the instance default and each
//! route's choice are drawn, plus the prompt played when synthesis fails.

use super::ServerError;
use crate::{
    adapter::{
        config::{CloudSection, Config, OpenAiSection, SpeechProvider},
        speech::{
            aws::{AwsConfig, PollyTts, SharedCredentials, TranscribeStt, credentials, imds},
            azure::{AzureConfig, AzureStt, AzureTts},
            catalog::ProviderCatalog,
            deepgram::{ApiKey, DeepgramConfig, DeepgramStt, DeepgramTts},
            elevenlabs::{ElevenLabsConfig, ElevenLabsTts},
            fake::{FakeStt, FakeSttConfig, FakeTts, FakeTtsConfig},
            fallback::{FallbackConfig, SpeechMetrics},
            google::{
                GoogleConfig, GoogleCredentials, GoogleStt, GoogleTts, SttEncoding,
                regional_stt_endpoint,
            },
            openai::{OpenAiStt, OpenAiSttConfig, OpenAiTts, OpenAiTtsConfig},
            prompt::load_prompt,
            wyoming::{WyomingStt, WyomingSttConfig, WyomingTts, WyomingTtsConfig},
        },
    },
    application::{
        ports::speech::{SpeechCatalog, SpeechChoice, SpeechToText, TextToSpeech},
        session::Prompt,
    },
};
use std::{path::Path, sync::Arc};

/// What the sessions get: the default providers and the catalog routes choose from.
pub(super) struct Speech {
    pub(super) stt: Arc<dyn SpeechToText>,
    pub(super) tts: Arc<dyn TextToSpeech>,
    pub(super) catalog: Arc<dyn SpeechCatalog>,
}

/// Builds the catalog and the `[speech]` defaults (`stt` then `stt_fallback`,
/// `tts` then `tts_fallback`), and checks every `[[routes]]` choice against
/// it, so that a route naming a provider this instance cannot use stops the
/// start.
pub(super) fn speech(config: &Config, metrics: &SpeechMetrics) -> Result<Speech, ServerError> {
    let catalog = catalog(config, metrics)?;
    let default = SpeechChoice::default();
    let stt = catalog
        .stt(&default)
        .map_err(|e| ServerError::Setup(format!("speech.stt: {e}")))?
        .provider;
    let tts = catalog
        .tts(&default)
        .map_err(|e| ServerError::Setup(format!("speech.tts: {e}")))?
        .provider;
    for (i, r) in config.routes.iter().enumerate() {
        let what = |key: &str, e: &dyn std::fmt::Display| {
            ServerError::Setup(format!("routes[{i}] (did {:?}).{key}: {e}", r.did))
        };
        let (stt, tts) = (
            SpeechChoice {
                primary: r.stt.clone(),
                fallbacks: r.stt_fallback.clone(),
            },
            SpeechChoice {
                primary: r.tts.clone(),
                fallbacks: r.tts_fallback.clone(),
            },
        );
        let key = |c: &SpeechChoice, dir: &str| match c.primary {
            Some(_) => dir.to_owned(),
            None => format!("{dir}_fallback"),
        };
        if !stt.is_default() {
            catalog.stt(&stt).map_err(|e| what(&key(&stt, "stt"), &e))?;
        }
        if !tts.is_default() {
            catalog.tts(&tts).map_err(|e| what(&key(&tts, "tts"), &e))?;
        }
    }
    Ok(Speech {
        stt,
        tts,
        catalog: Arc::new(catalog),
    })
}

/// What `serve` would refuse about speech, without serving: the providers
/// every route names and the failure prompt (`check-config` runs it).
pub fn check_speech(config: &Config) -> Result<(), ServerError> {
    speech(config, &SpeechMetrics::default())?;
    let rate = crate::application::session::SessionConfig::default()
        .wire_format
        .rate();
    failure_prompt(config, rate).map(drop)
}

/// `[speech] tts_failure_prompt`, loaded and resampled to `rate`; `None` when empty.
pub(super) fn failure_prompt(config: &Config, rate: u32) -> Result<Option<Prompt>, ServerError> {
    let path = config.speech.tts_failure_prompt.trim();
    if path.is_empty() {
        return Ok(None);
    }
    load_prompt(Path::new(path), rate)
        .map(Some)
        .map_err(|e| ServerError::Setup(format!("speech.tts_failure_prompt: {e}")))
}

/// Every provider that can be constructed; the others are recorded with why not.
fn catalog(config: &Config, metrics: &SpeechMetrics) -> Result<ProviderCatalog, ServerError> {
    let s = &config.speech;
    let names = |first: SpeechProvider, rest: &[SpeechProvider]| {
        std::iter::once(first)
            .chain(rest.iter().copied())
            .map(|p| p.name().to_owned())
            .collect()
    };
    let mut c = ProviderCatalog::new(
        names(s.stt, &s.stt_fallback),
        names(s.tts, &s.tts_fallback),
        FallbackConfig {
            first_byte_timeout: s.first_byte_timeout.0,
            ..FallbackConfig::default()
        },
        metrics.clone(),
    );
    let wyoming = SpeechProvider::Wyoming.name();
    // Wyoming answers only at the end of an utterance: no stall detection for it.
    c.add_stt(
        wyoming,
        Arc::new(WyomingStt::new(WyomingSttConfig::new(
            s.wyoming.stt.clone(),
        ))),
        false,
    );
    c.add_tts(
        wyoming,
        Arc::new(WyomingTts::new(WyomingTtsConfig {
            voice: s.wyoming.voice.clone(),
            ..WyomingTtsConfig::new(s.wyoming.tts.clone())
        })),
    );
    let fake = SpeechProvider::Fake.name();
    // `[speech.fake]`: fixed delays, so that a load benchmark measures the gateway alone.
    let stt = FakeSttConfig {
        final_delay: s.fake.stt_final_delay.0,
        interim_every: s.fake.stt_interim_every.0,
        trailing_silence: Some(s.fake.stt_trailing_silence.0),
        ..FakeSttConfig::default()
    };
    let tts = FakeTtsConfig {
        first_audio_delay: s.fake.tts_first_audio_delay.0,
        speedup: s.fake.tts_speedup,
        ..FakeTtsConfig::default()
    };
    c.add_stt(fake, Arc::new(FakeStt::new(stt)), true);
    c.add_tts(fake, Arc::new(FakeTts::new(tts)));
    let name = SpeechProvider::Deepgram.name();
    match deepgram(config) {
        Ok(d) => {
            c.add_stt(name, Arc::new(DeepgramStt::new(d.clone())), true);
            c.add_tts(name, Arc::new(DeepgramTts::new(d)));
        }
        Err(why) => c.add_unavailable(name, why),
    }
    let name = SpeechProvider::Elevenlabs.name();
    match elevenlabs(config) {
        Ok(e) => c.add_tts(name, Arc::new(ElevenLabsTts::new(e))),
        Err(why) => c.add_unavailable(name, why),
    }
    let name = SpeechProvider::Openai.name();
    let setup = |e: &dyn std::fmt::Display| ServerError::Setup(format!("speech.openai: {e}"));
    match openai(config) {
        Ok((tts, stt)) => {
            c.add_tts(name, Arc::new(OpenAiTts::new(tts).map_err(|e| setup(&e))?));
            // Transcripts come only after each commit (no server VAD): no
            // stall detection, as for Wyoming.
            let stt = OpenAiStt::new(stt).map_err(|e| setup(&e))?;
            c.add_stt(name, Arc::new(stt), false);
        }
        Err(why) => c.add_unavailable(name, why),
    }
    let name = SpeechProvider::Azure.name();
    match azure(config) {
        Ok(a) => {
            let tts = AzureTts::new(a.clone())
                .map_err(|e| ServerError::Setup(format!("speech.azure: {e}")))?;
            c.add_stt(name, Arc::new(AzureStt::new(a)), true);
            c.add_tts(name, Arc::new(tts));
        }
        Err(why) => c.add_unavailable(name, why),
    }
    add_aws(&mut c, config)?;
    add_google(config, &mut c);
    Ok(c)
}

/// `stt = "aws"` (Transcribe streaming) and `tts = "polly"`, both from `[speech.aws]`.
fn add_aws(c: &mut ProviderCatalog, config: &Config) -> Result<(), ServerError> {
    let (stt, tts) = (SpeechProvider::Aws.name(), SpeechProvider::Polly.name());
    match aws(config, &credentials::ProcessEnv) {
        Ok(a) => {
            c.add_stt(stt, Arc::new(TranscribeStt::new(a.clone())), true);
            let polly =
                PollyTts::new(a).map_err(|e| ServerError::Setup(format!("speech.aws: {e}")))?;
            c.add_tts(tts, Arc::new(polly));
        }
        Err(why) => {
            c.add_unavailable(stt, why.clone());
            c.add_unavailable(tts, why);
        }
    }
    Ok(())
}

/// The standard chain: the file's keys, the environment, the profile, and
/// last the instance role (IMDSv2), fetched at the first use, never here:
/// it is tried when `AWS_EC2_METADATA_SERVICE_ENDPOINT` names the service
/// or the machine is an EC2 instance, unless `AWS_EC2_METADATA_DISABLED`.
fn chain(
    explicit: &credentials::Explicit,
    env: &dyn credentials::Env,
) -> Result<SharedCredentials, String> {
    let missing = match credentials::resolve(explicit, env) {
        Ok(c) => return Ok(c.into()),
        Err(e) => e,
    };
    match imds::Imds::from_env(env).filter(|_| imds::applies(env)) {
        Some(service) => Ok(SharedCredentials::instance_role(service)),
        None if imds::disabled(env) => Err(format!(
            "{missing}; the instance role is off (AWS_EC2_METADATA_DISABLED)"
        )),
        None => Err(format!(
            "{missing}; not an EC2 instance, so no instance role \
             (AWS_EC2_METADATA_SERVICE_ENDPOINT names a metadata service)"
        )),
    }
}

/// `[speech.aws]` with the credential chain and the region from the environment.
pub(crate) fn aws(config: &Config, env: &dyn credentials::Env) -> Result<AwsConfig, String> {
    let s = &config.speech.aws;
    let explicit = credentials::Explicit {
        access_key_id: s.access_key_id.clone(),
        secret_access_key: s.secret_access_key.as_ref().map(|k| k.expose().to_owned()),
        session_token: s.session_token.as_ref().map(|k| k.expose().to_owned()),
    };
    let creds = chain(&explicit, env)?;
    let region = s
        .region
        .clone()
        .or_else(|| env.var("AWS_REGION"))
        .or_else(|| env.var("AWS_DEFAULT_REGION"))
        .ok_or("speech.aws.region is not set (nor AWS_REGION or AWS_DEFAULT_REGION)")?;
    let mut a = AwsConfig::new(creds, region);
    a.transcribe_endpoint = s.transcribe_endpoint.clone();
    a.polly_endpoint = s.polly_endpoint.clone();
    a.language = s.language.clone();
    if let Some(v) = &s.voice {
        a.voice = v.clone();
    }
    if let Some(v) = &s.engine {
        a.engine = v.clone();
    }
    if let Some(v) = s.sample_rate {
        a.sample_rate = v;
    }
    Ok(a)
}

/// Google: both directions share the credentials; STT also needs a project.
fn add_google(config: &Config, c: &mut ProviderCatalog) {
    let name = SpeechProvider::Google.name();
    let g = match google(config) {
        Ok(g) => g,
        Err(why) => return c.add_unavailable(name, why),
    };
    match GoogleTts::new(g.clone()) {
        Ok(tts) => c.add_tts(name, Arc::new(tts)),
        Err(e) => return c.add_unavailable(name, format!("speech.google.credentials_file: {e}")),
    }
    // Speech-to-text alone needs the project: without one, choosing it says so.
    if g.project.is_empty() {
        return c.add_unavailable(
            name,
            "speech.google.project is not set (nor GOOGLE_CLOUD_PROJECT, nor project_id in the key file)",
        );
    }
    match GoogleStt::new(g) {
        Ok(stt) => c.add_stt(name, Arc::new(stt), true),
        Err(e) => c.add_unavailable(name, format!("speech.google.credentials_file: {e}")),
    }
}

fn google(config: &Config) -> Result<GoogleConfig, String> {
    let s = &config.speech.google;
    let env = |var: &str| std::env::var(var).ok().filter(|v| !v.is_empty());
    let credentials = if let Some(k) = &s.api_key {
        GoogleCredentials::ApiKey(ApiKey::new(k.expose()))
    } else if let Some(f) = &s.credentials_file {
        GoogleCredentials::ServiceAccount(f.into())
    } else if let Some(k) = ApiKey::from_env("GOOGLE_API_KEY") {
        GoogleCredentials::ApiKey(k)
    } else if let Some(f) = env("GOOGLE_APPLICATION_CREDENTIALS") {
        GoogleCredentials::ServiceAccount(f.into())
    } else {
        return Err(
            "speech.google.api_key or speech.google.credentials_file is not set \
                    (nor GOOGLE_API_KEY or GOOGLE_APPLICATION_CREDENTIALS)"
                .into(),
        );
    };
    let project = s
        .project
        .clone()
        .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
        .or_else(|| match &credentials {
            GoogleCredentials::ServiceAccount(path) => {
                crate::adapter::speech::google::auth::ServiceAccountKey::load(path)
                    .ok()
                    .and_then(|k| k.project_id)
            }
            GoogleCredentials::ApiKey(_) => None,
        })
        .unwrap_or_default();
    let mut g = GoogleConfig::new(credentials, project);
    let set = |slot: &mut String, v: &Option<String>| {
        if let Some(v) = v {
            slot.clone_from(v);
        }
    };
    set(&mut g.location, &s.location);
    g.stt_endpoint = regional_stt_endpoint(&g.location);
    set(&mut g.model, &s.model);
    set(&mut g.stt_endpoint, &s.stt_endpoint);
    set(&mut g.tts_endpoint, &s.tts_endpoint);
    g.language.clone_from(&s.language);
    g.voice.clone_from(&s.voice);
    if let Some(e) = s.stt_encoding {
        g.stt_encoding = match e {
            crate::adapter::config::GoogleSttEncoding::Linear16 => SttEncoding::Linear16,
            crate::adapter::config::GoogleSttEncoding::Mulaw => SttEncoding::Mulaw,
        };
    }
    Ok(g)
}

/// A cloud API key from the config file, else from its environment variable.
fn key(section: &CloudSection, var: &str, what: &str) -> Result<ApiKey, String> {
    key_of(section.api_key.as_ref(), var, what)
}

fn key_of(
    api_key: Option<&crate::adapter::config::Secret>,
    var: &str,
    what: &str,
) -> Result<ApiKey, String> {
    api_key
        .map(|k| ApiKey::new(k.expose()))
        .or_else(|| ApiKey::from_env(var))
        .ok_or_else(|| format!("speech.{what}.api_key is not set (nor {var})"))
}

fn deepgram(config: &Config) -> Result<DeepgramConfig, String> {
    let c = &config.speech.deepgram;
    let mut d = DeepgramConfig {
        api_key: key(c, "DEEPGRAM_API_KEY", "deepgram")?,
        ..DeepgramConfig::default()
    };
    if let Some(v) = &c.base_url {
        d.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        d.stt_model = v.clone();
    }
    if let Some(v) = &c.voice {
        d.tts_model = v.clone();
    }
    if c.language.is_some() {
        d.language = c.language.clone();
    }
    Ok(d)
}

fn elevenlabs(config: &Config) -> Result<ElevenLabsConfig, String> {
    let c = &config.speech.elevenlabs;
    let mut e = ElevenLabsConfig {
        api_key: key(c, "ELEVENLABS_API_KEY", "elevenlabs")?,
        ..ElevenLabsConfig::default()
    };
    if let Some(v) = &c.base_url {
        e.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        e.model_id = v.clone();
    }
    if let Some(v) = &c.voice {
        e.voice_id = v.clone();
    }
    Ok(e)
}

/// Self-hosted OpenAI-compatible servers may need no key: a `base_url` of
/// its own makes the provider usable without one.
fn openai(config: &Config) -> Result<(OpenAiTtsConfig, OpenAiSttConfig), String> {
    let c = &config.speech.openai;
    let api_key = match key_of(c.api_key.as_ref(), "OPENAI_API_KEY", "openai") {
        Ok(k) => k,
        Err(_) if c.base_url.is_some() => ApiKey::default(),
        Err(why) => return Err(format!("{why}, and no speech.openai.base_url")),
    };
    let mut o = OpenAiTtsConfig {
        api_key,
        ..OpenAiTtsConfig::default()
    };
    if let Some(v) = &c.base_url {
        o.base_url = v.clone();
    }
    if let Some(v) = &c.model {
        o.model = v.clone();
    }
    if let Some(v) = &c.voice {
        o.voice = v.clone();
    }
    let stt = openai_stt(c, o.api_key.clone());
    Ok((o, stt))
}

/// Recognition's settings: the shared key and base URL, and the `stt_*` keys.
fn openai_stt(c: &OpenAiSection, api_key: ApiKey) -> OpenAiSttConfig {
    let mut s = OpenAiSttConfig {
        api_key,
        realtime_url: c.realtime_url.clone(),
        language: c.language.clone(),
        ..OpenAiSttConfig::default()
    };
    if let Some(v) = &c.base_url {
        s.base_url = v.clone();
    }
    if let Some(v) = &c.stt_model {
        s.model = v.clone();
    }
    if let Some(v) = c.stt_mode {
        s.mode = v;
    }
    s
}

/// `[speech.azure]`: the key or a token, and the region unless a `base_url` replaces
/// the regional hosts.
fn azure(config: &Config) -> Result<AzureConfig, String> {
    let c = &config.speech.azure;
    let env = AzureConfig::from_env();
    let token = match &c.token {
        Some(t) => ApiKey::new(t.expose()),
        None => env.token,
    };
    let api_key = match &c.api_key {
        Some(k) => ApiKey::new(k.expose()),
        None if !env.api_key.is_empty() || !token.is_empty() => env.api_key,
        None => {
            return Err(
                "speech.azure.api_key is not set (nor AZURE_SPEECH_KEY); or set speech.azure.token"
                    .into(),
            );
        }
    };
    let region = c.region.clone().unwrap_or(env.region);
    if !region
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit())
    {
        return Err(format!(
            "AZURE_SPEECH_REGION {region:?} is not a region like westeurope"
        ));
    }
    if region.is_empty() && c.base_url.is_none() {
        return Err(
            "speech.azure.region is not set (nor AZURE_SPEECH_REGION, nor speech.azure.base_url)"
                .into(),
        );
    }
    let mut a = AzureConfig {
        api_key,
        token,
        region,
        base_url: c.base_url.clone(),
        language: c.language.clone(),
        output_format: c.output_format.clone(),
        ..AzureConfig::default()
    };
    if let Some(v) = &c.voice {
        a.voice = v.clone();
    }
    Ok(a)
}

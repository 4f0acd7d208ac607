//! `[telemetry.otlp]`: distributed traces exported over OTLP (HTTP/protobuf).

use super::types::HumanDuration;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[telemetry]`
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetrySection {
    /// Traces over OTLP (absent endpoint: off).
    pub otlp: OtlpSection,
}

/// `[telemetry.otlp]`
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OtlpSection {
    /// The collector's base URL (`http://127.0.0.1:4318`); spans are POSTed
    /// to `{endpoint}/v1/traces`. Absent: no traces, no exporter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// `service.name` of the spans.
    pub service_name: String,
    /// Share of calls traced, 0.0 to 1.0 (parent-based: a call's request
    /// spans follow its call span).
    pub sampling_ratio: f64,
    /// Longest one export request may take; spans of a batch that times out
    /// are dropped (calls never wait for the collector).
    pub export_timeout: HumanDuration,
}

impl Default for OtlpSection {
    fn default() -> Self {
        Self {
            endpoint: None,
            service_name: "voice-gateway".into(),
            sampling_ratio: 1.0,
            export_timeout: HumanDuration(Duration::from_secs(5)),
        }
    }
}

impl OtlpSection {
    /// The endpoint when traces are on (a blank value is off).
    pub fn enabled_endpoint(&self) -> Option<&str> {
        self.endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
    }

    /// Where spans are POSTed: `{endpoint}/v1/traces`.
    pub fn traces_url(&self) -> Option<String> {
        self.enabled_endpoint()
            .map(|e| format!("{}/v1/traces", e.trim_end_matches('/')))
    }
}

/// Checks `[telemetry.otlp]`; the key at fault and what is wrong with it.
pub(super) fn validate(t: &TelemetrySection) -> Result<(), (&'static str, String)> {
    let o = &t.otlp;
    if let Some(endpoint) = o.enabled_endpoint() {
        check_endpoint(endpoint).map_err(|p| ("telemetry.otlp.endpoint", p))?;
    }
    let name = o.service_name.trim();
    if name.is_empty() || name.len() > 255 || name.contains(char::is_control) {
        return Err((
            "telemetry.otlp.service_name",
            format!(
                "{:?} is empty, longer than 255 bytes or has control characters",
                o.service_name
            ),
        ));
    }
    if !(0.0..=1.0).contains(&o.sampling_ratio) {
        return Err((
            "telemetry.otlp.sampling_ratio",
            format!("{} is not a ratio from 0.0 to 1.0", o.sampling_ratio),
        ));
    }
    let timeout = o.export_timeout.0;
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(60) {
        return Err((
            "telemetry.otlp.export_timeout",
            format!(
                "{} is not from 100ms to 60s",
                humantime::format_duration(timeout)
            ),
        ));
    }
    Ok(())
}

fn check_endpoint(endpoint: &str) -> Result<(), String> {
    let url =
        reqwest::Url::parse(endpoint).map_err(|e| format!("{endpoint:?} is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(format!(
            "{endpoint:?} is not an http:// or https:// URL with a host"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{endpoint:?} has a query or fragment: give the collector's base URL, /v1/traces is added"
        ));
    }
    if url.path().trim_end_matches('/').ends_with("/v1/traces") {
        return Err(format!(
            "{endpoint:?} ends with /v1/traces: give the collector's base URL, /v1/traces is added"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(endpoint: &str) -> TelemetrySection {
        let mut t = TelemetrySection::default();
        t.otlp.endpoint = Some(endpoint.into());
        t
    }

    #[test]
    fn endpoints() {
        assert!(validate(&with("http://127.0.0.1:4318")).is_ok());
        assert!(validate(&with("https://otel.example:4318/prefix/")).is_ok());
        assert!(validate(&with("")).is_ok(), "blank is off");
        for bad in [
            "not a url",
            "127.0.0.1:4318",
            "ftp://h/",
            "http://h/v1/traces",
            "http://h/?a=1",
        ] {
            let (key, _) = validate(&with(bad)).unwrap_err();
            assert_eq!(key, "telemetry.otlp.endpoint", "{bad}");
        }
        assert_eq!(
            with("http://h:4318/").otlp.traces_url().as_deref(),
            Some("http://h:4318/v1/traces")
        );
    }

    #[test]
    fn ratio_timeout_and_name() {
        let mut t = TelemetrySection::default();
        t.otlp.sampling_ratio = 1.5;
        assert_eq!(validate(&t).unwrap_err().0, "telemetry.otlp.sampling_ratio");
        t.otlp.sampling_ratio = 0.25;
        t.otlp.export_timeout = HumanDuration(Duration::from_millis(1));
        assert_eq!(validate(&t).unwrap_err().0, "telemetry.otlp.export_timeout");
        t.otlp.export_timeout = HumanDuration(Duration::from_secs(2));
        t.otlp.service_name = " ".into();
        assert_eq!(validate(&t).unwrap_err().0, "telemetry.otlp.service_name");
    }
}

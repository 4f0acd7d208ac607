//! The events socket's URL.

/// Builds `ws[s]://HOST/ari/events?app=APP&subscribeAll=false` from the
/// configured `http[s]://HOST` base (with or without a trailing `/ari`). The app
/// name is percent-encoded; credentials travel in the `Authorization` header,
/// not in the URL, so they never reach a log line.
pub fn events_url(base: &str, app: &str) -> Result<String, String> {
    let mut url = reqwest::Url::parse(base.trim()).map_err(|e| format!("ARI URL {base:?}: {e}"))?;
    let scheme = match url.scheme() {
        "http" => "ws",
        "https" => "wss",
        other => {
            return Err(format!(
                "ARI URL {base:?}: scheme {other} is not http or https"
            ));
        }
    };
    url.set_scheme(scheme)
        .map_err(|()| format!("ARI URL {base:?}: cannot use {scheme}"))?;
    let path = url
        .path()
        .trim_end_matches('/')
        .trim_end_matches("/ari")
        .to_owned();
    url.set_path(&format!("{path}/ari/events"));
    url.query_pairs_mut()
        .clear()
        .append_pair("app", app)
        .append_pair("subscribeAll", "false");
    Ok(url.into())
}

#[cfg(test)]
mod tests {
    use super::events_url;

    #[test]
    fn builds_the_events_url() {
        assert_eq!(
            events_url("http://127.0.0.1:8088", "voice-gateway").unwrap(),
            "ws://127.0.0.1:8088/ari/events?app=voice-gateway&subscribeAll=false"
        );
        assert_eq!(
            events_url("https://pbx.example/asterisk/ari/", "a b&c").unwrap(),
            "wss://pbx.example/asterisk/ari/events?app=a+b%26c&subscribeAll=false"
        );
        assert!(events_url("ftp://x", "a").unwrap_err().contains("not http"));
        assert!(events_url("not a url", "a").is_err());
    }
}

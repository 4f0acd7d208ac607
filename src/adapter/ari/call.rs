//! Building one request from its [`RequestSpec`]: path values are percent-encoded as
//! path segments and query values as form pairs, never concatenated into the URL.

use reqwest::Url;
use serde_json::{Map, Value};

use super::error::AriError;
use super::spec::RequestSpec;

/// A request being built. Every parameter name is checked against the spec, so the
/// client cannot send anything the contract test has not checked against Swagger.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub(crate) spec: &'static RequestSpec,
    path: Vec<(&'static str, String)>,
    query: Vec<(&'static str, String)>,
    body: Map<String, Value>,
}

impl Call {
    pub(crate) fn new(spec: &'static RequestSpec) -> Self {
        Self {
            spec,
            path: Vec::new(),
            query: Vec::new(),
            body: Map::new(),
        }
    }

    pub(crate) fn path(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.path.push((name, value.into()));
        self
    }

    pub(crate) fn query(mut self, name: &'static str, value: impl ToString) -> Self {
        self.query.push((name, value.to_string()));
        self
    }

    pub(crate) fn query_opt(self, name: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(name, v),
            None => self,
        }
    }

    pub(crate) fn body(mut self, name: &'static str, value: Value) -> Self {
        self.body.insert(name.to_owned(), value);
        self
    }

    /// The JSON body, if any parameter goes there.
    pub(crate) fn json_body(&self) -> Option<&Map<String, Value>> {
        (!self.body.is_empty()).then_some(&self.body)
    }

    /// The full URL under `base` (which ends in `/ari`).
    pub(crate) fn url(&self, base: &Url) -> Result<Url, AriError> {
        let spec = self.spec;
        let invalid = |what: String| AriError::InvalidRequest {
            operation: spec.name,
            reason: what,
        };
        for (name, _) in &self.query {
            if !spec.query_params.contains(name) {
                return Err(invalid(format!("query parameter `{name}` is not declared")));
            }
        }
        for name in self.body.keys() {
            if !spec.body_params.contains(&name.as_str()) {
                return Err(invalid(format!("body parameter `{name}` is not declared")));
            }
        }
        if self.path.len() != spec.path_params().count() {
            return Err(invalid("wrong number of path parameters".to_owned()));
        }
        let mut url = base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|()| invalid("base URL cannot have a path".to_owned()))?;
            segments.pop_if_empty();
            for segment in spec.path_template.split('/').filter(|s| !s.is_empty()) {
                match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => {
                        let value = self
                            .path
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, v)| v.as_str())
                            .ok_or_else(|| invalid(format!("path parameter `{name}` missing")))?;
                        // An empty segment would address the collection instead of
                        // the resource (`DELETE /channels/` is not a hangup).
                        if value.is_empty() {
                            return Err(invalid(format!("path parameter `{name}` is empty")));
                        }
                        segments.push(value);
                    }
                    None => {
                        segments.push(segment);
                    }
                }
            }
        }
        if !self.query.is_empty() {
            url.query_pairs_mut()
                .extend_pairs(self.query.iter().map(|(k, v)| (*k, v.as_str())));
        }
        Ok(url)
    }
}

#[cfg(test)]
mod tests {
    use super::super::spec;
    use super::*;

    fn base() -> Url {
        Url::parse("http://127.0.0.1:8088/ari").unwrap()
    }

    #[test]
    fn path_and_query_values_are_percent_encoded() {
        let url = Call::new(&spec::CHANNELS_SET_VAR)
            .path("channelId", "a b/c?d#e")
            .query("variable", "X&y=1")
            .query("value", "50% ü")
            .url(&base())
            .unwrap();
        assert_eq!(url.path(), "/ari/channels/a%20b%2Fc%3Fd%23e/variable");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(
            pairs,
            vec![
                ("variable".into(), "X&y=1".into()),
                ("value".into(), "50% ü".into())
            ]
        );
    }

    #[test]
    fn base_with_trailing_slash_is_the_same() {
        let url = Call::new(&spec::ASTERISK_PING)
            .url(&Url::parse("http://h:1/ari/").unwrap())
            .unwrap();
        assert_eq!(url.as_str(), "http://h:1/ari/asterisk/ping");
    }

    #[test]
    fn undeclared_parameters_are_refused() {
        let err = Call::new(&spec::CHANNELS_ANSWER)
            .path("channelId", "1")
            .query("reason", "x")
            .url(&base())
            .unwrap_err();
        assert!(matches!(err, AriError::InvalidRequest { .. }), "{err}");
        let err = Call::new(&spec::CHANNELS_ANSWER)
            .path("channelId", "1")
            .body("variables", Value::Null)
            .url(&base())
            .unwrap_err();
        assert!(matches!(err, AriError::InvalidRequest { .. }), "{err}");
        let err = Call::new(&spec::CHANNELS_ANSWER)
            .path("channelId", "")
            .url(&base())
            .unwrap_err();
        assert!(matches!(err, AriError::InvalidRequest { .. }), "{err}");
        let err = Call::new(&spec::CHANNELS_ANSWER).url(&base()).unwrap_err();
        assert!(matches!(err, AriError::InvalidRequest { .. }), "{err}");
    }
}

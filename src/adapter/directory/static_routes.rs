//! Routes from the configuration file.

use crate::{
    adapter::config::RouteConfig,
    application::ports::{
        directory::{DirectoryError, Route, TenantDirectory, agents_of},
        orchestrator::BoxFuture,
    },
    domain::{AgentId, Did, TenantId},
};
use std::collections::HashMap;

/// DID routing from `[[routes]]`: exact DID first, then the longest prefix
/// pattern (`+1555*`), then the catch-all `*`.
#[derive(Debug, Clone, Default)]
pub struct StaticDirectory {
    exact: HashMap<String, Route>,
    /// Sorted longest prefix first.
    prefixes: Vec<(String, Route)>,
    any: Option<Route>,
}

impl StaticDirectory {
    /// Builds the table; the configuration loader has validated the patterns.
    pub fn new(routes: &[RouteConfig]) -> Self {
        let mut dir = Self::default();
        for r in routes {
            let route = Route {
                tenant: r.tenant.clone(),
                agent: r.agent.clone(),
                greeting: r.greeting.clone(),
                language: r.language.clone(),
                stt: r.stt.clone(),
                tts: r.tts.clone(),
                stt_fallback: r.stt_fallback.clone(),
                tts_fallback: r.tts_fallback.clone(),
                secure_dtmf: r.secure_dtmf,
                store_transcripts: r.store_transcripts,
                transport: r.transport,
                format: r.format,
                // Validated when the configuration was loaded.
                on_start_failure: r.start_failure_target().ok().flatten(),
                max_live_calls: None,
            };
            match r.did.strip_suffix('*') {
                Some("") => dir.any = Some(route),
                Some(prefix) => dir.prefixes.push((prefix.to_owned(), route)),
                None => {
                    dir.exact.insert(r.did.clone(), route);
                }
            }
        }
        dir.prefixes
            .sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        dir
    }

    /// The route for a DID, synchronously.
    pub fn find(&self, did: &Did) -> Option<&Route> {
        let d = did.as_str();
        self.exact
            .get(d)
            .or_else(|| {
                self.prefixes
                    .iter()
                    .find(|(p, _)| d.starts_with(p.as_str()))
                    .map(|(_, r)| r)
            })
            .or(self.any.as_ref())
    }

    /// The route of a DID by its number or a prefix pattern, not the catch-all.
    pub fn find_owned(&self, did: &Did) -> Option<&Route> {
        let d = did.as_str();
        self.exact.get(d).or_else(|| {
            self.prefixes
                .iter()
                .find(|(p, _)| d.starts_with(p.as_str()))
                .map(|(_, r)| r)
        })
    }
}

impl TenantDirectory for StaticDirectory {
    fn lookup<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
        let found = self.find(did).cloned();
        Box::pin(async move { Ok(found) })
    }

    fn owner<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
        let owner = self.find_owned(did).map(|r| r.tenant.clone());
        Box::pin(async move { Ok(owner) })
    }

    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
        let routes = self
            .exact
            .values()
            .chain(self.prefixes.iter().map(|(_, r)| r))
            .chain(&self.any);
        let agents = agents_of(routes, tenant);
        Box::pin(async move { Ok(agents) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::config::load_from_str;

    #[test]
    fn exact_then_longest_prefix_then_any() {
        let cfg = load_from_str(
            "[[routes]]\ndid = \"*\"\ntenant = \"t0\"\nagent = \"any\"\n\
             [[routes]]\ndid = \"+1555*\"\ntenant = \"t1\"\nagent = \"short\"\n\
             [[routes]]\ndid = \"+155512*\"\ntenant = \"t1\"\nagent = \"long\"\n\
             [[routes]]\ndid = \"+15551234567\"\ntenant = \"t2\"\nagent = \"exact\"\n",
            Vec::new(),
        )
        .unwrap();
        let dir = StaticDirectory::new(&cfg.routes);
        let agent = |d: &str| {
            dir.find(&Did::parse(d).unwrap())
                .map(|r| r.agent.to_string())
        };
        assert_eq!(agent("+15551234567").as_deref(), Some("exact"));
        assert_eq!(agent("+15551299999").as_deref(), Some("long"));
        assert_eq!(agent("+15559999999").as_deref(), Some("short"));
        assert_eq!(agent("100").as_deref(), Some("any"));
    }

    #[tokio::test]
    async fn a_tenants_agents_come_from_all_its_routes_once() {
        let cfg = load_from_str(
            "[[routes]]\ndid = \"*\"\ntenant = \"t0\"\nagent = \"any\"\n\
             [[routes]]\ndid = \"+1555*\"\ntenant = \"t1\"\nagent = \"sales\"\n\
             [[routes]]\ndid = \"+155512*\"\ntenant = \"t1\"\nagent = \"support\"\n\
             [[routes]]\ndid = \"+15551234567\"\ntenant = \"t1\"\nagent = \"sales\"\n",
            Vec::new(),
        )
        .unwrap();
        let dir = StaticDirectory::new(&cfg.routes);
        let dir = &dir;
        let agents = |t: &str| {
            let t = TenantId::parse(t).unwrap();
            async move {
                let a = dir.agents(&t).await.unwrap();
                a.iter().map(ToString::to_string).collect::<Vec<_>>()
            }
        };
        assert_eq!(agents("t0").await, ["any"]);
        assert_eq!(agents("t1").await, ["sales", "support"]);
        assert!(agents("t9").await.is_empty());
    }

    #[tokio::test]
    async fn no_catch_all_means_no_route() {
        let cfg = load_from_str(
            "[[routes]]\ndid = \"100\"\ntenant = \"t\"\nagent = \"a\"\n",
            Vec::new(),
        )
        .unwrap();
        let dir = StaticDirectory::new(&cfg.routes);
        assert!(
            dir.lookup(&Did::parse("101").unwrap())
                .await
                .unwrap()
                .is_none()
        );
        let r = dir
            .lookup(&Did::parse("100").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.tenant.as_str(), r.language.as_str()), ("t", "en-US"));
    }
}

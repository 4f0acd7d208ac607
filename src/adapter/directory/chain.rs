//! Several directories in order (`[directory] chain`): the first that knows
//! a DID routes it; one that fails is skipped, so a fallback still serves.

use crate::{
    application::ports::{
        directory::{DirectoryError, Route, TenantDirectory},
        orchestrator::BoxFuture,
    },
    domain::{AgentId, Did, TenantId},
};
use std::sync::Arc;

/// Directories tried in order.
pub struct ChainDirectory {
    links: Vec<(&'static str, Arc<dyn TenantDirectory>)>,
}

impl ChainDirectory {
    /// The chain; each link named for the logs.
    pub fn new(links: Vec<(&'static str, Arc<dyn TenantDirectory>)>) -> Self {
        Self { links }
    }
}

/// The first `Some` (or non-empty) answer in order. When none has one: "none"
/// if any link answered at all, else the first failure.
async fn first<'a, T>(
    links: &'a [(&'static str, Arc<dyn TenantDirectory>)],
    ask: impl Fn(&'a dyn TenantDirectory) -> BoxFuture<'a, Result<T, DirectoryError>>,
    found: impl Fn(&T) -> bool,
) -> Result<T, DirectoryError> {
    let mut last = None;
    let mut failure = None;
    for (name, link) in links {
        match ask(link.as_ref()).await {
            Ok(v) if found(&v) => return Ok(v),
            Ok(v) => last = Some(v),
            Err(e) => {
                tracing::warn!(directory = name, error = %e, "directory failed: the next one answers");
                failure = failure.or(Some(e));
            }
        }
    }
    match (last, failure) {
        (Some(v), _) => Ok(v),
        (None, Some(e)) => Err(e),
        (None, None) => Err(DirectoryError::Unavailable(
            crate::application::ports::Cause::msg("no directory configured"),
        )),
    }
}

impl TenantDirectory for ChainDirectory {
    fn lookup<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
        Box::pin(first(&self.links, move |d| d.lookup(did), Option::is_some))
    }

    fn owner<'a>(
        &'a self,
        did: &'a Did,
    ) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
        Box::pin(first(&self.links, move |d| d.owner(did), Option::is_some))
    }

    fn agents<'a>(
        &'a self,
        tenant: &'a TenantId,
    ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
        Box::pin(first(
            &self.links,
            move |d| d.agents(tenant),
            |a: &Vec<AgentId>| !a.is_empty(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{config::load_from_str, directory::StaticDirectory};

    struct Down;

    impl TenantDirectory for Down {
        fn lookup<'a>(
            &'a self,
            _: &'a Did,
        ) -> BoxFuture<'a, Result<Option<Route>, DirectoryError>> {
            Box::pin(async {
                Err(DirectoryError::Unavailable(
                    crate::application::ports::Cause::msg("down"),
                ))
            })
        }
        fn owner<'a>(
            &'a self,
            _: &'a Did,
        ) -> BoxFuture<'a, Result<Option<TenantId>, DirectoryError>> {
            Box::pin(async {
                Err(DirectoryError::Unavailable(
                    crate::application::ports::Cause::msg("down"),
                ))
            })
        }
        fn agents<'a>(
            &'a self,
            _: &'a TenantId,
        ) -> BoxFuture<'a, Result<Vec<AgentId>, DirectoryError>> {
            Box::pin(async {
                Err(DirectoryError::Unavailable(
                    crate::application::ports::Cause::msg("down"),
                ))
            })
        }
    }

    fn routes(toml: &str) -> Arc<dyn TenantDirectory> {
        Arc::new(StaticDirectory::new(
            &load_from_str(toml, Vec::new()).unwrap().routes,
        ))
    }

    #[tokio::test]
    async fn the_first_that_knows_wins_and_a_failure_is_skipped() {
        let a = routes("[[routes]]\ndid = \"100\"\ntenant = \"a\"\nagent = \"x\"\n");
        let b = routes(
            "[[routes]]\ndid = \"100\"\ntenant = \"b\"\nagent = \"y\"\n[[routes]]\ndid = \"200\"\ntenant = \"b\"\nagent = \"z\"\n",
        );
        let chain = ChainDirectory::new(vec![("down", Arc::new(Down)), ("a", a), ("b", b)]);
        let tenant = |d: &str| {
            let chain = &chain;
            let d = Did::parse(d).unwrap();
            async move {
                chain
                    .lookup(&d)
                    .await
                    .unwrap()
                    .map(|r| r.tenant.to_string())
            }
        };
        assert_eq!(tenant("100").await.as_deref(), Some("a"));
        assert_eq!(tenant("200").await.as_deref(), Some("b"));
        assert_eq!(
            tenant("300").await,
            None,
            "nobody knows it: unknown, not an error"
        );
        let only_down = ChainDirectory::new(vec![("down", Arc::new(Down))]);
        assert!(only_down.lookup(&Did::parse("100").unwrap()).await.is_err());
        assert_eq!(
            chain
                .agents(&TenantId::parse("b").unwrap())
                .await
                .unwrap()
                .len(),
            2
        );
    }
}

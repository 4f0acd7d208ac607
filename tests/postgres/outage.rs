use crate::{Db, agent, eventually};
use voice_gateway::application::health::DependencyState;

fn state(r: &voice_gateway::application::health::Readiness) -> DependencyState {
    r.report().dependencies["postgres"].state.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_cache_while_postgres_is_down_and_reloads_when_it_returns() {
    let mut db = Db::fresh().await;
    db.tenant("t", true).await;
    db.did("+15550001111", "t", "before").await;
    let (dir, readiness) = db.directory().await;
    assert_eq!(state(&readiness), DependencyState::Up);

    // The harness runs with synchronous_commit off: flush so the rows above
    // survive the kill as committed rows do on a real server.
    db.sql.batch_execute("CHECKPOINT").await.unwrap();
    tokio::task::block_in_place(|| db.server.kill()).unwrap();
    eventually("readiness shows postgres degraded", || async {
        matches!(state(&readiness), DependencyState::Degraded { .. })
    })
    .await;
    assert_eq!(
        agent(&dir, "+15550001111").as_deref(),
        Some("before"),
        "calls still route from the cache"
    );

    tokio::task::block_in_place(|| db.server.restart()).unwrap();
    // Written as soon as the server is back: whether the listener has
    // reconnected yet or not, the row must be found (by NOTIFY or by the
    // reload every reconnect does).
    let sql = crate::connect(&db.server.url("test")).await;
    sql.execute(
        "INSERT INTO dids (did_pattern, tenant_id, agent_id) VALUES ('+15550002222', 't', 'after')",
        &[],
    )
    .await
    .unwrap();
    eventually("the DID added after the outage routes", || async {
        agent(&dir, "+15550002222").as_deref() == Some("after")
    })
    .await;
    eventually("readiness shows postgres up", || async {
        state(&readiness) == DependencyState::Up
    })
    .await;
    assert_eq!(agent(&dir, "+15550001111").as_deref(), Some("before"));
    // And notifications flow again on the new connection.
    sql.execute("DELETE FROM dids WHERE did_pattern = '+15550001111'", &[])
        .await
        .unwrap();
    eventually("a delete after the outage is seen", || async {
        agent(&dir, "+15550001111").is_none()
    })
    .await;
}

use crate::{Db, agent, eventually};
use std::sync::Arc;
use voice_gateway::{
    adapter::postgres::PgDirectory,
    application::{
        health::{DependencyState, Readiness},
        ports::directory::TenantDirectory,
    },
    domain::Did,
};

#[tokio::test]
async fn routes_exact_then_longest_prefix_then_any_from_rows() {
    let db = Db::fresh().await;
    db.tenant("t0", true).await;
    db.tenant("t1", true).await;
    db.did("*", "t0", "any").await;
    db.did("+1555*", "t1", "short").await;
    db.did("+155512*", "t1", "long").await;
    db.did("+15551234567", "t1", "exact").await;
    let (dir, readiness) = db.directory().await;
    assert_eq!(agent(&dir, "+15551234567").as_deref(), Some("exact"));
    assert_eq!(agent(&dir, "+15551299999").as_deref(), Some("long"));
    assert_eq!(agent(&dir, "+15559999999").as_deref(), Some("short"));
    assert_eq!(agent(&dir, "100").as_deref(), Some("any"));
    let route = dir
        .lookup(&Did::parse("+15551234567").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(route.tenant.as_str(), "t1");
    assert_eq!(route.greeting.as_deref(), Some("hello"));
    assert_eq!(route.language, "en-US");
    assert_eq!((route.stt.as_deref(), route.tts), (Some("wyoming"), None));
    assert_eq!(
        readiness.report().dependencies["postgres"].state,
        DependencyState::Up
    );
}

#[tokio::test]
async fn a_did_added_while_running_routes_and_a_deleted_one_stops() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    let (dir, _) = db.directory().await;
    assert_eq!(agent(&dir, "+15550001111"), None);
    db.did("+15550001111", "t", "new").await;
    eventually("the new DID routes", || async {
        agent(&dir, "+15550001111").as_deref() == Some("new")
    })
    .await;
    db.sql
        .execute("UPDATE dids SET agent_id = 'changed'", &[])
        .await
        .unwrap();
    eventually("the change is seen", || async {
        agent(&dir, "+15550001111").as_deref() == Some("changed")
    })
    .await;
    db.sql.execute("DELETE FROM dids", &[]).await.unwrap();
    eventually("the deleted DID stops routing", || async {
        agent(&dir, "+15550001111").is_none()
    })
    .await;
}

#[tokio::test]
async fn invalid_rows_are_skipped_and_the_rest_keeps_routing() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    db.tenant("bad tenant!", true).await;
    db.did("100", "bad tenant!", "a").await;
    db.did("12ab", "t", "a").await;
    db.did("+1555**", "t", "a").await;
    db.did("101", "t", "bad agent!").await;
    db.did("200", "t", "good").await;
    let (dir, readiness) = db.directory().await;
    assert_eq!(agent(&dir, "200").as_deref(), Some("good"));
    assert_eq!(agent(&dir, "100"), None);
    assert_eq!(agent(&dir, "101"), None);
    // A bad row added while running does not stop later changes from loading.
    db.did("*", "bad tenant!", "a").await;
    db.did("300", "t", "later").await;
    eventually("later rows still load", || async {
        agent(&dir, "300").as_deref() == Some("later")
    })
    .await;
    assert_eq!(agent(&dir, "999"), None, "the bad catch-all was skipped");
    assert_eq!(
        readiness.report().dependencies["postgres"].state,
        DependencyState::Up
    );
}

#[tokio::test]
async fn before_the_first_load_lookups_are_unavailable_not_unrouted() {
    let port = vg_testkit::free_port().unwrap();
    let cfg = crate::config(&format!("postgres://postgres@127.0.0.1:{port}/none"));
    let readiness = Arc::new(Readiness::default());
    let dir = PgDirectory::spawn(&cfg, Arc::clone(&readiness)).unwrap();
    assert!(dir.find(&Did::parse("100").unwrap()).is_err());
    eventually("readiness shows postgres down", || async {
        matches!(
            readiness.report().dependencies["postgres"].state,
            DependencyState::Down { .. }
        )
    })
    .await;
}

#[tokio::test]
async fn a_row_names_its_speech_fallbacks() {
    let db = Db::fresh().await;
    db.tenant("t", true).await;
    db.did("100", "t", "plain").await;
    db.sql
        .execute(
            "INSERT INTO dids (did_pattern, tenant_id, agent_id, stt, stt_fallback, tts, tts_fallback)
             VALUES ('101', 't', 'chained', 'deepgram', '{wyoming}', 'elevenlabs', '{openai,wyoming}')",
            &[],
        )
        .await
        .unwrap();
    // A NULL inside the array is refused by the table, not skipped later.
    let e = db
        .sql
        .execute(
            "INSERT INTO dids (did_pattern, tenant_id, agent_id, tts_fallback)
             VALUES ('102', 't', 'bad', ARRAY['wyoming', NULL])",
            &[],
        )
        .await
        .unwrap_err();
    let message = e.as_db_error().map(|d| d.message().to_owned());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("dids_tts_fallback_check")),
        "{e:?}"
    );
    let (dir, _) = db.directory().await;
    let route = |d: &str| dir.find(&Did::parse(d).unwrap()).unwrap().unwrap();
    let r = route("101");
    assert_eq!(
        (r.stt.as_deref(), r.stt_fallback.as_slice()),
        (Some("deepgram"), ["wyoming".to_owned()].as_slice())
    );
    assert_eq!(
        (r.tts.as_deref(), r.tts_fallback.as_slice()),
        (
            Some("elevenlabs"),
            ["openai".to_owned(), "wyoming".to_owned()].as_slice()
        )
    );
    // Columns left out: empty arrays, the instance's own fallbacks.
    let r = route("100");
    assert!(r.stt_fallback.is_empty() && r.tts_fallback.is_empty());
    assert!(r.store_transcripts, "the tenant keeps transcripts");
}

#[tokio::test]
async fn a_tenant_that_keeps_no_transcripts_routes_calls_that_publish_none() {
    let db = Db::fresh().await;
    db.tenant("quiet", false).await;
    db.did("100", "quiet", "a").await;
    let (dir, _) = db.directory().await;
    let r = dir.find(&Did::parse("100").unwrap()).unwrap().unwrap();
    assert!(!r.store_transcripts);
}

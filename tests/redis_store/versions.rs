//! Versioned writes: the newest wins whatever order the writes land in, and
//! nothing revives an ended call.

use crate::common::{call, rec, store_on, tenant};
use std::sync::Arc;
use vg_testkit::RedisServer;
use voice_gateway::{adapter::store::Applied, application::ports::store::CallStore};

#[tokio::test]
async fn two_gateways_racing_leave_the_newest_version() {
    let redis = RedisServer::start().unwrap();
    let a = Arc::new(store_on(&redis, "gw-a").await);
    let b = Arc::new(store_on(&redis, "gw-b").await);
    // Versions 1..=200 split between two writers, each sending in reverse
    // order half the time, all at once.
    let mut tasks = Vec::new();
    for v in 1..=200u64 {
        let f = if v % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut r = rec("acme", "c1", 0, "active");
            r.metadata.insert("v".into(), v.to_string());
            f.store.put_versioned(r, v).await.unwrap()
        }));
    }
    let mut written = 0;
    for t in tasks {
        match t.await.unwrap() {
            Applied::Written => written += 1,
            Applied::Stale => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(written >= 1);
    let got = a
        .store
        .get(&tenant("acme"), &call("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.metadata["v"], "200", "the newest version wins");
}

#[tokio::test]
async fn an_old_write_after_the_end_does_not_revive_the_call() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    let t = tenant("acme");
    let s = &f.store;
    assert_eq!(
        s.put_versioned(rec("acme", "c1", 0, "ringing"), 10)
            .await
            .unwrap(),
        Applied::Written
    );
    assert_eq!(
        s.put_versioned(rec("acme", "c1", 0, "ended"), 30)
            .await
            .unwrap(),
        Applied::Written
    );
    // The "answered" event that lost the race arrives last with its older version.
    assert_eq!(
        s.put_versioned(rec("acme", "c1", 0, "active"), 20)
            .await
            .unwrap(),
        Applied::Stale
    );
    // Even a newer version cannot bring an ended call back.
    assert_eq!(
        s.put_versioned(rec("acme", "c1", 0, "active"), 40)
            .await
            .unwrap(),
        Applied::Ended
    );
    let got = s.get(&t, &call("c1")).await.unwrap().unwrap();
    assert_eq!(got.state, "ended");
    // And the session's own puts, in order, behave the same.
    s.put(rec("acme", "c2", 1, "active")).await.unwrap();
    s.put(rec("acme", "c2", 1, "ended")).await.unwrap();
    s.put(rec("acme", "c2", 1, "active")).await.unwrap();
    assert_eq!(
        s.get(&t, &call("c2")).await.unwrap().unwrap().state,
        "ended"
    );
}

#[tokio::test]
async fn concurrent_puts_of_one_store_keep_the_last_call() {
    let redis = RedisServer::start().unwrap();
    let f = Arc::new(store_on(&redis, "gw-a").await);
    // Futures created in order, polled all at once: the last one created wins.
    let futs: Vec<_> = (0..50)
        .map(|i| {
            let mut r = rec("acme", "c1", 0, "active");
            r.metadata.insert("i".into(), i.to_string());
            f.store.put(r)
        })
        .collect();
    for r in futures_util::future::join_all(futs.into_iter().rev()).await {
        r.unwrap();
    }
    let got = f
        .store
        .get(&tenant("acme"), &call("c1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.metadata["i"], "49");
}

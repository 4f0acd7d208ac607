//! Round trips, tenant isolation, listing, TTL and live indexes.

use crate::common::{call, raw, rec, store_on, tenant};
use redis::AsyncCommands;
use vg_testkit::RedisServer;
use voice_gateway::{
    application::{
        health::DependencyState,
        ports::{calls::ListFilter, store::CallStore},
    },
    domain::{SayText, TransferTarget, screening::OnMachine},
};

#[tokio::test]
async fn a_record_reads_back_exactly_and_only_for_its_tenant() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    let r = rec("acme", "c1", 0, "active");
    f.store.put(r.clone()).await.unwrap();
    let got = f.store.get(&tenant("acme"), &call("c1")).await.unwrap();
    assert_eq!(got, Some(r));
    let other = f.store.get(&tenant("other"), &call("c1")).await.unwrap();
    assert_eq!(other, None, "another tenant does not see it");
    let all = ListFilter {
        limit: 10,
        ..Default::default()
    };
    let page = f.store.list(&tenant("other"), &all).await.unwrap();
    assert!(page.calls.is_empty());
    let report = f.readiness.report();
    assert_eq!(report.dependencies["redis"].state, DependencyState::Up);
    assert!(!report.dependencies["redis"].required);

    let mut c = raw(&redis).await;
    let json: String = c.hget("vg:acme:call:c1", "record").await.unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["gateway_instance"], "gw-a");
    assert!(v["version"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn lists_newest_first_in_pages_with_a_state_filter() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    for i in 0..7 {
        let state = if i % 2 == 0 { "active" } else { "ended" };
        f.store
            .put(rec("acme", &format!("c{i}"), i, state))
            .await
            .unwrap();
    }
    // Same creation time: the call id decides, descending, as in memory.
    f.store.put(rec("acme", "c6b", 6, "active")).await.unwrap();
    f.store.put(rec("beta", "b0", 100, "active")).await.unwrap();
    let t = tenant("acme");
    let mut ids = Vec::new();
    let mut cursor = None;
    loop {
        let filter = ListFilter {
            limit: 3,
            cursor,
            state: None,
        };
        let page = f.store.list(&t, &filter).await.unwrap();
        assert!(page.calls.len() <= 3);
        ids.extend(page.calls.iter().map(|c| c.call_id.to_string()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(ids, ["c6b", "c6", "c5", "c4", "c3", "c2", "c1", "c0"]);

    let ended = ListFilter {
        state: Some("ended".into()),
        limit: 2,
        cursor: None,
    };
    let p1 = f.store.list(&t, &ended).await.unwrap();
    let got: Vec<_> = p1.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(got, ["c5", "c3"]);
    let p2 = f
        .store
        .list(
            &t,
            &ListFilter {
                cursor: p1.next_cursor,
                ..ended
            },
        )
        .await
        .unwrap();
    let got: Vec<_> = p2.calls.iter().map(|c| c.call_id.as_str()).collect();
    assert_eq!(got, ["c1"]);
    assert_eq!(p2.next_cursor, None);
}

#[tokio::test]
async fn an_ended_call_gets_a_ttl_and_leaves_the_live_indexes() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    let mut c = raw(&redis).await;
    f.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    f.store.put(rec("acme", "c2", 1, "active")).await.unwrap();
    let live: Vec<String> = c.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert_eq!(live, ["c1", "c2"]);
    let gw: Vec<String> = c.zrange("vg:gw:gw-a:live", 0, -1).await.unwrap();
    assert_eq!(gw, ["acme:c1", "acme:c2"]);
    let ttl: i64 = c.ttl("vg:acme:call:c1").await.unwrap();
    assert_eq!(ttl, -1, "a live call does not expire");

    f.store.put(rec("acme", "c1", 0, "ended")).await.unwrap();
    let ttl: i64 = c.ttl("vg:acme:call:c1").await.unwrap();
    assert!((3590..=3600).contains(&ttl), "ttl {ttl}");
    let live: Vec<String> = c.zrange("vg:acme:live", 0, -1).await.unwrap();
    assert_eq!(live, ["c2"]);
    let gw: Vec<String> = c.zrange("vg:gw:gw-a:live", 0, -1).await.unwrap();
    assert_eq!(gw, ["acme:c2"]);
    let all: Vec<String> = c.zrange("vg:acme:calls", 0, -1).await.unwrap();
    assert_eq!(all, ["c1", "c2"], "ended calls stay listed while readable");

    // Once the record expires, the list index lets it go too.
    let _: () = c.pexpire("vg:acme:call:c1", 1).await.unwrap();
    let _: () = c.zadd("vg:acme:ended", "c1", 0).await.unwrap();
    f.store.put(rec("acme", "c3", 2, "active")).await.unwrap();
    let all: Vec<String> = c.zrange("vg:acme:calls", 0, -1).await.unwrap();
    assert_eq!(all, ["c2", "c3"]);
}

#[tokio::test]
async fn a_call_taken_over_moves_between_gateway_indexes() {
    let redis = RedisServer::start().unwrap();
    let a = store_on(&redis, "gw-a").await;
    let b = store_on(&redis, "gw-b").await;
    a.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    b.store.put(rec("acme", "c1", 0, "active")).await.unwrap();
    let mut c = raw(&redis).await;
    let on_a: Vec<String> = c.zrange("vg:gw:gw-a:live", 0, -1).await.unwrap();
    let on_b: Vec<String> = c.zrange("vg:gw:gw-b:live", 0, -1).await.unwrap();
    assert!(on_a.is_empty(), "{on_a:?}");
    assert_eq!(on_b, ["acme:c1"]);
}

#[tokio::test]
async fn another_instances_live_calls_are_read_and_an_empty_index_is_no_outage() {
    let redis = RedisServer::start().unwrap();
    let a = store_on(&redis, "gw-a").await;
    let b = store_on(&redis, "gw-b").await;
    let mut r = rec("acme", "c1", 0, "active");
    r.resume = Some(voice_gateway::application::ports::calls::Resume {
        caller: "1795241008.163".into(),
        conversation: Some("conv-1".into()),
        sequence: 17,
        screen: Some(OnMachine::Message(
            SayText::parse("Please call us back.").unwrap(),
        )),
        transfer: Some(TransferTarget::parse("support").unwrap()),
    });
    a.store.put(r.clone()).await.unwrap();
    a.store.put(rec("acme", "c2", 1, "ended")).await.unwrap();
    // What a standby reads to take gw-a's calls over, takeover data included.
    assert_eq!(b.store.live_of("gw-a", 10).await.unwrap(), [r]);
    // Nothing live on gw-b: an empty answer, and Redis still counts as up.
    assert!(b.store.owned_live(10).await.unwrap().is_empty());
    assert!(b.store.live_of("gw-x", 10).await.unwrap().is_empty());
    assert_eq!(
        b.readiness.report().dependencies["redis"].state,
        DependencyState::Up
    );
}

#[tokio::test]
async fn a_filter_that_matches_little_walks_the_index_in_bounded_steps() {
    let redis = RedisServer::start().unwrap();
    let f = store_on(&redis, "gw-a").await;
    // The one live call is the oldest; 2,500 ended calls are newer.
    f.store.put(rec("acme", "live", 0, "active")).await.unwrap();
    for i in 1..=2500 {
        f.store
            .put(rec("acme", &format!("e{i:04}"), i, "ended"))
            .await
            .unwrap();
    }
    let t = tenant("acme");
    let mut pages = 0;
    let mut found = Vec::new();
    let mut cursor = None;
    loop {
        let filter = ListFilter {
            limit: 10,
            cursor,
            state: Some("active".into()),
        };
        let page = f.store.list(&t, &filter).await.unwrap();
        pages += 1;
        found.extend(page.calls.iter().map(|c| c.call_id.to_string()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(found, ["live"]);
    // 2,501 calls, 1,000 looked at per script: three steps, each a page.
    assert_eq!(pages, 3, "bounded steps, each resumable");
}

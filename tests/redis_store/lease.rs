//! The lease of an Asterisk (high availability) against a real redis-server:
//! one holder at a time, takeover after expiry only, fencing tokens that only
//! grow, release, a Redis restart that takes nothing away, and the driver.

use crate::common::{config, rec, store_on};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{oneshot, watch};
use vg_testkit::RedisServer;
use voice_gateway::{
    adapter::store::{Applied, RedisCallStore, RedisLease},
    application::{
        lease::{self, Fence, LeaseTiming, Role},
        ports::{
            lease::{Attempt, LeaseStore},
            store::StoreError,
        },
    },
};

const TTL_MS: u64 = 1000;

fn lease(redis: &RedisServer, instance: &str) -> RedisLease {
    RedisLease::new(&config(redis, instance), "pbx-1", std::time::Duration::ZERO).unwrap()
}

/// Tries (taking, token 0) until the lease is held; a fresh Redis first
/// holds it in its grace period for one ttl.
async fn take(l: &RedisLease) -> u64 {
    let deadline = Instant::now() + Duration::from_millis(3 * TTL_MS);
    loop {
        if let Attempt::Held(t) = l.try_hold(0, TTL_MS).await.unwrap() {
            return t;
        }
        assert!(Instant::now() < deadline, "lease never taken");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn one_holder_at_a_time_and_a_standby_takes_over_only_after_the_ttl() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = (lease(&redis, "gw-a"), lease(&redis, "gw-b"));
    let t1 = take(&a).await;
    assert_eq!(b.try_hold(0, TTL_MS).await.unwrap(), Attempt::Taken);
    // Renewals keep it; a wrong token does not renew it.
    for _ in 0..3 {
        assert_eq!(a.try_hold(t1, TTL_MS).await.unwrap(), Attempt::Held(t1));
        assert_eq!(b.try_hold(0, TTL_MS).await.unwrap(), Attempt::Taken);
        assert_eq!(
            b.try_hold(t1, TTL_MS).await.unwrap(),
            Attempt::Taken,
            "b is not the holder"
        );
    }
    let last_renewal = Instant::now();
    assert_eq!(a.try_hold(t1, TTL_MS).await.unwrap(), Attempt::Held(t1));
    // a stops renewing: b gets it, never before the ttl ran out.
    let t2 = loop {
        if let Attempt::Held(t) = b.try_hold(0, TTL_MS).await.unwrap() {
            break t;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        last_renewal.elapsed() >= Duration::from_millis(TTL_MS),
        "taken {:?} after the last renewal",
        last_renewal.elapsed()
    );
    assert!(t2 > t1, "a new holder gets a newer token ({t2} after {t1})");
    // The old holder coming back with its old token stands by.
    assert_eq!(a.try_hold(t1, TTL_MS).await.unwrap(), Attempt::Taken);
    assert_eq!(b.try_hold(t2, TTL_MS).await.unwrap(), Attempt::Held(t2));
}

#[tokio::test]
async fn a_release_hands_the_lease_over_at_once_and_only_the_holder_can_release() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = (lease(&redis, "gw-a"), lease(&redis, "gw-b"));
    let t1 = take(&a).await;
    b.release(t1).await.unwrap();
    a.release(t1 + 1).await.unwrap();
    assert_eq!(
        b.try_hold(0, TTL_MS).await.unwrap(),
        Attempt::Taken,
        "not released by others"
    );
    a.release(t1).await.unwrap();
    assert_eq!(b.try_hold(0, TTL_MS).await.unwrap(), Attempt::Held(t1 + 1));
}

#[tokio::test]
async fn members_and_a_live_standby_are_known() {
    let redis = RedisServer::start().unwrap();
    let (a, b) = (lease(&redis, "gw-a"), lease(&redis, "gw-b"));
    let t1 = take(&a).await;
    assert!(
        !a.standby_present(TTL_MS).await.unwrap(),
        "no other instance yet"
    );
    assert_eq!(b.try_hold(0, TTL_MS).await.unwrap(), Attempt::Taken);
    assert!(a.standby_present(TTL_MS).await.unwrap(), "b tried just now");
    let mut members = a.members().await.unwrap();
    members.sort();
    assert_eq!(members, ["gw-a", "gw-b"]);
    // b stops trying: after the window it no longer counts as alive.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.try_hold(t1, TTL_MS).await.unwrap(), Attempt::Held(t1));
    assert!(
        !a.standby_present(200).await.unwrap(),
        "b not seen for 300 ms"
    );
}

#[tokio::test]
async fn a_redis_restart_leaves_the_lease_with_its_holder() {
    let mut redis = RedisServer::start().unwrap();
    let port = redis.port();
    let (a, b) = (lease(&redis, "gw-a"), lease(&redis, "gw-b"));
    let t1 = take(&a).await;
    redis.kill().unwrap();
    let _redis = RedisServer::start_on(port).unwrap();
    // The standby tries first, on the empty Redis: it waits (grace).
    let standby_first = eventually_ok(|| b.try_hold(0, TTL_MS)).await;
    assert_eq!(standby_first, Attempt::Taken);
    // The holder comes back within the grace and keeps its token.
    let renewed = eventually_ok(|| a.try_hold(t1, TTL_MS)).await;
    assert_eq!(renewed, Attempt::Held(t1));
    // Past the grace the standby still finds it held.
    tokio::time::sleep(Duration::from_millis(TTL_MS + 100)).await;
    assert_eq!(a.try_hold(t1, TTL_MS).await.unwrap(), Attempt::Held(t1));
    assert_eq!(b.try_hold(0, TTL_MS).await.unwrap(), Attempt::Taken);
}

/// The first answer of `op` once the restarted Redis answers.
async fn eventually_ok<F, Fut>(mut op: F) -> Attempt
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<Attempt, voice_gateway::application::ports::lease::LeaseError>,
        >,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(a) = op().await {
            return a;
        }
        assert!(Instant::now() < deadline, "redis never answered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn records_of_an_older_holder_are_refused_once_a_newer_one_wrote() {
    let redis = RedisServer::start().unwrap();
    let (old, new) = (
        store_on(&redis, "gw-a").await,
        store_on(&redis, "gw-b").await,
    );
    let (old_fence, new_fence) = (Arc::new(Fence::default()), Arc::new(Fence::default()));
    let later = Instant::now() + Duration::from_secs(600);
    old_fence.activate(3, later);
    new_fence.activate(4, later);
    old.store.fence_with(old_fence.clone());
    new.store.fence_with(new_fence);
    async fn put(s: &RedisCallStore, state: &str, v: u64) -> Result<Applied, StoreError> {
        s.put_versioned(rec("acme", "c1", 0, state), v).await
    }
    assert_eq!(
        put(&old.store, "active", 10).await.unwrap(),
        Applied::Written
    );
    assert_eq!(
        put(&new.store, "active", 20).await.unwrap(),
        Applied::Written
    );
    // A newer version from the fenced holder is refused.
    assert_eq!(put(&old.store, "ended", 30).await.unwrap(), Applied::Fenced);
    assert_eq!(
        put(&new.store, "ended", 40).await.unwrap(),
        Applied::Written
    );
}

/// A lease task as the gateway runs it (its own thread), holding as `name`.
fn driver(
    redis: &RedisServer,
    name: &str,
    timing: LeaseTiming,
) -> (
    Arc<Fence>,
    watch::Receiver<Role>,
    oneshot::Sender<oneshot::Sender<()>>,
) {
    let fence = Arc::new(Fence::default());
    let (role_tx, role) = watch::channel(Role::Standby);
    let (release, release_rx) = oneshot::channel();
    let store = || Ok::<_, String>(Arc::new(lease(redis, name)) as Arc<dyn LeaseStore>);
    let superseded = Arc::new(watch::channel(0).0);
    lease::spawn(
        store,
        timing,
        fence.clone(),
        role_tx,
        superseded,
        release_rx,
    )
    .unwrap();
    (fence, role, release)
}

#[tokio::test]
async fn two_drivers_make_one_active_and_a_release_makes_the_other_active() {
    let redis = RedisServer::start().unwrap();
    let timing = LeaseTiming {
        ttl: Duration::from_millis(TTL_MS),
        renew_every: Duration::from_millis(200),
    };
    let mut drivers = vec![
        driver(&redis, "gw-a", timing),
        driver(&redis, "gw-b", timing),
    ];
    let active = |r: &watch::Receiver<Role>| matches!(*r.borrow(), Role::Active { .. });
    let actives = |d: &[(Arc<Fence>, watch::Receiver<Role>, _)]| {
        d.iter().filter(|(_, r, _)| active(r)).count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while actives(&drivers) == 0 {
        assert!(Instant::now() < deadline, "no driver became active");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Watch a few renewals: never both; the fence follows the role.
    for _ in 0..20 {
        assert_eq!(actives(&drivers), 1, "exactly one active holder");
        for (fence, role, _) in &drivers {
            assert_eq!(fence.is_active(), active(role));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let holder = drivers.iter().position(|(_, r, _)| active(r)).unwrap();
    let (fence, _, release) = drivers.remove(holder);
    let (done_tx, done) = oneshot::channel();
    release.send(done_tx).unwrap();
    done.await.unwrap();
    assert!(!fence.is_active(), "fenced once released");
    let released = Instant::now();
    let (other_fence, other_role, _keep) = &drivers[0];
    // The other takes it at its next try (every 200 ms), not after a ttl.
    while !active(other_role) {
        assert!(
            released.elapsed() < Duration::from_secs(5),
            "never taken over"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(other_fence.is_active());
    eprintln!("handover after release: {:?}", released.elapsed());
}

/// A gateway whose runtime cannot run a task for three ttls (every worker
/// busy, as in a process starved by its calls or a busy machine) keeps its
/// lease: the renewals run on a thread of their own, so the fence stays open
/// and no standby can take the Asterisk.
#[test]
fn a_starved_runtime_keeps_its_lease() {
    let redis = RedisServer::start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let timing = LeaseTiming {
        ttl: Duration::from_millis(TTL_MS),
        renew_every: Duration::from_millis(200),
    };
    let (fence, mut role, _release) = driver(&redis, "gw-a", timing);
    let token = runtime.block_on(async {
        tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Role::Active { token } = *role.borrow_and_update() {
                    return token;
                }
                role.changed().await.unwrap();
            }
        })
        .await
        .expect("never active")
    });
    // Both workers blocked for 3 ttls.
    let starve = || {
        let fence = fence.clone();
        runtime.spawn(async move {
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(Duration::from_millis(3 * TTL_MS));
            fence.is_active()
        })
    };
    let (a, b) = (starve(), starve());
    let (a, b) = runtime.block_on(async { (a.await.unwrap(), b.await.unwrap()) });
    assert!(a && b, "the fence closed while the runtime was starved");
    assert!(
        !role.has_changed().unwrap(),
        "the role changed: {:?}",
        *role.borrow()
    );
    let attempt = runtime
        .block_on(async { lease(&redis, "gw-b").try_hold(0, TTL_MS).await })
        .unwrap();
    assert_eq!(attempt, Attempt::Taken, "a standby took the lease");
    assert!(fence.is_active() && fence.token() == token);
}

/// The fence closes at its deadline by itself: a lease task that is late
/// cannot leave this instance acting on Asterisk after its lease may have
/// passed to another.
#[test]
fn the_fence_closes_at_its_deadline_without_the_lease_task() {
    let fence = Fence::default();
    assert!(!fence.is_active(), "never activated");
    fence.activate(5, Instant::now() + Duration::from_secs(600));
    assert!(fence.is_active());
    fence.activate(5, Instant::now() - Duration::from_millis(1));
    assert!(!fence.is_active(), "past its deadline");
    assert_eq!(fence.token(), 5, "the token stays for the records");
    fence.activate(6, Instant::now() + Duration::from_secs(600));
    fence.deactivate();
    assert!(!fence.is_active());
}

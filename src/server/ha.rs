//! `[ha]`: the Asterisk's lease and what the role changes in this process.
//!
//! The lease task (`application::lease::run`) decides the role; the stream
//! keeper here follows it: while active the events socket is open (the
//! usual reconnecting stream), while standby it is closed and the router is
//! told so (it refuses API control, as when another connection took the
//! app). A holder that lapsed still has calls on their media: Asterisk is
//! then asked every second which channels remain (REST reads only), so a
//! call whose caller hung up ends. Every ARI request goes through
//! [`FencedTelephony`], refused while not active.

use super::ServerError;
use crate::{
    adapter::{
        ari::AriClient,
        ari_stream::{self, EventStreamConfig, StreamItem, StreamMetrics},
        config::Config,
        http::api::forward::Forwarder,
        store::{RedisCallStore, RedisLease, RedisPeers, RedisStoreConfig},
    },
    application::{
        health::Readiness,
        lease::{self, Fence, LeaseTiming, Role},
        ports::{lease::LeaseStore, peers::Peers, telephony::Telephony},
    },
};
use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{family::Family, gauge::Gauge},
    registry::Registry,
};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch};

/// The lease of this instance's Asterisk, before it runs.
pub(super) struct Ha {
    /// The lease for the rest of the gateway (members, a live standby).
    lease: Arc<dyn LeaseStore>,
    /// The same lease on a connection of its own, for the lease task's
    /// thread (built there).
    renewals: Box<dyn FnOnce() -> Result<Arc<dyn LeaseStore>, ServerError> + Send>,
    fence: Arc<Fence>,
    timing: LeaseTiming,
    asterisk: String,
    me: String,
    /// Bumped when the calls here are another instance's to run now.
    hand_over: Arc<watch::Sender<u64>>,
    /// `ha.advertise_url`: this instance's API URL, kept in Redis, and the
    /// other instances found there.
    advertise: Option<(String, Arc<dyn Peers>)>,
}

/// Builds the lease when `[ha] enabled`; the store's writes carry its token.
pub(super) fn build(
    config: &Config,
    redis: &RedisStoreConfig,
    store: &RedisCallStore,
) -> Result<Option<Ha>, ServerError> {
    let ha = &config.ha;
    if !ha.enabled {
        return Ok(None);
    }
    let asterisk = ha.asterisk.clone().unwrap_or_default();
    let lease = RedisLease::new(redis, &asterisk, ha.renew_every.0)
        .map_err(|e| ServerError::Setup(format!("ha.asterisk: {e}")))?;
    let renewals = {
        let (redis, asterisk, wait) = (redis.clone(), asterisk.clone(), ha.renew_every.0);
        Box::new(move || {
            RedisLease::new(&redis, &asterisk, wait)
                .map(|l| Arc::new(l) as Arc<dyn LeaseStore>)
                .map_err(|e| ServerError::Setup(format!("ha.asterisk: {e}")))
        })
    };
    let fence = Arc::new(Fence::default());
    store.fence_with(fence.clone());
    let advertise = ha.advertise_url.clone().map(|url| {
        let peers: Arc<dyn Peers> = Arc::new(RedisPeers::new(store.connection(), redis, &asterisk));
        (url.trim_end_matches('/').to_owned(), peers)
    });
    tracing::info!(%asterisk, instance = %redis.gateway_instance, ttl = ?ha.lease_ttl.0, "high availability: competing for the Asterisk's lease");
    Ok(Some(Ha {
        lease: Arc::new(lease),
        renewals,
        fence,
        timing: LeaseTiming {
            ttl: ha.lease_ttl.0,
            renew_every: ha.renew_every.0,
        },
        asterisk,
        me: redis.gateway_instance.clone(),
        hand_over: Arc::new(watch::channel(0).0),
        advertise,
    }))
}

impl Ha {
    /// Call control that only the holder may use.
    pub(super) fn fenced(&self, inner: Arc<dyn Telephony>) -> Arc<dyn Telephony> {
        Arc::new(lease::FencedTelephony::new(inner, self.fence.clone()))
    }

    /// Who else may have held the lease, for the router's takeovers.
    pub(super) fn peers(&self) -> crate::application::router::Peers {
        crate::application::router::Peers {
            lease: self.lease.clone(),
            me: self.me.clone(),
            hand_over: self.hand_over.subscribe(),
        }
    }

    /// Where the call API sends requests for other instances, with
    /// `ha.advertise_url` (without it nothing is forwarded).
    pub(super) fn forwarder(&self) -> Result<Option<Forwarder>, ServerError> {
        let Some((_, peers)) = &self.advertise else {
            return Ok(None);
        };
        Forwarder::new(peers.clone(), self.me.clone())
            .map(Some)
            .map_err(|e| ServerError::Setup(format!("ha.advertise_url: {e}")))
    }

    /// Starts the lease task: its role, and how to release it.
    pub(super) fn start(self, metrics: RoleMetrics) -> Result<Running, ServerError> {
        if let Some((url, peers)) = self.advertise.clone() {
            tokio::spawn(advertise(url, peers, self.timing.ttl));
        }
        let (role_tx, role) = watch::channel(Role::Standby);
        let (release, release_rx) = oneshot::channel();
        metrics.show(Role::Standby);
        lease::spawn(
            self.renewals,
            self.timing,
            self.fence,
            role_tx,
            self.hand_over.clone(),
            release_rx,
        )
        .map_err(ServerError::Setup)?;
        let mut shown = role.clone();
        tokio::spawn(async move {
            while shown.changed().await.is_ok() {
                let r = *shown.borrow_and_update();
                metrics.show(r);
            }
        });
        tracing::debug!(asterisk = %self.asterisk, "lease task started");
        Ok(Running {
            role,
            release,
            lease: self.lease,
            hand_over: self.hand_over,
            ttl: self.timing.ttl,
        })
    }
}

/// How long a planned handover waits for the sessions it leaves to write
/// their last records before it releases the lease.
const LEAVE_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// The running lease task.
pub(super) struct Running {
    pub(super) role: watch::Receiver<Role>,
    release: oneshot::Sender<oneshot::Sender<()>>,
    lease: Arc<dyn LeaseStore>,
    hand_over: Arc<watch::Sender<u64>>,
    ttl: std::time::Duration,
}

impl Running {
    /// A planned handover (SIGTERM): when this instance is active and a
    /// standby tried the lease within the last ttl, the lease is released at
    /// once and the router leaves its calls to the standby, which takes them
    /// over at its next try. Returns `self` back when there is no one to
    /// hand over to (the calls then drain here as usual).
    ///
    /// `left` resolves once the sessions here have stopped, their last
    /// record writes done: those records cover the event numbers used here,
    /// and the standby must read them to go on numbering. It is waited for
    /// up to [`LEAVE_WAIT`] (the caller's gap grows by that wait).
    pub(super) async fn hand_over(self, left: impl Future<Output = ()>) -> Option<Self> {
        if !matches!(*self.role.borrow(), Role::Active { .. }) {
            return Some(self);
        }
        let ttl_ms = self.ttl.as_millis() as u64;
        match self.lease.standby_present(ttl_ms).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::info!("no standby seen within the lease's ttl: draining here");
                return Some(self);
            }
            Err(e) => {
                tracing::warn!(error = %e, "standby not checked: draining here");
                return Some(self);
            }
        }
        tracing::warn!("planned handover: releasing the lease, the standby takes the calls");
        // The calls are left first: nothing here touches them once the
        // standby can hold the lease.
        self.hand_over.send_modify(|n| *n += 1);
        if tokio::time::timeout(LEAVE_WAIT, left).await.is_err() {
            tracing::warn!(wait = ?LEAVE_WAIT, "sessions still writing: releasing the lease anyway");
        }
        self.release().await;
        None
    }

    /// Releases the lease (a standby takes it at its next try) and waits
    /// until it is, or the store did not answer.
    pub(super) async fn release(self) {
        let (done_tx, done) = oneshot::channel();
        if self.release.send(done_tx).is_ok() {
            let _ = done.await;
        }
    }
}

/// Keeps this instance's API URL in Redis: renewed every lease ttl, kept
/// three ttls, so it lapses soon after the instance is gone.
async fn advertise(url: String, peers: Arc<dyn Peers>, ttl: std::time::Duration) {
    let mut failing = false;
    loop {
        match peers.advertise(&url, ttl * 3).await {
            Ok(()) if failing => {
                tracing::info!(%url, "API URL advertised again");
                failing = false;
            }
            Ok(()) => {}
            Err(e) if !failing => {
                tracing::warn!(%url, error = %e, "API URL not advertised: requests for calls here are not forwarded from other instances until it is");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::time::sleep(ttl).await;
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RoleLabel {
    role: &'static str,
}

/// `voicegw_ha_role{role}` (1 for the current role) and `voicegw_ha_fencing_token`.
#[derive(Debug, Clone, Default)]
pub(super) struct RoleMetrics {
    role: Family<RoleLabel, Gauge>,
    token: Gauge,
}

impl RoleMetrics {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let m = Self::default();
        registry.register(
            "ha_role",
            "1 for this instance's role for its Asterisk (active or standby)",
            m.role.clone(),
        );
        registry.register(
            "ha_fencing_token",
            "The fencing token of the lease this instance holds or last held",
            m.token.clone(),
        );
        m
    }

    fn show(&self, role: Role) {
        for r in ["active", "standby"] {
            let on = i64::from(r == role.label());
            self.role.get_or_create(&RoleLabel { role: r }).set(on);
        }
        if let Role::Active { token } = role {
            self.token.set(token as i64);
        }
    }
}

/// What the stream keeper needs to open the events socket.
pub(super) struct Stream {
    pub(super) cfg: EventStreamConfig,
    pub(super) ari: Arc<AriClient>,
    pub(super) items: mpsc::Sender<StreamItem>,
    pub(super) readiness: Arc<Readiness>,
    pub(super) metrics: StreamMetrics,
}

/// Keeps the events socket open exactly while the role is active, until `stop`.
pub(super) async fn keep_stream(
    s: Stream,
    mut role: watch::Receiver<Role>,
    mut stop: watch::Receiver<bool>,
) {
    let mut was_active = false;
    loop {
        s.readiness.set_role(Some("standby"));
        // Not ready for calls, ready for the API: the socket is closed on purpose.
        s.readiness.register(&s.cfg.dependency, false);
        if s.items.send(StreamItem::Replaced).await.is_err() {
            return;
        }
        let mut watch_stop = stop.clone();
        let watching = async {
            match was_active {
                true => {
                    ari_stream::watch_channels(
                        &s.ari,
                        &s.items,
                        &mut watch_stop,
                        s.cfg.watch_after_takeover,
                    )
                    .await
                }
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            r = role.wait_for(|r| matches!(r, Role::Active { .. })) => if r.is_err() { return },
            _ = stop.wait_for(|s| *s) => return,
            () = watching => {}
        }
        s.readiness.set_role(Some("active"));
        let (stop_stream, stream_stop) = watch::channel(false);
        let stream = tokio::spawn(ari_stream::run(
            s.cfg.clone(),
            s.ari.clone(),
            s.items.clone(),
            s.readiness.clone(),
            s.metrics.clone(),
            stream_stop,
        ));
        let stopping = tokio::select! {
            _ = role.wait_for(|r| *r == Role::Standby) => false,
            _ = stop.wait_for(|s| *s) => true,
        };
        let _ = stop_stream.send(true);
        let _ = stream.await;
        if stopping {
            return;
        }
        tracing::warn!("lease lost: events socket closed, calls no longer controlled here");
        was_active = true;
    }
}

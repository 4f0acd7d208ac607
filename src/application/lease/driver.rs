//! The lease's async driver: one task that owns the core, the store and the clock.

use super::{Fence, LeaseCore, LeaseTiming, Role};
use crate::application::ports::lease::{LeaseError, LeaseStore};
use std::{future::Future, pin::Pin, sync::Arc};
use tokio::{
    sync::{oneshot, watch},
    time::{Instant, sleep_until},
};

type Pending = Pin<Box<dyn Future<Output = Result<super::Attempt, LeaseError>> + Send>>;

/// What the rest of the gateway holds of the lease task.
#[derive(Debug)]
pub struct LeaseHandle {
    /// The role, as it changes.
    pub role: watch::Receiver<Role>,
    /// Send to release the lease at once and stop; answered once released.
    pub release: oneshot::Sender<oneshot::Sender<()>>,
}

/// Holds (or waits for) the lease until released. Every change of role is
/// published on `role` and applied to `fence` first, so that a holder that
/// lapses is fenced before anyone reads its new role.
///
/// `superseded` counts the times another holder took the lease from this
/// one: the calls this instance still runs are the new holder's then.
pub async fn run(
    store: Arc<dyn LeaseStore>,
    timing: LeaseTiming,
    fence: Arc<Fence>,
    role: watch::Sender<Role>,
    superseded: Arc<watch::Sender<u64>>,
    mut release: oneshot::Receiver<oneshot::Sender<()>>,
) {
    let mut core = LeaseCore::new(timing, read_clock());
    let mut pending: Option<Pending> = None;
    loop {
        let now = read_clock();
        core.handle_timeout(now);
        if let Some(held) = core.poll_attempt(now) {
            pending = Some(attempt(store.clone(), held, timing));
        }
        publish(&core, now, &fence, &role);
        let wake = Instant::from_std(core.poll_timeout());
        tokio::select! {
            result = async { pending.as_mut().expect("guarded").await }, if pending.is_some() => {
                pending = None;
                if let Err(e) = &result {
                    tracing::warn!(error = %e, "lease not renewed");
                }
                core.on_result(result);
                if core.take_superseded() {
                    tracing::warn!("another instance holds the lease now: leaving it the calls");
                    fence.deactivate();
                    superseded.send_modify(|n| *n += 1);
                }
            }
            () = sleep_until(wake) => {}
            done = &mut release => {
                fence.deactivate();
                let _ = role.send(Role::Standby);
                if let Some(token) = core.give_up() {
                    match store.release(token).await {
                        Ok(()) => tracing::info!(token, "lease released"),
                        Err(e) => tracing::warn!(error = %e, "lease not released: it expires on its own"),
                    }
                }
                if let Ok(done) = done {
                    let _ = done.send(());
                }
                return;
            }
        }
    }
}

/// Runs [`run`] on a thread of its own, with a runtime of its own.
///
/// The lease must be renewed on time whatever else the process does: on the
/// gateway's runtime a renewal waits behind every ready call task, and a
/// process busy with hundreds of calls (or starved by a busy machine) lets
/// its lease lapse, closes its events socket under live calls and comes
/// back a moment later. Here it only waits for the OS to schedule one
/// mostly idle thread. `store` is built in this runtime's context, so that
/// the connection it opens is driven here too.
pub fn spawn<E: std::fmt::Display>(
    store: impl FnOnce() -> Result<Arc<dyn LeaseStore>, E>,
    timing: LeaseTiming,
    fence: Arc<Fence>,
    role: watch::Sender<Role>,
    superseded: Arc<watch::Sender<u64>>,
    release: oneshot::Receiver<oneshot::Sender<()>>,
) -> Result<std::thread::JoinHandle<()>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("the lease task's runtime: {e}"))?;
    let store = {
        let _here = runtime.enter();
        store().map_err(|e| e.to_string())?
    };
    std::thread::Builder::new()
        .name("vg-lease".into())
        .spawn(move || {
            runtime.block_on(run(store, timing, fence, role, superseded, release));
        })
        .map_err(|e| format!("the lease task's thread: {e}"))
}

/// The driver reads the clock; the core is given it.
#[allow(clippy::disallowed_methods)]
fn read_clock() -> std::time::Instant {
    Instant::now().into_std()
}

/// One attempt, bounded by `renew_every` so an answer that never comes
/// does not hold up the next.
fn attempt(store: Arc<dyn LeaseStore>, held: u64, timing: LeaseTiming) -> Pending {
    Box::pin(async move {
        let ttl_ms = timing.ttl.as_millis() as u64;
        match tokio::time::timeout(timing.renew_every, store.try_hold(held, ttl_ms)).await {
            Ok(result) => result,
            Err(_) => Err(LeaseError::Unavailable(format!(
                "no answer within {:?}",
                timing.renew_every
            ))),
        }
    })
}

/// Applies the role to the fence, then tells whoever watches (only changes).
fn publish(core: &LeaseCore, now: std::time::Instant, fence: &Fence, role: &watch::Sender<Role>) {
    let current = core.role(now);
    match (current, core.active_until()) {
        (Role::Active { token }, Some(until)) => fence.activate(token, until),
        _ => fence.deactivate(),
    }
    role.send_if_modified(|r| {
        if *r == current {
            return false;
        }
        tracing::warn!(
            from = r.label(),
            to = current.label(),
            "gateway role changed"
        );
        *r = current;
        true
    });
}

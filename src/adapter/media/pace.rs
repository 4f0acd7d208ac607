//! The pacing thread: the RTP packets of every UnicastRTP leg go out from
//! one thread of their own, each at its slot.
//!
//! A leg's task used to send its own packets, woken by its own timer. Under
//! load a leg whose packet is due waits behind the legs a burst of caller
//! packets woke first: at 1,000 continuous-RTP calls on two cores that was
//! a pacing jitter p99 of 8.5 ms, at 2,000 calls 34 ms, against a 5 ms
//! budget (`bench/results/2026-12-07-profile-continuous.md`). Here no
//! receive work stands between a due packet and the wire.
//!
//! # Who does what
//! - Each leg shares an [`Outbound`] with the thread: its outbound pipeline
//!   (the pacer and its queue of encoded frames), the socket to send on and
//!   the peer, behind one mutex neither side holds for longer than a few
//!   frames' work.
//! - The leg's task resamples, encodes and queues agent audio, flushes,
//!   pauses and resumes, exactly as before; whenever its pipeline has a
//!   packet due and no entry is scheduled, it [`schedules`](Pacing::schedule)
//!   one.
//! - The thread keeps the scheduled legs in a heap by due time, sends what is
//!   due, and schedules each leg again at its next slot. It wakes a leg's
//!   task only when the leg asked: the first packet of a reply went out, the
//!   reply drained, or the queue fell below the leg's refill mark. A leg
//!   playing a long reply is woken about every 200 ms, not every 20.
//! - A flush or pause takes the mutex, so it takes effect before the next
//!   packet: nothing is ever handed to the thread ahead of its slot.
//! - Talkspurts start on a grid of [`SLOT_STEP`](super::setup::SLOT_STEP)
//!   shared by every leg ([`::media::pacer::SlotGrid`]): the legs' packets
//!   fall due on at most ten moments of each 20 ms, and the thread wakes
//!   once for all the packets due at each, instead of once for nearly every
//!   packet when a few hundred calls talk.
//!
//! An entry in the heap is never later than its leg's next slot: anything
//! that changes the schedule (a flush, a pause, a new talkspurt) only moves
//! the next slot later, and an early entry is put back at the right time.
//!
//! # Priority
//! At `media.pacing_priority` (10 by default; 0 turns it off) the
//! thread asks for the real-time policy `SCHED_FIFO` at that priority: it
//! then runs as soon as a packet is due, ahead of every ordinary thread. On two cores shared with the
//! runtime's workers and a busy peer, at 2,000 continuous-RTP calls, its
//! pacing jitter p99 was 0.55 ms and the worst packet 5-6 ms late, against
//! 3-4 ms and 10-15 ms at nice -10
//! (`bench/results/2026-12-07-realtime-pacer/`). It needs `CAP_SYS_NICE` or an
//! `RLIMIT_RTPRIO` of at least the priority (`ulimits: rtprio: 10` in
//! docker-compose, `LimitRTPRIO=10` under systemd). (It was opt-in for a
//! while: a clean-clone test failure once blamed on it was a race in the
//! gateway's readiness, since fixed; see
//! `bench/results/2026-12-07-realtime-pacer/`.) Off, refused, or
//! with the priority 0, it asks for nice [`NICE`] instead (`CAP_SYS_NICE` or
//! an `RLIMIT_NICE` of 30: `ulimits: nice: 30`, `LimitNICE=30`), and refused
//! that too it runs at the default; it says which once. It sleeps between
//! rounds and sends a packet in a few microseconds, so the share it takes
//! is the sending it did anyway; it never waits on a leg's lock (see
//! [`BUSY_RETRY`]). Real-time, it watches itself: kept busy beyond
//! [`WATCH_SHARE_PERCENT`] of a core for a second, it gives real-time up and
//! logs an error ([`Watchdog`]), so that no fault of its own can starve the
//! rest of the process.
//!
//! AudioSocket and the media WebSocket write to a TCP stream through their
//! task; their legs send themselves (no [`Direct`]).

use super::metrics::MediaMetrics;
use ::media::pipeline::OutboundPipeline;
use futures_util::task::AtomicWaker;
use std::{
    cmp::Reverse,
    collections::BinaryHeap,
    net::{SocketAddr, UdpSocket},
    sync::{
        Arc, Mutex, MutexGuard, PoisonError, TryLockError, Weak,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    task::{Context, Poll},
    thread::Thread,
    time::{Duration, Instant},
};

/// Packets due this soon are sent now: the thread then sleeps at least this
/// long between rounds instead of waking for every packet of every call.
const EARLY: Duration = Duration::from_micros(500);
/// How long after a round a leg that held its lock is first tried again.
/// Tried again at once, the thread spun until the leg's task let go, and a
/// task that the thread itself had put off its core could not let go until
/// it was moved to another: packets were then tens of milliseconds late.
/// Each further try waits twice as long, up to [`BUSY_RETRY_MAX`].
const BUSY_RETRY: Duration = Duration::from_micros(100);
/// The longest wait between two tries of a leg that keeps its lock held (a
/// task preempted holding it on a saturated host): its packet leaves at
/// most this late after the lock is let go, and the thread wakes about a
/// thousand times a second for it, not ten thousand.
const BUSY_RETRY_MAX: Duration = Duration::from_micros(800);
/// The longest sleep with nothing scheduled, after which the thread checks
/// whether its endpoint is gone.
const IDLE: Duration = Duration::from_millis(50);
/// Room for one serialized packet: RTP header plus 20 ms of slin16.
const TX_BUFFER: usize = 2048;
/// Sent levels kept for the leg's echo reference between two of its wakes.
const LOG: usize = 32;
/// The thread's nice value when it is not real-time (see the module).
pub(crate) const NICE: i32 = -10;
/// The share of a core (in percent) the thread may keep busy over a
/// [`WATCH_WINDOW`] while real-time. Sending takes a few percent; a thread
/// busier than this is looping or cannot keep up either way, and at
/// real-time it would starve the leg tasks it waits on: it gives real-time
/// up (see [`Watchdog`]).
const WATCH_SHARE_PERCENT: u32 = 90;
/// The window [`WATCH_SHARE_PERCENT`] is judged over.
const WATCH_WINDOW: Duration = Duration::from_secs(1);
/// `media.pacing_priority`'s default `SCHED_FIFO` priority: the
/// lowest band (1-99), below the kernel's own real-time threads.
pub const REALTIME_PRIORITY: u8 = 10;

/// The socket a leg's packets go out on from the thread, and where to.
#[derive(Debug)]
pub(crate) struct Direct {
    /// A second descriptor of the leg's socket; closed by [`Outbound::close`]
    /// before the leg's own, so its port is free when the pool hands it out
    /// again.
    socket: UdpSocket,
    pub(crate) peer: Option<SocketAddr>,
    tx: Box<[u8]>,
}

impl Direct {
    pub(crate) fn new(socket: UdpSocket) -> Self {
        Self {
            socket,
            peer: None,
            tx: vec![0; TX_BUFFER].into_boxed_slice(),
        }
    }
}

/// What the thread tells a leg, read and reset by the leg at its wakes.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The leg waits for its next packet to go out (a reply's first):
    /// `first` is set then and the leg woken.
    pub(crate) want_first: bool,
    pub(crate) first: Option<Instant>,
    /// The leg waits for its queue to drain: woken when it has.
    pub(crate) want_drained: bool,
    /// Wake the leg once this little audio is queued (it has more to give).
    pub(crate) refill_below: Option<Duration>,
    /// When the last packet went out.
    pub(crate) last: Option<Instant>,
    /// (when, level) of the packets sent since the leg last looked, the
    /// newest [`LOG`] of them: its echo reference.
    levels: [(Instant, u16); LOG],
    /// Packets sent since the leg last looked.
    logged: usize,
}

impl Sent {
    fn new(now: Instant) -> Self {
        Self {
            want_first: false,
            first: None,
            want_drained: false,
            refill_below: None,
            last: None,
            levels: [(now, 0); LOG],
            logged: 0,
        }
    }

    fn record(&mut self, at: Instant, level: u16) {
        self.levels[self.logged % LOG] = (at, level);
        self.logged += 1;
        self.last = Some(at);
    }

    /// The levels logged since the last call, oldest first.
    pub(crate) fn take_levels(&mut self) -> impl Iterator<Item = (Instant, u16)> + '_ {
        let n = std::mem::take(&mut self.logged);
        let start = n.saturating_sub(LOG);
        (start..n).map(|i| self.levels[i % LOG])
    }
}

/// A leg's outbound side; see the module.
#[derive(Debug)]
pub(crate) struct Outbound {
    state: Mutex<OutState>,
    /// The thread has something for the leg (see [`Sent`]).
    signal: AtomicBool,
    waker: AtomicWaker,
    metrics: MediaMetrics,
}

/// The part behind the mutex.
#[derive(Debug)]
pub(crate) struct OutState {
    pub(crate) pipeline: OutboundPipeline,
    /// Set: the thread sends. `None`: the leg sends itself.
    pub(crate) direct: Option<Direct>,
    /// An entry for this leg is in the thread's heap.
    scheduled: bool,
    pub(crate) sent: Sent,
}

impl OutState {
    /// Whether the leg should hand the thread an entry: it sends through the
    /// thread, has a packet due and none scheduled. Marks it scheduled.
    pub(crate) fn take_schedule(&mut self) -> Option<Instant> {
        if self.direct.is_none() || self.scheduled {
            return None;
        }
        let due = self.pipeline.poll_timeout()?;
        self.scheduled = true;
        Some(due)
    }

    /// Whether packets are on their way: scheduled with the thread, or due
    /// from the leg's own timer.
    pub(crate) fn sending(&self) -> bool {
        if self.direct.is_some() {
            self.scheduled
        } else {
            self.pipeline.poll_timeout().is_some()
        }
    }
}

impl Outbound {
    pub(crate) fn new(
        pipeline: OutboundPipeline,
        direct: Option<Direct>,
        metrics: MediaMetrics,
    ) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(OutState {
                pipeline,
                direct,
                scheduled: false,
                sent: Sent::new(Instant::now()),
            }),
            signal: AtomicBool::new(false),
            waker: AtomicWaker::new(),
            metrics,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, OutState> {
        // Nothing between two statements under the lock can leave it torn.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ready once the thread signalled since the last ready poll.
    pub(crate) fn poll_signal(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.signal.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        self.waker.register(cx.waker());
        if self.signal.swap(false, Ordering::AcqRel) {
            return Poll::Ready(());
        }
        Poll::Pending
    }

    /// The leg is ending: the thread sends nothing more, and the socket's
    /// second descriptor is closed now, before the leg's own.
    pub(crate) fn close(&self) {
        self.lock().direct = None;
    }

    /// Sends every packet due by `horizon` (on the thread); when to come
    /// back: the leg's next slot, if it has one, or in a moment if the leg
    /// holds the lock now (its task may have been preempted holding it: the
    /// other legs' packets do not wait for it to run again).
    fn send_due(&self, now: Instant, horizon: Instant) -> Next {
        let mut guard = match self.state.try_lock() {
            Ok(guard) => guard,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return Next::Busy,
        };
        let st = &mut *guard;
        let Some(direct) = st.direct.as_mut() else {
            st.scheduled = false;
            return Next::Idle;
        };
        st.pipeline.handle_timeout(horizon);
        let mut sent_any = false;
        while let Some(n) = st.pipeline.poll_transmit_into(&mut direct.tx) {
            let Some(peer) = direct.peer else {
                self.metrics.dropped_no_peer.inc();
                continue;
            };
            match direct.socket.send_to(&direct.tx[..n], peer) {
                Ok(_) => {
                    self.metrics.packets_out.inc();
                    st.sent.record(now, st.pipeline.last_level());
                    sent_any = true;
                }
                // A full socket buffer (the peer's host is not reading) or
                // an unreachable peer: this packet is lost, the next goes on.
                Err(e) => tracing::debug!(error = %e, "media send failed"),
            }
        }
        let next = st.pipeline.poll_timeout();
        st.scheduled = next.is_some();
        let sent = &mut st.sent;
        let mut wake = false;
        if sent_any && std::mem::take(&mut sent.want_first) {
            sent.first = Some(now);
            wake = true;
        }
        if sent.want_drained && next.is_none() && !st.pipeline.is_paused() {
            sent.want_drained = false;
            wake = true;
        }
        if let Some(below) = sent.refill_below
            && st.pipeline.queued() <= below
        {
            sent.refill_below = None;
            wake = true;
        }
        drop(guard);
        if wake {
            self.signal.store(true, Ordering::Release);
            self.waker.wake();
        }
        next.map_or(Next::Idle, Next::At)
    }
}

/// A handle on the pacing thread of one media endpoint. The thread ends
/// once every handle is gone.
#[derive(Debug, Clone)]
pub(crate) struct Pacing {
    shared: Arc<PaceShared>,
}

#[derive(Debug)]
struct PaceShared {
    inbox: Mutex<Vec<(Instant, Arc<Outbound>)>>,
    /// Until when the thread sleeps, in ns since `base`: an entry due
    /// earlier wakes it.
    sleeps_until: AtomicU64,
    base: Instant,
    thread: Thread,
    /// The thread's id, where the system has them.
    tid: Option<i32>,
}

impl Pacing {
    /// Starts the thread, real-time at `realtime` (1-99) if allowed; 0: not
    /// real-time (see the module).
    pub(crate) fn start(realtime: u8) -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Weak<PaceShared>>(1);
        let (tid_tx, tid_rx) = std::sync::mpsc::sync_channel::<Option<i32>>(1);
        let handle = std::thread::Builder::new()
            .name("vg-pacer".into())
            .spawn(move || {
                let (tid, got) = raise_priority(realtime);
                let _ = tid_tx.send(tid);
                if let Ok(shared) = rx.recv() {
                    run(&shared, matches!(got, Priority::Realtime(_)));
                }
            })?;
        let shared = Arc::new(PaceShared {
            inbox: Mutex::new(Vec::new()),
            sleeps_until: AtomicU64::new(u64::MAX),
            base: Instant::now(),
            thread: handle.thread().clone(),
            tid: tid_rx.recv().ok().flatten(),
        });
        // The thread only ever holds the handle weakly.
        let _ = tx.send(Arc::downgrade(&shared));
        Ok(Self { shared })
    }

    /// The thread's id (Linux).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn thread_id(&self) -> Option<i32> {
        self.shared.tid
    }

    /// Has the thread send `out`'s packets from `due` on.
    pub(crate) fn schedule(&self, due: Instant, out: &Arc<Outbound>) {
        let s = &self.shared;
        s.inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((due, Arc::clone(out)));
        if since(s.base, due) < s.sleeps_until.load(Ordering::SeqCst) {
            s.thread.unpark();
        }
    }
}

/// The scheduling the thread got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Priority {
    /// `SCHED_FIFO` at this priority.
    Realtime(u8),
    /// The ordinary policy at nice [`NICE`].
    Nice,
    /// Nothing asked was allowed.
    Default,
}

/// Makes this thread real-time at `realtime` (1-99; 0: do not ask), or else
/// sets its nice value to [`NICE`] (Linux: both are per thread), saying what
/// it got once; the thread's id, and what it got.
fn raise_priority(realtime: u8) -> (Option<i32>, Priority) {
    #[cfg(target_os = "linux")]
    {
        let me = rustix::thread::gettid();
        let got = scheduling(realtime);
        match got {
            Priority::Realtime(p) => {
                tracing::info!(
                    priority = p,
                    "media pacing thread runs real-time (SCHED_FIFO)"
                );
            }
            Priority::Nice if realtime > 0 => {
                tracing::warn!(
                    priority = realtime,
                    nice = NICE,
                    "media pacing thread not real-time (it needs CAP_SYS_NICE or RLIMIT_RTPRIO >= media.pacing_priority): at nice -10 instead, its packets go out a few ms late under load"
                );
            }
            Priority::Nice => {}
            Priority::Default => {
                tracing::warn!(
                    nice = NICE,
                    "media pacing thread left at the default priority (it needs CAP_SYS_NICE, RLIMIT_RTPRIO >= media.pacing_priority or RLIMIT_NICE >= 30): under load its packets may go out late"
                );
            }
        }
        (Some(me.as_raw_nonzero().get()), got)
    }
    #[cfg(not(target_os = "linux"))]
    {
        (None, scheduling(realtime))
    }
}

/// Takes this thread off real-time: the ordinary policy, at nice [`NICE`]
/// where allowed (else the default). Always allowed: giving real-time up
/// needs no privilege.
fn demote() -> Priority {
    use thread_priority::{
        NormalThreadSchedulePolicy, ThreadPriority, ThreadPriorityOsValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    if let Err(e) = set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Os(ThreadPriorityOsValue::default()),
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
    ) {
        tracing::error!(error = ?e, "media pacing thread: cannot give real-time up");
    }
    nice_or_default()
}

/// Watches how busy the real-time thread keeps its core. A real-time thread
/// that loops runs ahead of every ordinary thread on its core, the leg tasks
/// it waits on included, for as long as it loops; busy beyond
/// [`WATCH_SHARE_PERCENT`] of a [`WATCH_WINDOW`] it gives real-time up.
/// Its time is the wall time of its rounds: a real-time thread is not
/// put off its core while it runs, so that is about its CPU time, with no
/// system call to read it.
#[derive(Debug)]
struct Watchdog {
    /// The window's start.
    start: Instant,
    /// Time spent in rounds since `start`.
    busy: Duration,
}

impl Watchdog {
    fn new(now: Instant) -> Self {
        Self {
            start: now,
            busy: Duration::ZERO,
        }
    }

    /// Counts a round that ran from `from` to `to`; once a window is over,
    /// whether the thread was busy beyond its share of it.
    fn round(&mut self, from: Instant, to: Instant) -> bool {
        self.busy += to.saturating_duration_since(from);
        let window = to.saturating_duration_since(self.start);
        if window < WATCH_WINDOW {
            return false;
        }
        let over = self.busy * 100 > window * WATCH_SHARE_PERCENT;
        *self = Self::new(to);
        over
    }
}

/// Asks for real-time at `realtime`, then for nice [`NICE`].
fn scheduling(realtime: u8) -> Priority {
    use thread_priority::{
        RealtimeThreadSchedulePolicy, ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        set_thread_priority_and_policy, thread_native_id,
    };
    if realtime > 0
        && let Ok(value) = ThreadPriorityValue::try_from(realtime)
        && set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(value),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .is_ok()
    {
        return Priority::Realtime(realtime);
    }
    nice_or_default()
}

/// Sets this thread's nice value to [`NICE`] if allowed.
fn nice_or_default() -> Priority {
    #[cfg(target_os = "linux")]
    if rustix::process::setpriority_process(Some(rustix::thread::gettid()), NICE).is_ok() {
        return Priority::Nice;
    }
    Priority::Default
}

fn since(base: Instant, t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// When the thread comes back to a leg.
enum Next {
    At(Instant),
    /// Shortly ([`BUSY_RETRY`]): the leg held its lock.
    Busy,
    /// When the leg schedules itself again.
    Idle,
}

/// A scheduled leg.
struct Entry {
    due: Instant,
    /// Arrival order, for equal due times.
    n: u64,
    /// Tries in a row that found the leg's lock held.
    busy: u32,
    out: Arc<Outbound>,
}

/// How long after `busy` tries in a row that found a leg's lock held it is
/// tried again: [`BUSY_RETRY`], doubled each time, at most
/// [`BUSY_RETRY_MAX`].
fn busy_retry(busy: u32) -> Duration {
    BUSY_RETRY
        .saturating_mul(1 << busy.saturating_sub(1).min(8))
        .min(BUSY_RETRY_MAX)
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.n) == (other.due, other.n)
    }
}

impl Eq for Entry {}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.due, self.n).cmp(&(other.due, other.n))
    }
}

/// The thread's loop: until the endpoint is gone. `realtime`: the thread
/// runs real-time, watched by a [`Watchdog`].
fn run(shared: &Weak<PaceShared>, realtime: bool) {
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    let mut taken = Vec::new();
    // Legs to come back to after this round, not within it.
    let mut later: Vec<Entry> = Vec::new();
    let mut n = 0u64;
    let mut watch = realtime.then(|| Watchdog::new(Instant::now()));
    loop {
        let Some(s) = shared.upgrade() else {
            return;
        };
        std::mem::swap(
            &mut *s.inbox.lock().unwrap_or_else(PoisonError::into_inner),
            &mut taken,
        );
        for (due, out) in taken.drain(..) {
            n += 1;
            heap.push(Reverse(Entry {
                due,
                n,
                busy: 0,
                out,
            }));
        }
        // One clock read a round: the packets of a round leave within
        // microseconds of each other.
        let now = Instant::now();
        let horizon = now + EARLY;
        while heap.peek().is_some_and(|Reverse(e)| e.due <= horizon) {
            let Some(Reverse(e)) = heap.pop() else {
                break;
            };
            // A panic in one leg's pipeline must not end every leg's sending:
            // that leg is given up (its lock is poisoned; the leg's task
            // goes on with what it finds), the others go on.
            let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                e.out.send_due(now, horizon)
            }));
            let next = sent.unwrap_or_else(|_| {
                tracing::error!(
                    "media pacing thread: a leg's sending panicked; that leg sends no more"
                );
                e.out.close();
                Next::Idle
            });
            n += 1;
            match next {
                // All that was due by the horizon went out: asking again
                // within it, the leg has nothing it can send now, and is
                // tried next round rather than spun on.
                Next::At(due) if due <= horizon => later.push(Entry {
                    due: now + BUSY_RETRY,
                    n,
                    busy: 0,
                    out: e.out,
                }),
                Next::At(due) => heap.push(Reverse(Entry {
                    due,
                    n,
                    busy: 0,
                    out: e.out,
                })),
                Next::Busy => {
                    e.out.metrics.pacer_lock_busy.inc();
                    let busy = e.busy.saturating_add(1);
                    later.push(Entry {
                        due: now + busy_retry(busy),
                        n,
                        busy,
                        out: e.out,
                    });
                }
                Next::Idle => {}
            }
        }
        // Legs that held their lock: tried again shortly.
        heap.extend(later.drain(..).map(Reverse));
        let end = Instant::now();
        if let Some(w) = watch.as_mut()
            && w.round(now, end)
        {
            watch = None;
            let got = demote();
            tracing::error!(
                share_percent = WATCH_SHARE_PERCENT,
                now = ?got,
                "media pacing thread kept its core busier than its share for a second: it gives real-time up, and packets may go out a few ms late under load"
            );
        }
        let wake = heap.peek().map_or(end + IDLE, |Reverse(e)| e.due);
        // Said before the inbox is looked at again: an entry put in after
        // the look sees this and wakes the thread if it is due earlier.
        s.sleeps_until.store(since(s.base, wake), Ordering::SeqCst);
        let waiting = !s
            .inbox
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        drop(s);
        if !waiting {
            std::thread::park_timeout(wake.saturating_duration_since(end).min(IDLE));
        }
    }
}

#[cfg(test)]
mod tests;

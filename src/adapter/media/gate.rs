//! Polling a leg's quiet sources only when they have woken it.
//!
//! A leg wakes 50-100 times a second for its datagrams and its timer, and
//! every wake used to poll its command channel, its audio channel and its
//! events-closed watch as well: twice (the branch that was ready, then the
//! round that returns `Pending`), each poll walking the channel's block list
//! and registering the task's waker again. Those channels are empty nearly
//! always (the ninth session's profile: 9.4 % of the gateway's time at 1,000
//! calls). [`Gates`] stand between the sources and the task: each source
//! is given a waker of its own, which notes that this source woke the task
//! before waking it, and the source is polled again only then (or after it
//! last yielded an item: it may hold more). A quiet source stays registered
//! with its waker and costs an atomic swap per poll; the task's waker is
//! registered once per round, not once per source.

use futures_util::task::AtomicWaker;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    task::{Context, Poll, Wake, Waker},
};

/// The gates of `N` sources of one task; see the module. Source 0 leads:
/// it is polled first in every round (a `biased` `select!`'s first
/// branch), and its poll alone registers the task's waker, once a round.
pub(crate) struct Gates<const N: usize> {
    shared: Arc<Shared<N>>,
    /// One per source, given to it: notes the source, then wakes the task.
    wakers: [Waker; N],
}

struct Shared<const N: usize> {
    /// Each source woke the task (or may hold an item) since its last poll.
    woken: [AtomicBool; N],
    /// The task to wake.
    task: AtomicWaker,
}

/// The waker of source `index`.
struct SourceWaker<const N: usize> {
    shared: Arc<Shared<N>>,
    index: usize,
}

impl<const N: usize> Wake for SourceWaker<N> {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.shared.woken[self.index].store(true, Ordering::Release);
        self.shared.task.wake();
    }
}

impl<const N: usize> Gates<N> {
    /// Gates whose sources are each polled at their first [`Gates::poll`].
    pub(crate) fn new() -> Self {
        let shared = Arc::new(Shared {
            woken: std::array::from_fn(|_| AtomicBool::new(true)),
            task: AtomicWaker::new(),
        });
        let wakers = std::array::from_fn(|index| {
            Waker::from(Arc::new(SourceWaker {
                shared: Arc::clone(&shared),
                index,
            }))
        });
        Self { shared, wakers }
    }

    /// Polls source `index` through `poll` if it woke the task since its
    /// last poll, or yielded an item then; else `Pending` without touching
    /// it (its registration, made with its own waker, still stands).
    pub(crate) fn poll<T>(
        &self,
        index: usize,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if index == 0 {
            // The task first: a wake from now on reaches the current task.
            self.shared.task.register(cx.waker());
        }
        if !self.shared.woken[index].swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = poll(&mut Context::from_waker(&self.wakers[index]));
        if polled.is_ready() {
            // It may hold more, and a ready source registered no waker.
            self.shared.woken[index].store(true, Ordering::Release);
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::mpsc;

    /// The task's waker, counting its wakes.
    struct Task(AtomicUsize);

    impl Wake for Task {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn task() -> (Arc<Task>, Waker) {
        let task = Arc::new(Task(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&task));
        (task, waker)
    }

    fn wakes(task: &Task) -> usize {
        task.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_quiet_source_is_polled_once_until_it_wakes_the_task() {
        let gates = Gates::<1>::new();
        let (tx, mut rx) = mpsc::channel(8);
        let (task, waker) = task();
        let mut cx = Context::from_waker(&waker);
        let mut polls = 0;
        let mut round = |cx: &mut Context<'_>| {
            gates.poll(0, cx, |cx| {
                polls += 1;
                rx.poll_recv(cx)
            })
        };
        for _ in 0..5 {
            assert!(round(&mut cx).is_pending());
        }
        // Sends wake the task once; every item is then read, one poll each,
        // and the poll after the last finds the channel empty.
        for i in 0..3 {
            tx.try_send(i).unwrap();
        }
        assert_eq!(wakes(&task), 1);
        for i in 0..3 {
            assert_eq!(round(&mut cx), Poll::Ready(Some(i)));
        }
        assert!(round(&mut cx).is_pending());
        assert!(round(&mut cx).is_pending());
        drop(tx);
        assert_eq!(wakes(&task), 2, "the close woke it");
        assert_eq!(round(&mut cx), Poll::Ready(None));
        assert_eq!(
            polls,
            1 + 3 + 1 + 1,
            "polled only when woken or after an item"
        );
    }

    #[test]
    fn a_led_source_wakes_the_task_the_leader_registered() {
        let gates = Gates::<2>::new();
        let (_lead_tx, mut lead) = mpsc::channel::<u32>(1);
        let (tx, mut rx) = mpsc::channel(1);
        let (task, waker) = task();
        let mut cx = Context::from_waker(&waker);
        // A biased select!'s round: the leader, then the led source.
        assert!(gates.poll(0, &mut cx, |cx| lead.poll_recv(cx)).is_pending());
        assert!(gates.poll(1, &mut cx, |cx| rx.poll_recv(cx)).is_pending());
        tx.try_send(9u32).unwrap();
        assert_eq!(wakes(&task), 1, "the led source's send woke the task");
        let mut lead_polls = 0;
        let next = gates.poll(0, &mut cx, |cx| {
            lead_polls += 1;
            lead.poll_recv(cx)
        });
        assert!(next.is_pending());
        assert_eq!(
            lead_polls, 0,
            "the leader did not wake the task: not polled"
        );
        assert_eq!(
            gates.poll(1, &mut cx, |cx| rx.poll_recv(cx)),
            Poll::Ready(Some(9))
        );
    }
}

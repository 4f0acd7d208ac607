//! The pacing thread on real loopback sockets.

use super::*;
use crate::adapter::media::setup;
use crate::application::ports::{media::Transport, telephony::WireFormat};
use ::media::rtp::RtpPacket;
use std::future::poll_fn;

/// Long enough for anything that should come; only ever waited out when a
/// test fails.
const PATIENCE: Duration = Duration::from_secs(5);

/// A µ-law leg's outbound side sending from its own socket to `peer`, with
/// `ms` of agent audio queued (and its end, if `ends`).
fn leg(ms: usize, ends: bool, peer: &UdpSocket) -> Arc<Outbound> {
    let config = setup::outbound(Transport::Rtp, WireFormat::Ulaw, Duration::from_secs(3));
    let mut pipeline = OutboundPipeline::new(config).unwrap();
    let now = Instant::now();
    let pcm: Vec<i16> = (0..ms * 8).map(|i| ((i % 40) as i16 - 20) * 500).collect();
    pipeline.push_pcm(now, &pcm, 8_000).unwrap();
    if ends {
        pipeline.end_of_speech(now).unwrap();
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut direct = Direct::new(socket);
    direct.peer = Some(peer.local_addr().unwrap());
    Outbound::new(pipeline, Some(direct), MediaMetrics::default())
}

fn peer() -> UdpSocket {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(PATIENCE)).unwrap();
    peer
}

/// Hands the leg to the thread, as the leg's task does.
fn schedule(pacing: &Pacing, out: &Arc<Outbound>) {
    let due = out.lock().take_schedule().expect("a packet is due");
    pacing.schedule(due, out);
}

/// The next packet's (sequence, marker), from the leg with source port `from`.
fn next_packet(peer: &UdpSocket, from: u16) -> (u16, bool) {
    let mut buf = [0u8; 2048];
    loop {
        let (n, addr) = peer.recv_from(&mut buf).expect("a packet within 5 s");
        if addr.port() == from {
            let p = RtpPacket::parse(&buf[..n]).unwrap();
            return (p.header.sequence, p.header.marker);
        }
    }
}

fn port(out: &Outbound) -> u16 {
    let st = out.lock();
    let direct = st.direct.as_ref().unwrap();
    direct.socket.local_addr().unwrap().port()
}

/// Waits for the thread to wake the leg.
async fn signalled(out: &Outbound) {
    tokio::time::timeout(PATIENCE, poll_fn(|cx| out.poll_signal(cx)))
        .await
        .expect("the thread woke the leg");
}

#[tokio::test]
async fn the_thread_sends_each_packet_once_in_order_and_wakes_the_leg_for_the_first_and_the_drain()
{
    let pacing = Pacing::start(REALTIME_PRIORITY).unwrap();
    let peer = peer();
    let out = leg(200, true, &peer);
    {
        let mut st = out.lock();
        st.sent.want_first = true;
        st.sent.want_drained = true;
    }
    schedule(&pacing, &out);
    let from = port(&out);
    signalled(&out).await;
    assert!(
        out.lock().sent.first.is_some(),
        "woken for the first packet"
    );
    let sent = loop {
        let done = {
            let st = out.lock();
            (!st.scheduled).then(|| st.pipeline.stats().packets_sent)
        };
        match done {
            Some(sent) => break sent,
            None => signalled(&out).await,
        }
    };
    assert!(sent >= 10, "200 ms of audio: {sent} packets");
    let (first, marker) = next_packet(&peer, from);
    assert!(marker, "the talkspurt's first packet carries the marker");
    for i in 1..sent {
        let (seq, _) = next_packet(&peer, from);
        assert_eq!(seq, first.wrapping_add(i as u16), "in order, none twice");
    }
    let st = out.lock();
    assert!(st.pipeline.poll_timeout().is_none() && !st.sent.want_drained);
    assert!(st.sent.last.is_some());
}

/// A flush takes the lock the thread sends under: not a packet more goes out.
#[tokio::test]
async fn a_flush_stops_the_packets_at_once() {
    let pacing = Pacing::start(REALTIME_PRIORITY).unwrap();
    let peer = peer();
    let out = leg(2_000, false, &peer);
    schedule(&pacing, &out);
    let from = port(&out);
    for _ in 0..3 {
        next_packet(&peer, from);
    }
    let sent = {
        let mut st = out.lock();
        st.pipeline.flush();
        st.pipeline.stats().packets_sent
    };
    for _ in 3..sent {
        next_packet(&peer, from);
    }
    // Ten slots' worth: a packet would have come every 20 ms.
    peer.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut buf = [0u8; 2048];
    let more = peer.recv_from(&mut buf);
    assert!(more.is_err(), "a packet after the flush: {more:?}");
}

/// A leg whose task holds its lock (preempted mid-feed, say) does not hold
/// up the packets of the others.
#[tokio::test]
async fn a_leg_holding_its_lock_holds_up_no_other_leg() {
    let pacing = Pacing::start(REALTIME_PRIORITY).unwrap();
    let peer = peer();
    let (held, free) = (leg(2_000, false, &peer), leg(2_000, false, &peer));
    let (held_port, free_port) = (port(&held), port(&free));
    let guard = held.lock();
    let due = Instant::now();
    pacing.schedule(due, &held);
    schedule(&pacing, &free);
    for _ in 0..5 {
        next_packet(&peer, free_port);
    }
    drop(guard);
    next_packet(&peer, held_port);
}

/// The thread's descriptor of a leg's socket closes with the leg, so the
/// port can be bound again at once.
#[test]
fn closing_a_leg_frees_its_port() {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let pipeline = OutboundPipeline::new(setup::outbound(
        Transport::Rtp,
        WireFormat::Ulaw,
        Duration::from_secs(1),
    ))
    .unwrap();
    let second = {
        use std::os::fd::AsFd;
        UdpSocket::from(socket.as_fd().try_clone_to_owned().unwrap())
    };
    let out = Outbound::new(pipeline, Some(Direct::new(second)), MediaMetrics::default());
    drop(socket);
    assert!(
        UdpSocket::bind(addr).is_err(),
        "the thread's descriptor keeps the port"
    );
    out.close();
    UdpSocket::bind(addr).expect("the port is free once the leg closed");
}

/// Fields of a thread's `/proc` stat after the command's closing parenthesis:
/// field N of proc(5) is at N - 3.
fn stat(tid: i32) -> Vec<String> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap();
    stat[stat.rfind(')').unwrap() + 2..]
        .split(' ')
        .map(str::to_owned)
        .collect()
}

/// What this process may ask for: (CAP_SYS_NICE, RLIMIT_RTPRIO, RLIMIT_NICE).
fn allowed() -> (bool, i64, i64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .map(|c| u64::from_str_radix(c.trim(), 16).unwrap())
        .unwrap();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap();
    let limit = |name: &str| -> i64 {
        limits
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|l| l.split_whitespace().next())
            .map_or(0, |soft| soft.parse().unwrap_or(i64::MAX))
    };
    // CAP_SYS_NICE is capability 23.
    (
        caps & (1 << 23) != 0,
        limit("Max realtime priority"),
        limit("Max nice priority"),
    )
}

/// (policy, rt_priority, nice) of the pacing thread started at `realtime`.
fn scheduled_at(realtime: u8) -> (u32, u32, i32) {
    let pacing = Pacing::start(realtime).unwrap();
    let tid = pacing.thread_id().expect("a thread id on Linux");
    let f = stat(tid);
    (
        f[38].parse().unwrap(),
        f[37].parse().unwrap(),
        f[16].parse().unwrap(),
    )
}

/// SCHED_OTHER and SCHED_FIFO in proc(5)'s `policy`.
const OTHER: u32 = 0;
const FIFO: u32 = 1;

/// Run as root (or with CAP_SYS_NICE, or RLIMIT_RTPRIO >= 10), the thread
/// is real-time; otherwise it falls back to nice -10 where allowed.
#[cfg(target_os = "linux")]
#[test]
fn the_thread_runs_real_time_where_allowed_and_else_at_its_nice_value() {
    let (cap, rtprio, rlimit_nice) = allowed();
    let (policy, priority, nice) = scheduled_at(REALTIME_PRIORITY);
    if cap || rtprio >= i64::from(REALTIME_PRIORITY) {
        assert_eq!((policy, priority), (FIFO, u32::from(REALTIME_PRIORITY)));
    } else if 20 - rlimit_nice <= i64::from(NICE) {
        assert_eq!((policy, nice), (OTHER, NICE), "refused real-time: nice -10");
    } else {
        assert_eq!((policy, nice), (OTHER, 0), "refused both: the default");
    }
}

/// `media.pacing_priority = 0`: never real-time, nice -10 where allowed.
#[cfg(target_os = "linux")]
#[test]
fn priority_zero_keeps_the_thread_off_real_time() {
    let (cap, _, rlimit_nice) = allowed();
    let (policy, priority, nice) = scheduled_at(0);
    assert_eq!((policy, priority), (OTHER, 0));
    if cap || 20 - rlimit_nice <= i64::from(NICE) {
        assert_eq!(nice, NICE);
    }
}

/// A leg whose task holds its lock is tried again [`BUSY_RETRY`] later, and
/// less often the longer it holds it, not at once: a real-time thread
/// spinning on it kept the task holding the lock off its core, and packets
/// went out tens of milliseconds late. Held for 500 ms, the lock is tried
/// about 600 times (`busy_retry` doubling up to [`BUSY_RETRY_MAX`]); at a
/// fixed 100 us it was 5,000 times, spinning hundreds of thousands. A slow
/// host only makes the tries fewer, so the bound cannot flake. (It was
/// once judged by the thread's CPU ticks, which a loaded CI host inflated.)
#[cfg(target_os = "linux")]
#[test]
fn a_leg_holding_its_lock_is_not_spun_on() {
    let pacing = Pacing::start(REALTIME_PRIORITY).unwrap();
    let peer = peer();
    let out = leg(2_000, false, &peer);
    let from = port(&out);
    let tries = || out.metrics.pacer_lock_busy.get();
    {
        let mut held = out.lock();
        let due = held.take_schedule().expect("a packet is due");
        pacing.schedule(due, &out);
        std::thread::sleep(Duration::from_millis(500));
        let tried = tries();
        drop(held);
        assert!(
            tried > 0,
            "the thread tried the leg while its lock was held"
        );
        assert!(
            tried < 1_000,
            "the thread tried a held lock {tried} times in 500 ms"
        );
    }
    // Let go, the leg's packets go out.
    let (_, marker) = next_packet(&peer, from);
    assert!(marker, "the first packet of the reply");
}

/// The wait before trying a held lock again doubles from [`BUSY_RETRY`] and
/// stops at [`BUSY_RETRY_MAX`].
#[test]
fn a_held_lock_is_tried_less_often_the_longer_it_is_held() {
    let us = Duration::from_micros;
    let waits: Vec<Duration> = (1..=6).map(busy_retry).collect();
    assert_eq!(
        waits,
        [us(100), us(200), us(400), us(800), us(800), us(800)]
    );
    assert_eq!(busy_retry(u32::MAX), BUSY_RETRY_MAX);
}

/// The watchdog's judgement: busy 95 % of a second is over the share, 50 %
/// is not, one round that ran for two seconds (a loop) is; nothing is judged
/// before a window is over.
#[test]
fn the_watchdog_judges_the_busy_share_of_each_second() {
    let ms = Duration::from_millis;
    let t0 = Instant::now();
    // Rounds every 10 ms, each busy `busy` of them: the verdict of each.
    let verdicts = |busy: Duration| -> Vec<bool> {
        let mut w = Watchdog::new(t0);
        (1..=200u32)
            .map(|i| {
                let end = t0 + ms(10) * i;
                w.round(end - busy, end)
            })
            .collect()
    };
    let hot = verdicts(Duration::from_micros(9_500));
    let over: Vec<usize> = (0..hot.len()).filter(|&i| hot[i]).collect();
    assert_eq!(
        over,
        vec![99, 199],
        "over the share once per window, when it ends"
    );
    assert!(
        verdicts(ms(5)).iter().all(|over| !over),
        "half a core is fine"
    );
    let mut w = Watchdog::new(t0);
    assert!(!w.round(t0, t0 + ms(300)), "within the first window");
    assert!(w.round(t0 + ms(300), t0 + ms(2_300)), "a round that looped");
    assert!(!w.round(t0 + ms(2_300), t0 + ms(2_310)), "a new window");
}

/// A real-time thread that gives real-time up runs at the ordinary policy,
/// at nice -10 where allowed.
#[cfg(target_os = "linux")]
#[test]
fn a_demoted_thread_is_no_longer_real_time() {
    let (cap, rtprio, rlimit_nice) = allowed();
    if !cap && rtprio < i64::from(REALTIME_PRIORITY) {
        eprintln!("skipped: real-time is not allowed here");
        return;
    }
    let (before, after, got) = std::thread::spawn(|| {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        let policy = |tid| -> (u32, i32) {
            let f = stat(tid);
            (f[38].parse().unwrap(), f[16].parse().unwrap())
        };
        assert_eq!(
            scheduling(REALTIME_PRIORITY),
            Priority::Realtime(REALTIME_PRIORITY)
        );
        let before = policy(tid);
        let got = demote();
        (before, policy(tid), got)
    })
    .join()
    .unwrap();
    assert_eq!(before.0, FIFO);
    assert_eq!(after.0, OTHER, "off real-time");
    if cap || 20 - rlimit_nice <= i64::from(NICE) {
        assert_eq!((after.1, got), (NICE, Priority::Nice));
    }
}

//! Real media: UDP RTP (UnicastRTP), AudioSocket over TCP and chan_websocket frames.
//!
//! Sending is done by a few shard timer tasks (not a task per call): each ticks every 20 ms on
//! an absolute grid (`MissedTickBehavior::Skip`: a late tick never bursts to catch up, which
//! would be exactly the re-timing Asterisk does not do) and sends one frame for every stream
//! that has audio queued. Like Asterisk in a two-party bridge (`simple_bridge`), a stream sends
//! nothing while the caller is silent, whatever its transport: chan_rtp, chan_audiosocket and
//! chan_websocket all write only the frames the bridge hands them (fixture 11; the `write`
//! callbacks in Asterisk's source). In a 3+ party (softmix) bridge it sends continuously.
//! Receiving is one small task per media socket that records what arrives.

pub(crate) mod audiosocket;
pub mod g711;
pub(crate) mod record;
pub(crate) mod rtp;
pub(crate) mod rx_clock;
pub(crate) mod stats;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::{Instant, MissedTickBehavior};

use record::{MediaFormat, Record};

/// Where a stream's frames go.
pub(crate) enum Sink {
    Udp {
        sock: Arc<UdpSocket>,
        dest: SocketAddr,
    },
    /// Already framed bytes for an AudioSocket writer task.
    AudioSocket(mpsc::UnboundedSender<Vec<u8>>),
    /// Binary WebSocket frames for a chan_websocket connection.
    WebSocket(mpsc::UnboundedSender<Vec<u8>>),
}

/// One outgoing media stream (Asterisk → gateway) of one media channel.
struct TxStream {
    sink: Sink,
    format: MediaFormat,
    seq: u16,
    ts: u32,
    ssrc: u32,
    /// 8 kHz caller audio waiting to be sent.
    pending: VecDeque<i16>,
    /// Send silence when nothing is pending.
    continuous: bool,
    always_continuous: bool,
    /// The last frame sent carried queued audio: the next one does not start an utterance.
    talking: bool,
    /// Where the start of each utterance is noted (the speech onset tests measure from).
    record: Arc<Mutex<Record>>,
    base: Instant,
    /// (first, last) frame send time of the latest utterances (ms, simulator clock).
    utterances: VecDeque<(f64, f64)>,
    /// The last tick sent queued audio (not silence), for `utterances`.
    in_utterance: bool,
}

#[derive(Default)]
struct Shard {
    streams: Mutex<HashMap<String, TxStream>>,
}

/// Network impairments applied to what the simulator sends.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RtpFaults {
    pub(crate) loss: f64,
    pub(crate) jitter_ms: u64,
}

/// What every receive task shares: the clock, impairments and the load figures.
pub(crate) struct RxShared {
    pub(crate) base: Instant,
    /// Puts the kernel's receive stamps on the clock of `base`.
    pub(crate) wall: rx_clock::WallBase,
    pub(crate) faults: Arc<Mutex<RtpFaults>>,
    pub(crate) record_payloads: bool,
    pub(crate) record_packets: bool,
    /// Pacing against the 20 ms grid, by kernel arrival and by read time.
    pub(crate) pacing: stats::PacingHistograms,
    /// RTP packets received, and packets missing from sequence gaps.
    pub(crate) packets: std::sync::atomic::AtomicU64,
    pub(crate) lost: std::sync::atomic::AtomicU64,
    /// RTP packets that came with a kernel receive stamp.
    pub(crate) stamped: std::sync::atomic::AtomicU64,
}

impl RxShared {
    /// When something read at `read_ms` arrived: the kernel's `stamp` where there is one
    /// (counted, with the read's delay after it), else the read itself. Never after the read,
    /// should the wall clock be stepped forward mid-run.
    pub(crate) fn arrival(&self, stamp: Option<Duration>, read_ms: f64) -> f64 {
        let Some(s) = stamp else { return read_ms };
        let at = self.wall.ms_since_base(s).min(read_ms);
        self.stamped.fetch_add(1, Relaxed);
        self.pacing.read_delay.record_ms(read_ms - at);
        at
    }

    /// Takes one frame of framed audio (AudioSocket, the media WebSocket) with `len` payload
    /// bytes, read at `read_ms`: its pacing against the 20 ms grid and its talkspurt, like an
    /// RTP packet's. Returns its arrival time.
    pub(crate) fn framed(
        &self,
        rec: &Mutex<Record>,
        stamp: Option<Duration>,
        read_ms: f64,
        len: usize,
    ) -> f64 {
        let at_ms = self.arrival(stamp, read_ms);
        let mut r = lock(rec);
        let samples = u32::try_from(len / r.format.bytes_per_sample()).unwrap_or(u32::MAX);
        let rate = r.format.rate();
        let lost = r.summary.frame(at_ms, read_ms, samples, rate, &self.pacing);
        self.packets.fetch_add(1, Relaxed);
        self.lost.fetch_add(lost, Relaxed);
        at_ms
    }
}

/// The media side of the simulator.
pub(crate) struct MediaEngine {
    shards: Vec<Arc<Shard>>,
    records: Mutex<HashMap<String, Arc<Mutex<Record>>>>,
    tasks: Mutex<HashMap<String, Vec<AbortHandle>>>,
    /// Text channel of each chan_websocket connection (DTMF_END and other notices).
    ws_text: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
    pub(crate) record_payloads: bool,
    pub(crate) base: Instant,
    pub(crate) faults: Arc<Mutex<RtpFaults>>,
    pub(crate) rx: Arc<RxShared>,
    /// Media flows without pause in two-party bridges too (`SimConfig::continuous_media`).
    continuous_media: bool,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MediaEngine {
    pub(crate) fn new(cfg: &crate::SimConfig, base: Instant) -> Self {
        let (shards, record_payloads) = (cfg.media_shards.max(1), cfg.record_payloads);
        let faults = Arc::new(Mutex::new(RtpFaults::default()));
        let shards: Vec<Arc<Shard>> = (0..shards).map(|_| Arc::new(Shard::default())).collect();
        for s in &shards {
            tokio::spawn(run_shard(Arc::downgrade(s), Arc::clone(&faults), base));
        }
        let rx = Arc::new(RxShared {
            base,
            wall: rx_clock::WallBase::new(base.into_std()),
            faults: Arc::clone(&faults),
            record_payloads,
            record_packets: cfg.record_packets,
            pacing: stats::PacingHistograms::default(),
            packets: Default::default(),
            lost: Default::default(),
            stamped: Default::default(),
        });
        Self {
            shards,
            records: Mutex::new(HashMap::new()),
            tasks: Mutex::new(HashMap::new()),
            ws_text: Mutex::new(HashMap::new()),
            record_payloads,
            base,
            faults,
            rx,
            continuous_media: cfg.continuous_media,
        }
    }

    fn shard(&self, id: &str) -> &Arc<Shard> {
        let h = id
            .bytes()
            .fold(0usize, |a, b| a.wrapping_mul(31).wrapping_add(b as usize));
        &self.shards[h % self.shards.len()]
    }

    /// Registers a media channel: its outgoing stream and the record of what it receives.
    pub(crate) fn add(
        &self,
        id: &str,
        sink: Sink,
        format: MediaFormat,
        little_endian: bool,
    ) -> Arc<Mutex<Record>> {
        let always = self.continuous_media;
        let rec = Arc::new(Mutex::new(Record::new(format, little_endian)));
        let stream = TxStream {
            sink,
            format,
            seq: fastrand::u16(..),
            // Asterisk's first timestamp follows the source stream (fixture 11); 160 is what
            // fixture 01 shows.
            ts: 160,
            ssrc: fastrand::u32(..),
            pending: VecDeque::new(),
            continuous: always,
            always_continuous: always,
            talking: false,
            record: Arc::clone(&rec),
            base: self.base,
            utterances: VecDeque::new(),
            in_utterance: false,
        };
        lock(&self.shard(id).streams).insert(id.to_string(), stream);
        lock(&self.records).insert(id.to_string(), Arc::clone(&rec));
        rec
    }

    pub(crate) fn add_task(&self, id: &str, task: AbortHandle) {
        lock(&self.tasks)
            .entry(id.to_string())
            .or_default()
            .push(task);
    }

    pub(crate) fn add_ws_text(&self, id: &str, tx: mpsc::UnboundedSender<String>) {
        lock(&self.ws_text).insert(id.to_string(), tx);
    }

    pub(crate) fn send_ws_text(&self, id: &str, text: &str) {
        if let Some(tx) = lock(&self.ws_text).get(id) {
            let _ = tx.send(text.to_string());
        }
    }

    /// Stops a media channel's streams and sockets; its record stays for the tests.
    pub(crate) fn close(&self, id: &str) {
        lock(&self.ws_text).remove(id);
        lock(&self.shard(id).streams).remove(id);
        if let Some(tasks) = lock(&self.tasks).remove(id) {
            tasks.iter().for_each(AbortHandle::abort);
        }
    }

    pub(crate) fn close_all(&self) {
        lock(&self.ws_text).clear();
        for s in &self.shards {
            lock(&s.streams).clear();
        }
        for (_, tasks) in lock(&self.tasks).drain() {
            tasks.iter().for_each(AbortHandle::abort);
        }
    }

    /// Queues caller audio (8 kHz) on a media channel's outgoing stream.
    pub(crate) fn push_audio(&self, id: &str, pcm: &[i16]) {
        if let Some(s) = lock(&self.shard(id).streams).get_mut(id) {
            s.pending.extend(pcm.iter().copied());
        }
    }

    /// A bridge's size decides whether media flows continuously (softmix, 3+ members).
    pub(crate) fn set_bridge_size(&self, members: &[String], size: usize) {
        for m in members {
            if let Some(s) = lock(&self.shard(m).streams).get_mut(m) {
                s.continuous = s.always_continuous || size >= 3;
            }
        }
    }

    pub(crate) fn record(&self, id: &str) -> Option<Arc<Mutex<Record>>> {
        lock(&self.records).get(id).cloned()
    }

    pub(crate) fn forget_records(&self) {
        lock(&self.records).clear();
    }

    pub(crate) fn forget_record(&self, id: &str) {
        lock(&self.records).remove(id);
    }

    /// (first, last) send time of the latest utterances sent on a media channel.
    pub(crate) fn sent_utterances(&self, id: &str) -> Vec<(f64, f64)> {
        lock(&self.shard(id).streams)
            .get(id)
            .map(|s| s.utterances.iter().copied().collect())
            .unwrap_or_default()
    }

    pub(crate) fn stream_count(&self) -> usize {
        self.shards.iter().map(|s| lock(&s.streams).len()).sum()
    }

    pub(crate) fn now_ms(&self) -> f64 {
        self.base.elapsed().as_secs_f64() * 1000.0
    }
}

/// One shard's 20 ms sender loop; ends when the engine is dropped.
async fn run_shard(shard: Weak<Shard>, faults: Arc<Mutex<RtpFaults>>, base: Instant) {
    let period = Duration::from_millis(20);
    let mut tick = tokio::time::interval_at(Instant::now() + period, period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut frame = Vec::with_capacity(160);
    let mut bytes = Vec::with_capacity(12 + 640);
    loop {
        tick.tick().await;
        let Some(shard) = shard.upgrade() else { return };
        let f = *lock(&faults);
        let now_ms = base.elapsed().as_secs_f64() * 1000.0;
        let mut streams = lock(&shard.streams);
        for s in streams.values_mut() {
            let talking = !s.pending.is_empty();
            note_utterance(s, talking, now_ms);
            if !talking && !s.continuous {
                continue;
            }
            frame.clear();
            let n = s.pending.len().min(160);
            if n > 0 && !s.talking {
                let at_ms = s.base.elapsed().as_secs_f64() * 1000.0;
                lock(&s.record).talk_onsets_ms.push(at_ms);
            }
            s.talking = n > 0;
            frame.extend(s.pending.drain(..n));
            frame.resize(160, 0);
            bytes.clear();
            send_frame(s, &frame, &mut bytes, f);
        }
    }
}

/// Keeps when each utterance's first and last frames went out.
fn note_utterance(s: &mut TxStream, talking: bool, now_ms: f64) {
    match (talking, s.in_utterance, s.utterances.back_mut()) {
        (true, true, Some(last)) => last.1 = now_ms,
        (true, _, _) => {
            if s.utterances.len() == stats::KEEP_SPURTS {
                s.utterances.pop_front();
            }
            s.utterances.push_back((now_ms, now_ms));
        }
        (false, _, _) => {}
    }
    s.in_utterance = talking;
}

fn send_frame(s: &mut TxStream, pcm: &[i16], bytes: &mut Vec<u8>, f: RtpFaults) {
    match &s.sink {
        Sink::Udp { sock, dest } => {
            rtp::header(bytes, false, s.format.payload_type(), s.seq, s.ts, s.ssrc);
            record::encode(s.format, false, pcm, bytes);
            s.seq = s.seq.wrapping_add(1);
            s.ts = s.ts.wrapping_add(s.format.samples_per_frame() as u32);
            if f.loss > 0.0 && fastrand::f64() < f.loss {
                return;
            }
            if f.jitter_ms > 0 {
                let delay = Duration::from_millis(fastrand::u64(0..=f.jitter_ms));
                let (sock, dest, pkt) = (Arc::clone(sock), *dest, bytes.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = sock.try_send_to(&pkt, dest);
                });
            } else {
                // A full socket buffer drops the packet, as a real network would.
                let _ = sock.try_send_to(bytes, *dest);
            }
        }
        Sink::AudioSocket(tx) => {
            let kind = if s.format == MediaFormat::Slin16 {
                0x12
            } else {
                0x10
            };
            let mut payload = Vec::with_capacity(640);
            record::encode(s.format, true, pcm, &mut payload);
            let _ = tx.send(audiosocket::frame(kind, &payload));
        }
        Sink::WebSocket(tx) => {
            let mut payload = Vec::with_capacity(320);
            record::encode(s.format, true, pcm, &mut payload);
            let _ = tx.send(payload);
        }
    }
}

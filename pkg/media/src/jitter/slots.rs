//! The preallocated ring the jitter buffer copies packets into.

use std::time::Instant;

/// What a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotState {
    Empty,
    /// Waiting for its playout time.
    Buffered,
    /// Played already; kept so a second copy is told apart from a late packet.
    Played,
}

/// Per-slot bookkeeping; the bytes live in [`Slots::data`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct SlotMeta {
    pub(crate) state: SlotState,
    pub(crate) seq: u16,
    pub(crate) ts: u32,
    pub(crate) len: u16,
    pub(crate) marker: bool,
    pub(crate) payload_type: u8,
    pub(crate) arrival: Option<Instant>,
}

const EMPTY: SlotMeta = SlotMeta {
    state: SlotState::Empty,
    seq: 0,
    ts: 0,
    len: 0,
    marker: false,
    payload_type: 0,
    arrival: None,
};

/// A ring indexed by `seq % capacity`. Capacity is a power of two that divides
/// 2^16, so the index stays right across the sequence-number wrap.
#[derive(Debug)]
pub(crate) struct Slots {
    meta: Box<[SlotMeta]>,
    data: Box<[u8]>,
    slot_size: usize,
}

impl Slots {
    pub(crate) fn new(capacity: usize, slot_size: usize) -> Self {
        let capacity = capacity.clamp(2, 1 << 15).next_power_of_two();
        let slot_size = slot_size.clamp(1, u16::MAX as usize);
        Self {
            meta: vec![EMPTY; capacity].into_boxed_slice(),
            data: vec![0; capacity * slot_size].into_boxed_slice(),
            slot_size,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.meta.len()
    }

    pub(crate) fn slot_size(&self) -> usize {
        self.slot_size
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) & (self.meta.len() - 1)
    }

    /// The slot `seq` maps to, whatever sequence number it holds now.
    pub(crate) fn meta(&self, seq: u16) -> &SlotMeta {
        &self.meta[self.index(seq)]
    }

    /// The buffered packet with sequence number `seq`, if there is one.
    pub(crate) fn buffered(&self, seq: u16) -> Option<&SlotMeta> {
        Some(self.meta(seq)).filter(|m| m.state == SlotState::Buffered && m.seq == seq)
    }

    /// Copies a packet in, replacing whatever the slot held.
    pub(crate) fn store(&mut self, meta: SlotMeta, payload: &[u8]) {
        let idx = self.index(meta.seq);
        let start = idx * self.slot_size;
        self.data[start..start + payload.len()].copy_from_slice(payload);
        self.meta[idx] = SlotMeta {
            len: payload.len() as u16,
            ..meta
        };
    }

    /// Marks the packet `seq` played and returns its bytes.
    pub(crate) fn take(&mut self, seq: u16) -> &[u8] {
        let idx = self.index(seq);
        self.meta[idx].state = SlotState::Played;
        let start = idx * self.slot_size;
        &self.data[start..start + usize::from(self.meta[idx].len)]
    }

    pub(crate) fn clear(&mut self) {
        self.meta.fill(EMPTY);
    }
}

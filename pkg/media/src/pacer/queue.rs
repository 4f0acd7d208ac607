//! Fixed-capacity FIFO of encoded frames, allocated once.

/// A ring of equal-size byte slots. Pushing copies the payload into the next slot,
/// so the per-frame path never allocates.
#[derive(Debug)]
pub(crate) struct FrameQueue {
    data: Box<[u8]>,
    lens: Box<[u16]>,
    slot_size: usize,
    head: usize,
    len: usize,
}

impl FrameQueue {
    /// `capacity` slots of `slot_size` bytes each (both at least 1).
    pub(crate) fn new(capacity: usize, slot_size: usize) -> Self {
        let capacity = capacity.max(1);
        // Lengths are stored as u16: an RTP payload can never be larger anyway.
        let slot_size = slot_size.clamp(1, u16::MAX as usize);
        Self {
            data: vec![0; capacity * slot_size].into_boxed_slice(),
            lens: vec![0; capacity].into_boxed_slice(),
            slot_size,
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.lens.len()
    }

    pub(crate) fn slot_size(&self) -> usize {
        self.slot_size
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.capacity()
    }

    /// Copies `payload` in at the back. The caller has checked size and room.
    pub(crate) fn push_back(&mut self, payload: &[u8]) {
        debug_assert!(!self.is_full() && payload.len() <= self.slot_size);
        let idx = (self.head + self.len) % self.capacity();
        let start = idx * self.slot_size;
        self.data[start..start + payload.len()].copy_from_slice(payload);
        self.lens[idx] = payload.len() as u16;
        self.len += 1;
    }

    /// Removes the front frame and returns its bytes. They stay valid until the
    /// next push, which the borrow on `self` rules out while they are held.
    pub(crate) fn pop_front(&mut self) -> Option<&[u8]> {
        if self.len == 0 {
            return None;
        }
        let idx = self.head;
        self.head = (self.head + 1) % self.capacity();
        self.len -= 1;
        let start = idx * self.slot_size;
        Some(&self.data[start..start + self.lens[idx] as usize])
    }

    /// Forgets every queued frame at once; returns how many there were.
    pub(crate) fn clear(&mut self) -> usize {
        let n = self.len;
        self.head = 0;
        self.len = 0;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::FrameQueue;

    #[test]
    fn fifo_order_and_wrap() {
        let mut q = FrameQueue::new(3, 4);
        for round in 0..5u8 {
            q.push_back(&[round]);
            q.push_back(&[round, 1, 2]);
            assert_eq!(q.pop_front(), Some(&[round][..]));
            assert_eq!(q.pop_front(), Some(&[round, 1, 2][..]));
        }
        assert!(q.pop_front().is_none());
    }

    #[test]
    fn full_and_clear() {
        let mut q = FrameQueue::new(2, 4);
        q.push_back(&[1]);
        q.push_back(&[2]);
        assert!(q.is_full());
        assert_eq!(q.clear(), 2);
        assert!(q.is_empty());
        q.push_back(&[3]);
        assert_eq!(q.pop_front(), Some(&[3][..]));
    }
}

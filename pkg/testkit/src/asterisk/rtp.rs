//! Private RTP port ranges, so concurrent instances (in any test process)
//! never pick the same ports.

use crate::HarnessError;
use std::{fs::File, sync::Arc};

/// Ports per slot (100 concurrent calls' worth: RTP + RTCP each). An
/// instance takes one slot, or several consecutive ones when it asks for more.
pub(super) const SLOT_PORTS: u16 = 200;
/// Ranges start here and stay below Linux's ephemeral ports (32768+), which
/// is where `free_port` and the kernel's own choices come from.
const BASE: u16 = 10000;
const SLOTS: u16 = 100;

/// A claimed range: exclusive locks on per-slot files in the temp dir, held
/// (across processes) until the last clone drops.
#[derive(Debug, Clone)]
pub(super) struct RtpSlot {
    first: u16,
    count: u16,
    _locks: Arc<Vec<File>>,
}

impl RtpSlot {
    /// Claims the first run of free consecutive slots holding `ports` ports
    /// (at least one slot), starting at one derived from the process id so
    /// parallel test binaries rarely contend for the same lock.
    pub(super) fn claim(ports: u16) -> Result<Self, HarnessError> {
        let count = ports.div_ceil(SLOT_PORTS).max(1);
        if count > SLOTS {
            return Err(no_range(ports));
        }
        let start = (std::process::id() % u32::from(SLOTS)) as u16;
        for i in 0..SLOTS {
            let first = (start + i) % SLOTS;
            if first + count > SLOTS {
                continue;
            }
            if let Some(locks) = lock_run(first, count)? {
                return Ok(Self {
                    first,
                    count,
                    _locks: Arc::new(locks),
                });
            }
        }
        Err(no_range(ports))
    }

    /// The first and last port.
    pub(super) fn range(&self) -> (u16, u16) {
        let start = BASE + self.first * SLOT_PORTS;
        (start, start + self.count * SLOT_PORTS - 1)
    }
}

/// Locks slots `first..first + count`, or none (releasing what it took) if
/// one of them is taken.
fn lock_run(first: u16, count: u16) -> Result<Option<Vec<File>>, HarnessError> {
    let mut locks = Vec::with_capacity(usize::from(count));
    for slot in first..first + count {
        let path = std::env::temp_dir().join(format!("vg-asterisk-rtp-{slot}.lock"));
        let file = File::create(&path)?;
        if file.try_lock().is_err() {
            return Ok(None);
        }
        locks.push(file);
    }
    Ok(Some(locks))
}

fn no_range(ports: u16) -> HarnessError {
    HarnessError::Start {
        program: "asterisk".into(),
        reason: format!(
            "no free run of RTP port ranges holds {ports} ports ({SLOTS} slots of {SLOT_PORTS})"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_claim_spans_enough_consecutive_slots_and_excludes_others() {
        let big = RtpSlot::claim(3 * SLOT_PORTS + 1).unwrap();
        let (lo, hi) = big.range();
        assert_eq!(hi - lo + 1, 4 * SLOT_PORTS);
        let small = RtpSlot::claim(1).unwrap();
        let (a, b) = small.range();
        assert_eq!(b - a + 1, SLOT_PORTS);
        assert!(b < lo || a > hi, "{a}-{b} overlaps {lo}-{hi}");
        assert!(RtpSlot::claim(SLOTS * SLOT_PORTS + 1).is_err());
    }
}

//! Private RTP port ranges, so concurrent instances (in any test process)
//! never pick the same ports.

use crate::HarnessError;
use std::{fs::File, sync::Arc};

/// Ports per instance (100 concurrent calls' worth: RTP + RTCP each).
const SIZE: u16 = 200;
/// Ranges start here and stay below Linux's ephemeral ports (32768+), which
/// is where `free_port` and the kernel's own choices come from.
const BASE: u16 = 10000;
const SLOTS: u16 = 100;

/// A claimed range: an exclusive lock on a per-slot file in the temp dir,
/// held (across processes) until the last clone drops.
#[derive(Debug, Clone)]
pub(super) struct RtpSlot {
    slot: u16,
    _lock: Arc<File>,
}

impl RtpSlot {
    /// Claims the first free slot, starting at one derived from the process
    /// id so parallel test binaries rarely contend for the same lock.
    pub(super) fn claim() -> Result<Self, HarnessError> {
        let start = (std::process::id() % u32::from(SLOTS)) as u16;
        for i in 0..SLOTS {
            let slot = (start + i) % SLOTS;
            let path = std::env::temp_dir().join(format!("vg-asterisk-rtp-{slot}.lock"));
            let file = File::create(&path)?;
            if file.try_lock().is_ok() {
                return Ok(Self {
                    slot,
                    _lock: Arc::new(file),
                });
            }
        }
        Err(HarnessError::Start {
            program: "asterisk".into(),
            reason: format!("all {SLOTS} RTP port ranges are in use"),
        })
    }

    /// The first and last port.
    pub(super) fn range(&self) -> (u16, u16) {
        let start = BASE + self.slot * SIZE;
        (start, start + SIZE - 1)
    }
}

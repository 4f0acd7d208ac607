//! The caller's keys: which are secret, and how a run of them is kept.
//!
//! A card number or a PIN typed on the keypad arrives one key at a time, so
//! masking each key's text on its own would let every digit through. The
//! keys pressed in a row are one run: one history entry that shows only its
//! last four keys, or nothing at all when the input is secure (the route
//! says so, or the orchestrator asked for it with a `secure_input` action).
//! Secure or not, the orchestrator gets every key in its turn: it is the one
//! that needs them.

/// Secure-input state and the run being typed.
#[derive(Debug, Default)]
pub(super) struct Keys {
    /// The orchestrator asked for secure input: until `#` or a spoken turn.
    secure_next: bool,
    /// The run being typed: its history entry and its keys.
    run: Option<Run>,
}

#[derive(Debug)]
struct Run {
    record: usize,
    keys: String,
    secure: bool,
}

impl Keys {
    /// The next keys are secure (the orchestrator's `secure_input`).
    pub(super) fn secure_next(&mut self) {
        self.secure_next = true;
    }

    /// Whether the orchestrator asked for secure input.
    pub(super) fn secure_requested(&self) -> bool {
        self.secure_next
    }

    /// The caller spoke a turn: secure input ends.
    pub(super) fn spoke(&mut self) {
        self.secure_next = false;
    }

    /// Something else went into the history: the next key starts a new run.
    pub(super) fn end_run(&mut self) {
        self.run = None;
    }

    /// Adds a key to the run whose entry is `record` (or starts one there
    /// when `record` is `None` and the run is over); returns the entry's
    /// index and text.
    pub(super) fn press(
        &mut self,
        key: char,
        secure: bool,
        next_record: usize,
    ) -> (usize, bool, String) {
        let run = match &mut self.run {
            Some(run) if run.record < next_record => run,
            _ => self.run.insert(Run {
                record: next_record,
                keys: String::new(),
                secure: false,
            }),
        };
        run.keys.push(key);
        run.secure |= secure;
        if key == '#' {
            // The usual end of an entry: secure input is over.
            self.secure_next = false;
        }
        let text = if run.secure {
            "[DTMF secure]".to_owned()
        } else {
            format!("[DTMF {}]", last_four(&run.keys))
        };
        (run.record, run.record == next_record, text)
    }
}

/// Every key but the last four as `*`.
fn last_four(keys: &str) -> String {
    let n = keys.chars().count();
    keys.chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_of_keys_is_one_entry_showing_its_last_four() {
        let mut k = Keys::default();
        let mut entry = (0, false, String::new());
        // The entry is record 3; once it exists the next free index is 4.
        for (i, key) in "4111111111111111".chars().enumerate() {
            entry = k.press(key, false, if i == 0 { 3 } else { 4 });
        }
        assert_eq!(entry, (3, false, "[DTMF ************1111]".into()));
        // After a spoken turn the next key starts a new entry.
        k.end_run();
        assert_eq!(k.press('5', false, 5), (5, true, "[DTMF 5]".into()));
    }

    #[test]
    fn secure_input_shows_nothing_and_ends_on_hash_or_speech() {
        let mut k = Keys::default();
        k.secure_next();
        assert!(k.secure_requested());
        let (_, _, text) = k.press('1', k.secure_requested(), 0);
        assert_eq!(text, "[DTMF secure]");
        let (_, _, text) = k.press('#', k.secure_requested(), 1);
        assert_eq!(text, "[DTMF secure]", "the run stays secure");
        assert!(!k.secure_requested(), "# ends secure input");
        k.secure_next();
        k.spoke();
        assert!(!k.secure_requested(), "a spoken turn ends it");
    }
}

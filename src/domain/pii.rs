//! Masking card numbers and similar in text that leaves the call: transcripts
//! in events, logs and stored records.
//!
//! A *run* is a sequence of digits, written (`4`) or spoken (`four`, `oh`),
//! with at most a space, a dash or a comma between them, as speech-to-text
//! writes numbers: `4111 1111 1111 1111`, `4111, 1111, 1111, 1111`,
//! `four one one one …`. A run of 13 to 19 digits (a card) keeps only its
//! last four; a social security number (`123-45-6789`, `123 45 6789`, or
//! nine spoken digits) is masked whole. Shorter numbers (prices, times,
//! extensions, phone numbers) pass untouched.
//!
//! A run that ends one turn of a conversation (a trailing `.` or `,` aside)
//! and goes on at the start of the next is one number: [`mask_turns`] masks
//! a finished conversation so, and [`CallMasker`] a live one, holding a turn
//! back while its tail could be the start of a card.

/// Masks one text on its own. See [`CallMasker`] for a conversation, where
/// a card can be split over turns.
pub fn mask(text: &str) -> String {
    mask_turns(&[text]).pop().unwrap_or_default()
}

/// Masks the turns of one conversation together: a run that ends one turn
/// and goes on at the start of the next counts as one number, so a card read
/// out over two turns is masked in both, all but its last four digits.
pub fn mask_turns<S: AsRef<str>>(turns: &[S]) -> Vec<String> {
    Joint::of(turns).masked()
}

/// Masks the turns of one conversation as they come, each with a payload
/// (e.g. the event that will carry it). A turn whose text ends with digits a
/// next turn could make into a card (at least [`HOLD_FROM_DIGITS`] of them,
/// fewer than a card's 13 with what they continue) is held back until that
/// next turn tells: then both go out, masked together. The first part of a card read
/// over two turns is never released in clear.
#[derive(Debug, Clone)]
pub struct CallMasker<T = ()> {
    /// Turns not yet released, unmasked, oldest first.
    held: Vec<(String, T)>,
}

/// The fewest digits ending a turn that hold it back: a shorter tail (a
/// time, a count, less than a card's issuer prefix) is released at once.
pub const HOLD_FROM_DIGITS: usize = 4;

impl<T> Default for CallMasker<T> {
    fn default() -> Self {
        Self { held: Vec::new() }
    }
}

impl<T> CallMasker<T> {
    /// Takes the next turn; returns the turns that may go out now, masked,
    /// in order: earlier held ones, then `text` unless it is held in turn.
    pub fn push(&mut self, text: String, with: T) -> Vec<(String, T)> {
        self.held.push((text, with));
        let (keep_from, masked) = {
            let texts = self.held_texts();
            let joint = Joint::of(&texts);
            let keep_from = match joint.open_tail() {
                Some((first, digits)) if (HOLD_FROM_DIGITS..13).contains(&digits) => first,
                _ => texts.len(),
            };
            (keep_from, joint.masked())
        };
        self.held
            .drain(..keep_from)
            .zip(masked)
            .map(|((_, with), text)| (text, with))
            .collect()
    }

    /// Releases the held turns, masked as they stand: no continuation came
    /// (the call ended, or something other than speech came in between).
    pub fn release(&mut self) -> Vec<(String, T)> {
        let masked = mask_turns(&self.held_texts());
        self.held
            .drain(..)
            .zip(masked)
            .map(|((_, with), text)| (text, with))
            .collect()
    }

    /// Whether a turn is held back.
    pub fn holds(&self) -> bool {
        !self.held.is_empty()
    }

    fn held_texts(&self) -> Vec<&str> {
        self.held.iter().map(|(t, _)| t.as_str()).collect()
    }
}

/// A digit, as written or spoken, at `start..end` of the text.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    spoken: bool,
}

/// A run within one text: `units` of it, and whether it starts or ends the
/// text (where it may join a run of the turn before or after).
#[derive(Debug)]
struct Part {
    units: Vec<Unit>,
    at_start: bool,
    at_end: bool,
}

/// The runs of several turns, a run that crosses from one turn into the
/// next counted once.
struct Joint<'a> {
    texts: Vec<&'a str>,
    parts: Vec<Vec<Part>>,
    /// Each run: its parts as (turn, index in `parts[turn]`), in order.
    runs: Vec<Vec<(usize, usize)>>,
}

const WORDS: [&str; 11] = [
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

impl<'a> Joint<'a> {
    fn of<S: AsRef<str>>(turns: &'a [S]) -> Self {
        let texts: Vec<&str> = turns.iter().map(AsRef::as_ref).collect();
        let parts: Vec<Vec<Part>> = texts.iter().map(|t| parts(t)).collect();
        let mut runs: Vec<Vec<(usize, usize)>> = Vec::new();
        for (t, turn) in parts.iter().enumerate() {
            for (k, part) in turn.iter().enumerate() {
                let continues = k == 0
                    && part.at_start
                    && runs
                        .last()
                        .and_then(|r| r.last())
                        .is_some_and(|&(pt, pk)| pt + 1 == t && parts[pt][pk].at_end);
                match runs.last_mut() {
                    Some(run) if continues => run.push((t, k)),
                    _ => runs.push(vec![(t, k)]),
                }
            }
        }
        Self { texts, parts, runs }
    }

    fn digits(&self, run: &[(usize, usize)]) -> usize {
        run.iter().map(|&(t, k)| self.parts[t][k].units.len()).sum()
    }

    /// The run ending the last turn, if it does: its first turn and digits.
    fn open_tail(&self) -> Option<(usize, usize)> {
        let run = self.runs.last()?;
        let &(t, k) = run.last()?;
        (t + 1 == self.texts.len() && self.parts[t][k].at_end).then(|| (run[0].0, self.digits(run)))
    }

    /// Every turn with its masked digits replaced by `*`.
    fn masked(&self) -> Vec<String> {
        let mut hidden: Vec<Vec<Unit>> = vec![Vec::new(); self.texts.len()];
        for run in &self.runs {
            let digits = self.digits(run);
            // A card keeps its last four, wherever the turns split it.
            let card = (13..=19).contains(&digits).then(|| digits - 4);
            let mut seen = 0;
            for &(t, k) in run {
                let part = &self.parts[t][k];
                let ssn = is_ssn(self.texts[t], &part.units);
                for u in &part.units {
                    if ssn || card.is_some_and(|m| seen < m) {
                        hidden[t].push(*u);
                    }
                    seen += 1;
                }
            }
        }
        self.texts
            .iter()
            .zip(hidden)
            .map(|(text, units)| replace(text, &units))
            .collect()
    }
}

/// `text` with each of `units` (in order) replaced by `*`.
fn replace(text: &str, units: &[Unit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for u in units {
        out.push_str(&text[copied..u.start]);
        out.push('*');
        copied = u.end;
    }
    out.push_str(&text[copied..]);
    out
}

/// The runs of one text.
fn parts(text: &str) -> Vec<Part> {
    let units = units(text);
    let first = text.len() - text.trim_start().len();
    // A trailing full stop or comma (as a recogniser may write after a
    // pause) does not close the number.
    let last = text.trim_end_matches([' ', '.', ',']).len();
    let mut out = Vec::new();
    let mut i = 0;
    while i < units.len() {
        let mut j = i + 1;
        while j < units.len() && joins(&text[units[j - 1].end..units[j].start]) {
            j += 1;
        }
        out.push(Part {
            units: units[i..j].to_vec(),
            at_start: units[i].start == first,
            at_end: units[j - 1].end == last,
        });
        i = j;
    }
    out
}

/// Nine digits grouped 3-2-4 (`123-45-6789`, `123 45 6789`), or nine spoken ones.
fn is_ssn(text: &str, run: &[Unit]) -> bool {
    if run.len() != 9 {
        return false;
    }
    if run.iter().all(|u| u.spoken) {
        return true;
    }
    let gap = |k: usize| !text[run[k - 1].end..run[k].start].is_empty();
    (1..9).all(|k| gap(k) == matches!(k, 3 | 5))
}

/// Whether the text between two digits keeps them in one run: nothing, or
/// one space, dash or comma with spaces around.
fn joins(between: &str) -> bool {
    let core = between.trim_matches(' ');
    between.len() <= 3 && matches!(core, "" | "-" | ",") && !(core.is_empty() && between.len() > 1)
}

/// Every digit of `text`: ASCII digits, and digit words standing alone.
fn units(text: &str) -> Vec<Unit> {
    let bytes = text.as_bytes();
    let mut units = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_digit() {
            units.push(Unit {
                start: i,
                end: i + 1,
                spoken: false,
            });
            i += 1;
        } else if b.is_ascii_alphabetic() {
            let end = i + bytes[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphabetic())
                .count();
            let word = &text[i..end];
            // A word glued to other letters (`é`) is not a digit word.
            let alone = !text[end..].starts_with(|c: char| c.is_alphabetic())
                && !text[..i].ends_with(|c: char| c.is_alphabetic());
            if alone && WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                units.push(Unit {
                    start: i,
                    end,
                    spoken: true,
                });
            }
            i = end;
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    units
}

#[cfg(test)]
mod tests {
    use super::{CallMasker, mask, mask_turns};

    #[test]
    fn masks_cards_and_ssns_but_not_ordinary_numbers() {
        let cases = [
            (
                "my card is 4111 1111 1111 1111 ok",
                "my card is **** **** **** 1111 ok",
            ),
            ("4111-1111-1111-1111", "****-****-****-1111"),
            ("5500000000000004.", "************0004."),
            ("4111, 1111, 1111, 1111", "****, ****, ****, 1111"),
            ("4111,1111,1111,1111", "****,****,****,1111"),
            ("ssn 123-45-6789", "ssn ***-**-****"),
            ("ssn 123 45 6789 thanks", "ssn *** ** **** thanks"),
            (
                "four one one one one one one one one one one one one one one one",
                "* * * * * * * * * * * * one one one one",
            ),
            (
                "it's one two three four five six seven eight nine",
                "it's * * * * * * * * *",
            ),
            (
                "call me at 555 1234 at 3 pm, order 12345",
                "call me at 555 1234 at 3 pm, order 12345",
            ),
            ("+15551234567", "+15551234567"),
            ("my number is 617 555 0100", "my number is 617 555 0100"),
            (
                "one or two things, someone said nine",
                "one or two things, someone said nine",
            ),
            ("123456789", "123456789"),
            ("", ""),
            ("ünïcode 4111111111111111", "ünïcode ************1111"),
        ];
        for (text, want) in cases {
            assert_eq!(mask(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_card_read_over_turns_is_masked_in_every_turn() {
        let cases: [(&[&str], &[&str]); 5] = [
            (
                &["it is 4111 1111", "1111 1111"],
                &["it is **** ****", "**** 1111"],
            ),
            (
                &["It is 4111 1111.", "1111 1111."],
                &["It is **** ****.", "**** 1111."],
            ),
            (
                &["4111", "1111 1111", "1111"],
                &["****", "**** ****", "1111"],
            ),
            // Something else in between breaks the run.
            (
                &["it is 4111 1111 ok", "1111 1111"],
                &["it is 4111 1111 ok", "1111 1111"],
            ),
            (
                &["4111 1111", "", "1111 1111"],
                &["4111 1111", "", "1111 1111"],
            ),
        ];
        for (turns, want) in cases {
            assert_eq!(mask_turns(turns), want, "{turns:?}");
        }
    }

    fn push(m: &mut CallMasker<u32>, text: &str, turn: u32) -> Vec<(String, u32)> {
        m.push(text.into(), turn)
    }

    #[test]
    fn a_turn_ending_in_digits_is_held_until_the_next_one_tells() {
        let mut m = CallMasker::default();
        assert_eq!(push(&mut m, "my card is 4111 1111", 1), []);
        assert!(m.holds());
        assert_eq!(
            push(&mut m, "1111 1111", 2),
            [("my card is **** ****".into(), 1), ("**** 1111".into(), 2)]
        );
        assert!(!m.holds());
        // Not continued: released as it was.
        assert_eq!(push(&mut m, "order 12345", 3), []);
        assert_eq!(
            push(&mut m, "thanks", 4),
            [("order 12345".into(), 3), ("thanks".into(), 4)]
        );
        // A short tail is no card's start worth holding.
        assert_eq!(
            push(&mut m, "a table for 2", 5),
            [("a table for 2".into(), 5)]
        );
        // The end of the call releases what is held.
        assert_eq!(push(&mut m, "it's 4111", 6), []);
        assert_eq!(m.release(), [("it's 4111".into(), 6)]);
        assert_eq!(m.release(), []);
    }

    #[test]
    fn a_number_over_three_turns_is_held_until_complete() {
        let mut m = CallMasker::default();
        assert_eq!(push(&mut m, "it's 4111", 1), []);
        assert_eq!(push(&mut m, "1111 1111", 2), []);
        assert_eq!(
            push(&mut m, "1111 ok", 3),
            [
                ("it's ****".into(), 1),
                ("**** ****".into(), 2),
                ("1111 ok".into(), 3)
            ]
        );
        // A held turn the next one does not continue goes; the next is held.
        assert_eq!(push(&mut m, "order 12345", 4), []);
        assert_eq!(
            push(&mut m, "and 4111 1111", 5),
            [("order 12345".into(), 4)]
        );
        assert_eq!(
            push(&mut m, "1111 1111", 6),
            [("and **** ****".into(), 5), ("**** 1111".into(), 6)]
        );
    }
}

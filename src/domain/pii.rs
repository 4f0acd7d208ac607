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

/// Masks one text on its own. See [`CallMasker`] for a conversation, where
/// a card can be split over two turns.
pub fn mask(text: &str) -> String {
    CallMasker::default().mask(text)
}

/// Masks the turns of one conversation in order: a run that ends one turn
/// and goes on at the start of the next counts as one number, so a card read
/// out over two turns has its second part masked with the first in mind.
#[derive(Debug, Clone, Default)]
pub struct CallMasker {
    /// Digits of a run that ended the previous text (0: it ended otherwise).
    carry: usize,
}

/// A digit, as written or spoken, at `start..end` of the text.
#[derive(Debug, Clone, Copy)]
struct Unit {
    start: usize,
    end: usize,
    spoken: bool,
}

const WORDS: [&str; 11] = [
    "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
];

impl CallMasker {
    /// Masks `text`, the next turn of the conversation.
    pub fn mask(&mut self, text: &str) -> String {
        let units = units(text);
        let mut out = String::with_capacity(text.len());
        let mut copied = 0;
        let mut i = 0;
        let mut carry = std::mem::take(&mut self.carry);
        while i < units.len() {
            let mut j = i + 1;
            while j < units.len() && joins(&text[units[j - 1].end..units[j].start]) {
                j += 1;
            }
            let run = &units[i..j];
            // Only a run at the very start of the text continues the last one.
            let before = if run[0].start == text.len() - text.trim_start().len() {
                carry
            } else {
                0
            };
            carry = 0;
            let masked = masked_units(text, run, before);
            for (k, u) in run.iter().enumerate() {
                if masked.is_some_and(|m| k < m) {
                    out.push_str(&text[copied..u.start]);
                    out.push('*');
                    copied = u.end;
                }
            }
            if run[run.len() - 1].end == text.trim_end().len() {
                self.carry = before + run.len();
            }
            i = j;
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// How many of the run's first units to mask, if any; `before` digits of the
/// same number came in the previous text.
fn masked_units(text: &str, run: &[Unit], before: usize) -> Option<usize> {
    let digits = before + run.len();
    if (13..=19).contains(&digits) {
        return Some(run.len().saturating_sub(4));
    }
    (before == 0 && is_ssn(text, run)).then_some(run.len())
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
    use super::{CallMasker, mask};

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
    fn a_card_read_over_two_turns_is_masked_in_the_second() {
        let mut m = CallMasker::default();
        assert_eq!(m.mask("it is 4111 1111"), "it is 4111 1111");
        assert_eq!(m.mask("1111 1111"), "**** 1111");
        // Something else in between breaks the run.
        let mut m = CallMasker::default();
        m.mask("it is 4111 1111 ok");
        assert_eq!(m.mask("1111 1111"), "1111 1111");
    }
}

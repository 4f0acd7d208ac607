//! Turns the agent's incremental text into whole sentences, each as soon as it
//! is known to be complete, so TTS can start speaking the first one while the
//! rest of the reply is still streaming.
//!
//! Drive it with [`SentenceSplitter::push`] for every text chunk, then drain
//! [`SentenceSplitter::next_sentence`] until `None`; at the end of the reply,
//! [`SentenceSplitter::finish`] returns whatever is left. Pure: no I/O, no clock.
//!
//! A sentence ends at `.`, `!`, `?`, `…` (and their runs, with closing quotes
//! or brackets) followed by whitespace, at `。！？`, or at a line break. A `.`
//! or `…` does not end one after an abbreviation (`Dr.`, `e.g.`, `U.S.`, an
//! initial) or before a lowercase word; a `.` between digits (`3.5`) is never
//! followed by whitespace, so never an end. Deciding needs the character after
//! the punctuation, so a sentence is released when the next chunk shows it.

/// Titles and abbreviations that are followed by a `.` mid-sentence. Lowercase,
/// without the dot. Words that often end a sentence (`etc`, `no`) are left out:
/// a split too many costs a short pause, a split too few costs latency.
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "approx", "dept", "fig", "ft",
    "inc", "ltd", "gen", "capt", "sgt", "rev", "hon",
];

/// Sentence ends that need whitespace after them.
fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Sentence ends of scripts written without spaces.
fn is_cjk_terminator(c: char) -> bool {
    matches!(c, '。' | '！' | '？')
}

/// What may trail a terminator and still belong to the sentence.
fn is_closer(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»')
}

/// Splits streamed text into sentences.
#[derive(Debug, Clone)]
pub struct SentenceSplitter {
    buf: String,
    max_chars: usize,
    /// Until the first piece is out, a clause of at least this many words
    /// (ending at `,` `;` `:` or a dash) is a piece of its own; 0: never.
    first_clause_words: usize,
}

impl Default for SentenceSplitter {
    fn default() -> Self {
        Self::new()
    }
}

impl SentenceSplitter {
    /// Longest sentence held back by default: past it the text is cut at a
    /// clause or word boundary, so a run-on reply still starts speaking.
    pub const DEFAULT_MAX_CHARS: usize = 300;

    /// A splitter with the default length bound.
    pub fn new() -> Self {
        Self::with_max_chars(Self::DEFAULT_MAX_CHARS)
    }

    /// A splitter that cuts sentences longer than `max_chars` characters.
    pub fn with_max_chars(max_chars: usize) -> Self {
        Self {
            buf: String::new(),
            max_chars: max_chars.max(1),
            first_clause_words: 0,
        }
    }

    /// Also releases the reply's first clause on its own when it has at least
    /// `min_words` words, so speech starts before the first sentence is
    /// complete ("Let me look that up for you, | it will take a moment.").
    /// Later clauses stay whole sentences: one split, where it saves the most.
    /// `0` turns it off.
    pub fn first_clause(mut self, min_words: usize) -> Self {
        self.first_clause_words = min_words;
        self
    }

    /// Appends a chunk of reply text.
    pub fn push(&mut self, chunk: &str) {
        self.buf.push_str(chunk);
    }

    /// The next complete sentence, trimmed, if one is known yet.
    pub fn next_sentence(&mut self) -> Option<String> {
        loop {
            let sentence_end = find_end(&self.buf);
            let end = self
                .first_clause_cut(sentence_end)
                .or(sentence_end)
                .or_else(|| self.overlong_cut())?;
            let sentence = self.buf[..end].trim().to_owned();
            // Leading whitespace would count against the next length bound.
            let next_start = self.buf[end..]
                .find(|c: char| !c.is_whitespace())
                .map_or(self.buf.len(), |i| end + i);
            self.buf.drain(..next_start);
            if !sentence.is_empty() {
                self.first_clause_words = 0;
                return Some(sentence);
            }
        }
    }

    /// The rest of the text once the reply is done (`None` if only whitespace).
    pub fn finish(&mut self) -> Option<String> {
        let rest = self.buf.trim().to_owned();
        self.buf.clear();
        (!rest.is_empty()).then_some(rest)
    }

    /// The end of the first clause when it is long enough and comes before
    /// the first sentence's end (if that is known yet).
    fn first_clause_cut(&self, sentence_end: Option<usize>) -> Option<usize> {
        if self.first_clause_words == 0 {
            return None;
        }
        let head = &self.buf[..sentence_end.unwrap_or(self.buf.len())];
        let (i, c) = head.char_indices().find(|&(i, c)| {
            matches!(c, ',' | ';' | ':' | '—' | '–')
                && head[i + c.len_utf8()..].starts_with(char::is_whitespace)
        })?;
        let words = head[..i].split_whitespace().count();
        (words >= self.first_clause_words).then_some(i + c.len_utf8())
    }

    /// Where to cut a buffer that grew past the bound without a sentence end:
    /// after the last clause mark, else the last space, else at the bound.
    fn overlong_cut(&self) -> Option<usize> {
        let (limit, _) = self.buf.char_indices().nth(self.max_chars)?;
        let head = &self.buf[..limit];
        let clause = head
            .char_indices()
            .rev()
            .find(|&(i, c)| {
                matches!(c, ',' | ';' | ':')
                    && head[i + c.len_utf8()..].starts_with(char::is_whitespace)
            })
            .map(|(i, c)| i + c.len_utf8());
        let space = head.rfind(char::is_whitespace).filter(|&i| i > 0);
        Some(clause.or(space).unwrap_or(limit))
    }
}

/// The byte index just past the first complete sentence in `s`, if any.
fn find_end(s: &str) -> Option<usize> {
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '\n' {
            return Some(i + 1);
        }
        let cjk = is_cjk_terminator(c);
        if !cjk && !is_terminator(c) {
            continue;
        }
        // Take the whole run: "?!", "...", ".\"", "!)".
        let mut end = i + c.len_utf8();
        let mut last_mark = c;
        while let Some(&(j, d)) = chars.peek() {
            if is_terminator(d) || is_cjk_terminator(d) {
                last_mark = d;
            } else if !is_closer(d) {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        if cjk {
            return Some(end);
        }
        let next = s[end..].chars().next()?;
        if !next.is_whitespace() {
            continue; // "3.5", "e.g.x", "www.example.com"
        }
        if matches!(last_mark, '!' | '?') {
            return Some(end);
        }
        if end - i == 1 && is_abbreviation(&s[..i]) {
            continue;
        }
        // A lowercase word after "." or "…" continues the sentence; until the
        // next word shows, the end is undecided.
        let following = s[end..].trim_start().chars().next()?;
        if !following.is_lowercase() {
            return Some(end);
        }
    }
    None
}

/// Whether the word just before a single `.` is an abbreviation or an initial.
fn is_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or("")
        .trim_start_matches(['"', '\'', '“', '‘', '(', '[', '«'])
        .to_lowercase();
    if word.is_empty() {
        return false;
    }
    if ABBREVIATIONS.contains(&word.as_str()) {
        return true;
    }
    // "e.g", "u.s", "a.m", "ph.d": short letter groups joined by dots.
    let dotted = word.contains('.')
        && word
            .split('.')
            .all(|p| (1..=2).contains(&p.len()) && p.chars().all(char::is_alphabetic));
    // A single letter: an initial ("J. Smith").
    let initial = word.chars().count() == 1 && word.chars().all(char::is_alphabetic);
    dotted || initial
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `chunks` one by one, collecting sentences as soon as each is
    /// released, then the remainder.
    fn split(chunks: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::new();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            out.extend(std::iter::from_fn(|| s.next_sentence()));
        }
        out.extend(s.finish());
        out
    }

    /// As `split`, with the first clause released on its own.
    fn split_first_clause(min_words: usize, chunks: &[&str]) -> Vec<String> {
        let mut s = SentenceSplitter::new().first_clause(min_words);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            out.extend(std::iter::from_fn(|| s.next_sentence()));
        }
        out.extend(s.finish());
        out
    }

    #[test]
    fn a_long_first_clause_is_spoken_before_its_sentence_ends() {
        let mut s = SentenceSplitter::new().first_clause(4);
        s.push("Let me look that up for you,");
        // The comma needs the whitespace after it ("1,000").
        assert_eq!(s.next_sentence(), None);
        s.push(" it will take");
        assert_eq!(
            s.next_sentence().as_deref(),
            Some("Let me look that up for you,")
        );
        s.push(" a moment, thank you. Anything else?");
        s.push(" ");
        // Only the first clause: the rest are whole sentences.
        assert_eq!(
            s.next_sentence().as_deref(),
            Some("it will take a moment, thank you.")
        );
        assert_eq!(s.next_sentence().as_deref(), Some("Anything else?"));
    }

    #[test]
    fn a_short_first_clause_stays_in_its_sentence() {
        assert_eq!(
            split_first_clause(4, &["Sure, I can help. ", "Yes; of course, gladly. "]),
            ["Sure, I can help.", "Yes; of course, gladly."]
        );
        // A short first sentence is the first piece: no clause split after it.
        assert_eq!(
            split_first_clause(2, &["Sure. Your order, number five, ships today. "]),
            ["Sure.", "Your order, number five, ships today."]
        );
        // Off.
        assert_eq!(
            split_first_clause(0, &["Let me look that up for you, one moment. "]),
            ["Let me look that up for you, one moment."]
        );
        // Dashes and semicolons end a clause too; "1,000" does not.
        assert_eq!(
            split_first_clause(3, &["It costs 1,000 dollars — a year. "]),
            ["It costs 1,000 dollars —", "a year."]
        );
    }

    #[test]
    fn splits_on_terminators_followed_by_space() {
        assert_eq!(
            split(&["Hello there. How are you? Great! Bye…  Done"]),
            ["Hello there.", "How are you?", "Great!", "Bye…", "Done"]
        );
    }

    #[test]
    fn releases_the_first_sentence_as_soon_as_the_next_chunk_shows_its_end() {
        let mut s = SentenceSplitter::new();
        s.push("Sure");
        assert_eq!(s.next_sentence(), None);
        s.push(", I can help.");
        // "help." might be "help.com" or an abbreviation: undecided.
        assert_eq!(s.next_sentence(), None);
        s.push(" What");
        assert_eq!(s.next_sentence().as_deref(), Some("Sure, I can help."));
        s.push(" time?");
        assert_eq!(s.next_sentence(), None);
        s.push(" ");
        // "?" needs only the space.
        assert_eq!(s.next_sentence().as_deref(), Some("What time?"));
        assert_eq!(s.finish(), None);
    }

    #[test]
    fn keeps_abbreviations_initials_and_decimals_inside() {
        assert_eq!(
            split(&[
                "Dr. Smith lives in the U.S. Army base. It costs 3.5 dollars, e.g. today. J. Doe agrees."
            ]),
            [
                "Dr. Smith lives in the U.S. Army base.",
                "It costs 3.5 dollars, e.g. today.",
                "J. Doe agrees."
            ]
        );
        assert_eq!(
            split(&["Call Mrs. Jones at 5 p.m. tomorrow. Ok."]),
            ["Call Mrs. Jones at 5 p.m. tomorrow.", "Ok."]
        );
    }

    #[test]
    fn a_lowercase_word_continues_the_sentence() {
        assert_eq!(
            split(&["Well... maybe not. Wait... What?"]),
            ["Well... maybe not.", "Wait...", "What?"]
        );
    }

    #[test]
    fn closing_quotes_and_brackets_stay_with_their_sentence() {
        assert_eq!(
            split(&["He said \"hi!\" Then (quietly.) Left?! Yes"]),
            ["He said \"hi!\"", "Then (quietly.)", "Left?!", "Yes"]
        );
    }

    #[test]
    fn splits_at_line_breaks_and_cjk_marks() {
        assert_eq!(
            split(&["First line\n\n- item one\r\n", "你好。再见！"]),
            ["First line", "- item one", "你好。", "再见！"]
        );
    }

    #[test]
    fn chunk_boundaries_do_not_matter() {
        let text = "Dr. No is here. He paid 3.5 dollars! Is that ok? Yes… fine. The end.";
        let whole = split(&[text]);
        let chars: Vec<String> = text.chars().map(String::from).collect();
        let one_by_one = split(&chars.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(whole, one_by_one);
        assert_eq!(whole.len(), 5, "{whole:?}");
    }

    #[test]
    fn a_run_on_reply_is_cut_at_a_clause_then_a_word() {
        let mut s = SentenceSplitter::with_max_chars(20);
        s.push("one two three, four five six seven eight nine");
        assert_eq!(s.next_sentence().as_deref(), Some("one two three,"));
        assert_eq!(s.next_sentence().as_deref(), Some("four five six seven"));
        assert_eq!(s.next_sentence(), None);
        assert_eq!(s.finish().as_deref(), Some("eight nine"));
        let mut s = SentenceSplitter::with_max_chars(4);
        s.push("abcdefgh");
        assert_eq!(s.next_sentence().as_deref(), Some("abcd"));
    }

    #[test]
    fn finish_flushes_and_resets() {
        let mut s = SentenceSplitter::new();
        s.push("  No final stop  ");
        assert_eq!(s.next_sentence(), None);
        assert_eq!(s.finish().as_deref(), Some("No final stop"));
        assert_eq!(s.finish(), None);
        s.push("   ");
        assert_eq!(s.finish(), None);
    }
}

//! Masking card numbers and similar in text that leaves the call: transcripts
//! in events, logs and stored records.

/// Replaces every run of 13 to 19 digits (spaces and dashes between them
/// allowed, as STT writes them: `4111 1111 1111 1111`) with `*` but its last
/// four digits, and every US social security number (`123-45-6789`) entirely.
/// Shorter numbers (prices, times, extensions) pass untouched.
pub fn mask(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        // A run: digits with single spaces or dashes between them.
        let mut end = i;
        let mut digits = 0;
        let mut j = i;
        while j < chars.len() {
            if chars[j].is_ascii_digit() {
                digits += 1;
                end = j + 1;
                j += 1;
            } else if (chars[j] == ' ' || chars[j] == '-')
                && chars.get(j + 1).is_some_and(char::is_ascii_digit)
            {
                j += 1;
            } else {
                break;
            }
        }
        let run: String = chars[i..end].iter().collect();
        out.push_str(&mask_run(&run, digits));
        i = end;
    }
    out
}

fn mask_run(run: &str, digits: usize) -> String {
    let ssn =
        digits == 9 && run.len() == 11 && run.as_bytes()[3] == b'-' && run.as_bytes()[6] == b'-';
    if ssn {
        return "***-**-****".into();
    }
    if !(13..=19).contains(&digits) {
        return run.to_owned();
    }
    let mut seen = 0;
    run.chars()
        .map(|c| {
            if c.is_ascii_digit() {
                seen += 1;
                if seen <= digits - 4 { '*' } else { c }
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn masks_cards_and_ssns_but_not_ordinary_numbers() {
        assert_eq!(
            mask("my card is 4111 1111 1111 1111 ok"),
            "my card is **** **** **** 1111 ok"
        );
        assert_eq!(mask("4111-1111-1111-1111"), "****-****-****-1111");
        assert_eq!(mask("5500000000000004."), "************0004.");
        assert_eq!(mask("ssn 123-45-6789"), "ssn ***-**-****");
        assert_eq!(
            mask("call me at 555 1234 at 3 pm, order 12345"),
            "call me at 555 1234 at 3 pm, order 12345"
        );
        assert_eq!(
            mask("+15551234567"),
            "+15551234567",
            "an E.164 number has at most 15 digits... and 11 here"
        );
        assert_eq!(mask(""), "");
        assert_eq!(mask("ünïcode 4111111111111111"), "ünïcode ************1111");
    }
}

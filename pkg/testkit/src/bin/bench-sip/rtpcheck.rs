//! Proof that the callers' RTP is continuous: chan_sip's own count of the
//! packets each SIP channel received (`sip show channelstats`), per second
//! of the channel's life. A caller sending every 20 ms gives 50.

use vg_testkit::AsteriskServer;

/// Packets per second received per SIP channel, over every channel up now
/// (`None` if there is none or the CLI did not answer).
pub(crate) fn received_per_sec(ast: &AsteriskServer) -> Option<f64> {
    parse(&ast.cli("sip show channelstats").ok()?)
}

/// Sum of `Recv: Pack` over the sum of `Duration` (hh:mm:ss) of the rows.
fn parse(text: &str) -> Option<f64> {
    let (mut packets, mut secs) = (0u64, 0u64);
    for row in text.lines().skip(1) {
        let f: Vec<&str> = row.split_whitespace().collect();
        let (Some(d), Some(p)) = (f.get(2).and_then(|d| hms(d)), f.get(3)) else {
            continue;
        };
        let Ok(p) = p.parse::<u64>() else { continue };
        (packets, secs) = (packets + p, secs + d);
    }
    (secs > 0).then(|| packets as f64 / secs as f64)
}

fn hms(d: &str) -> Option<u64> {
    let mut it = d.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (it.next()??, it.next()??, it.next()??);
    Some(h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_per_second_over_all_channels() {
        let text = "Peer             Call ID      Duration Recv: Pack  Lost       (     %) Jitter Send: Pack  Lost       (     %) Jitter\n\
            127.0.0.1        1-27548@127  00:00:10 0000000500  0000000000 ( 0.00%) 0.0000 0000000290  0000000000 ( 0.00%) 0.0015\n\
            127.0.0.1        3-27548@127  00:01:00 0000003000  0000000000 ( 0.00%) 0.0000 0000000290  0000000000 ( 0.00%) 0.0043\n\
            2 active SIP channels\n";
        assert_eq!(parse(text), Some(50.0));
        assert_eq!(parse("Peer Call ID\n0 active SIP channels\n"), None);
    }
}

//! The gateway's `/metrics` (Prometheus text) as the harness needs it:
//! counter values and histogram buckets, and the difference of two scrapes.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One scrape: every sample by its full name with labels, e.g.
/// `voicegw_turn_latency_seconds_bucket{stage="media",le="0.005"}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Scrape(pub BTreeMap<String, f64>);

impl Scrape {
    /// Parses the text format; comments and unparsable lines are skipped.
    pub(crate) fn parse(text: &str) -> Self {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let (name, value) = l.rsplit_once(' ')?;
                Some((name.trim().to_string(), value.trim().parse().ok()?))
            })
            .collect();
        Self(samples)
    }

    /// A sample's value, 0 when absent.
    pub(crate) fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(0.0)
    }

    /// `self − earlier`, sample by sample (counters and buckets of one window).
    pub(crate) fn since(&self, earlier: &Scrape) -> Scrape {
        Scrape(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), v - earlier.get(k)))
                .collect(),
        )
    }

    /// Cumulative `(le, count)` buckets of histogram `name` whose labels
    /// other than `le` are exactly `labels` (e.g. `stage="media"`; empty for
    /// none), by `le`. The encoder may put `le` before or after the others.
    pub(crate) fn buckets(&self, name: &str, labels: &str) -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{");
        let mut out: Vec<(f64, f64)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let set = k.strip_prefix(&prefix)?.strip_suffix('}')?;
                let (mut le, mut rest) = (None, Vec::new());
                for l in set.split(',') {
                    match l.strip_prefix("le=") {
                        Some(b) => le = Some(b.trim_matches('"')),
                        None => rest.push(l),
                    }
                }
                if rest.join(",") != labels {
                    return None;
                }
                let le = match le? {
                    "+Inf" => f64::INFINITY,
                    b => b.parse().ok()?,
                };
                Some((le, *v))
            })
            .collect();
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        out
    }
}

/// The `q` quantile of cumulative buckets, as the upper bound of the bucket
/// it falls in (what a histogram can honestly say); `None` without samples.
pub(crate) fn bucket_quantile(buckets: &[(f64, f64)], q: f64) -> Option<f64> {
    let total = buckets.last()?.1;
    if total <= 0.0 {
        return None;
    }
    let rank = (q * total).ceil().max(1.0);
    buckets.iter().find(|(_, c)| *c >= rank).map(|(le, _)| *le)
}

/// `GET path` over HTTP/1.0 (no chunking, the server closes): the body.
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = String::new();
    s.read_to_string(&mut raw)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP response");
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(bad)?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    Ok((status, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP voicegw_media_packets_in RTP datagrams\n\
        # TYPE voicegw_media_packets_in counter\n\
        voicegw_media_packets_in_total 1500\n\
        voicegw_bargein_delay_seconds_bucket{le=\"0.005\"} 1\n\
        voicegw_bargein_delay_seconds_bucket{le=\"0.01\"} 3\n\
        voicegw_bargein_delay_seconds_bucket{le=\"+Inf\"} 4\n\
        voicegw_turn_latency_seconds_bucket{le=\"0.005\",stage=\"media\"} 7\n\
        voicegw_turn_latency_seconds_bucket{stage=\"media\",le=\"0.01\"} 9\n\
        voicegw_turn_latency_seconds_bucket{le=\"0.005\",stage=\"stt\"} 1\n\
        garbage line\n";

    #[test]
    fn samples_differences_and_bucket_quantiles() {
        let a = Scrape::parse(TEXT);
        assert_eq!(a.get("voicegw_media_packets_in_total"), 1500.0);
        assert_eq!(a.get("absent"), 0.0);
        let b = Scrape::parse(&TEXT.replace("1500", "1700"));
        assert_eq!(b.since(&a).get("voicegw_media_packets_in_total"), 200.0);
        let barge = a.buckets("voicegw_bargein_delay_seconds", "");
        assert_eq!(barge, vec![(0.005, 1.0), (0.01, 3.0), (f64::INFINITY, 4.0)]);
        assert_eq!(bucket_quantile(&barge, 0.5), Some(0.01));
        assert_eq!(bucket_quantile(&barge, 0.99), Some(f64::INFINITY));
        assert_eq!(bucket_quantile(&[], 0.5), None);
        let media = a.buckets("voicegw_turn_latency_seconds", "stage=\"media\"");
        assert_eq!(media, vec![(0.005, 7.0), (0.01, 9.0)]);
    }
}

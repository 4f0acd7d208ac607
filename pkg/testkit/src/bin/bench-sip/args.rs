//! Command-line options.

use std::path::PathBuf;

pub(crate) const USAGE: &str = "usage: bench-sip --gateway PATH [--steps 50,200,500] \
[--rate CALLS_PER_SEC] [--turns N] [--out DIR] [--gateway-rtp FIRST-LAST]";

/// What to run.
#[derive(Debug, Clone)]
pub(crate) struct Args {
    /// The gateway's (release) binary.
    pub(crate) gateway: PathBuf,
    /// Concurrent calls per step.
    pub(crate) steps: Vec<u32>,
    /// New calls per second while a step ramps up.
    pub(crate) rate: u32,
    /// Caller turns per call, at least (more when the ramp is long, so that
    /// every call is still up through a steady window).
    pub(crate) turns: u32,
    /// Where the results go.
    pub(crate) out: PathBuf,
    /// The gateway's `media.rtp_port_range`.
    pub(crate) gateway_rtp: (u16, u16),
}

impl Args {
    pub(crate) fn parse(mut it: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut a = Args {
            gateway: PathBuf::new(),
            steps: vec![50, 200, 500],
            rate: 20,
            turns: 5,
            out: PathBuf::from("bench/results"),
            gateway_rtp: (50_000, 53_999),
        };
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or(format!("{flag} needs a value"));
            match flag.as_str() {
                "--gateway" => a.gateway = PathBuf::from(value()?),
                "--steps" => a.steps = parse_steps(&value()?)?,
                "--rate" => a.rate = positive(&flag, &value()?)?,
                "--turns" => a.turns = positive(&flag, &value()?)?,
                "--out" => a.out = PathBuf::from(value()?),
                "--gateway-rtp" => a.gateway_rtp = parse_range(&value()?)?,
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        if a.gateway.as_os_str().is_empty() {
            return Err("--gateway is required".into());
        }
        if !a.gateway.is_file() {
            return Err(format!("--gateway {}: no such file", a.gateway.display()));
        }
        let ports = u32::from(a.gateway_rtp.1 - a.gateway_rtp.0) + 1;
        if ports < 2 * a.max_calls() {
            return Err(format!(
                "--gateway-rtp: {ports} ports are too few for {} calls (2 per call)",
                a.max_calls()
            ));
        }
        Ok(a)
    }

    /// The largest step.
    pub(crate) fn max_calls(&self) -> u32 {
        self.steps.iter().copied().max().unwrap_or(0)
    }

    /// Asterisk's RTP ports: 4 per call (the SIP channel's RTP and RTCP, the
    /// externalMedia channel's), doubled for ports still held by ending calls.
    pub(crate) fn asterisk_rtp_ports(&self) -> u16 {
        u16::try_from(self.max_calls() * 8).unwrap_or(u16::MAX)
    }
}

fn positive(flag: &str, v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{flag}: {v:?} is not a positive whole number")),
    }
}

fn parse_steps(v: &str) -> Result<Vec<u32>, String> {
    let steps = v
        .split(',')
        .map(|s| positive("--steps", s.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err("--steps: give at least one step".into());
    }
    if let Some(big) = steps.iter().find(|&&n| n > 2000) {
        return Err(format!(
            "--steps: {big} calls is more than Asterisk's RTP ranges hold (2000)"
        ));
    }
    Ok(steps)
}

fn parse_range(v: &str) -> Result<(u16, u16), String> {
    let bad = || format!("--gateway-rtp: {v:?} is not FIRST-LAST (ports, FIRST < LAST)");
    let (a, b) = v.split_once('-').ok_or_else(bad)?;
    let (a, b): (u16, u16) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a == 0 || a >= b {
        return Err(bad());
    }
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        let exe = std::env::current_exe().unwrap();
        let mut all = vec!["--gateway".to_owned(), exe.display().to_string()];
        all.extend(args.iter().map(|s| (*s).to_owned()));
        Args::parse(all.into_iter())
    }

    #[test]
    fn defaults_and_overrides() {
        let a = parse(&[]).unwrap();
        assert_eq!(a.steps, [50, 200, 500]);
        assert_eq!(a.asterisk_rtp_ports(), 4000);
        let a = parse(&[
            "--steps",
            "10, 20",
            "--rate",
            "5",
            "--gateway-rtp",
            "60000-60099",
        ])
        .unwrap();
        assert_eq!(
            (a.steps, a.rate, a.gateway_rtp),
            (vec![10, 20], 5, (60000, 60099))
        );
    }

    #[test]
    fn bad_values_are_refused_with_the_option_named() {
        for (args, says) in [
            (&["--steps", "50,x"][..], "--steps"),
            (&["--steps", "3000"][..], "2000"),
            (&["--rate", "0"][..], "--rate"),
            (&["--gateway-rtp", "9-5"][..], "--gateway-rtp"),
            (
                &["--steps", "100", "--gateway-rtp", "60000-60099"][..],
                "too few",
            ),
            (&["--frobnicate"][..], "unknown option"),
        ] {
            let e = parse(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
        let e =
            Args::parse(["--gateway", "/no/such/gw"].map(String::from).into_iter()).unwrap_err();
        assert!(e.contains("no such file"), "{e}");
    }
}

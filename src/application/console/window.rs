//! The last hour of turn figures per tenant, for p50/p90 over 5 and 60
//! minutes. Fed once per reply with the figures its event reported, the
//! entry `call.ended` lists for it (never per packet); bounded in age and in
//! count.

use crate::domain::{TenantId, events::TurnLatency};
use serde::Serialize;
use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, SystemTime},
};

/// The longest window asked for.
pub const HORIZON: Duration = Duration::from_secs(3600);
/// Turns kept per tenant: a busy tenant's oldest figures go first.
const PER_TENANT: usize = 20_000;

/// The stages, as `call.ended` names them, voice-to-voice (`total_ms`) first.
pub const STAGES: [&str; 5] = ["total_ms", "stt_ms", "agent_ms", "tts_ms", "media_ms"];

fn stage(l: &TurnLatency, i: usize) -> Option<f64> {
    [l.total_ms, l.stt_ms, l.agent_ms, l.tts_ms, l.media_ms][i]
}

/// p50/p90 of one stage over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Percentiles {
    /// The stage's name (`total_ms` is voice-to-voice).
    pub stage: &'static str,
    /// Turns with a figure for it.
    pub count: usize,
    /// Median, ms.
    pub p50: Option<f64>,
    /// 90th percentile, ms.
    pub p90: Option<f64>,
}

/// One tenant's figures over one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantLatency {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The window, in minutes.
    pub minutes: u64,
    /// One entry per stage, in [`STAGES`] order.
    pub stages: Vec<Percentiles>,
}

/// Nearest-rank percentile of sorted values.
fn rank(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[i - 1])
}

/// Figures by tenant, oldest first.
#[derive(Debug, Default)]
pub struct LatencyWindow {
    turns: HashMap<TenantId, VecDeque<(SystemTime, TurnLatency)>>,
}

impl LatencyWindow {
    /// Adds replies' figures, reported at `at`.
    pub fn add(&mut self, tenant: &TenantId, at: SystemTime, figures: &[TurnLatency]) {
        let q = self.turns.entry(tenant.clone()).or_default();
        for f in figures {
            if q.len() == PER_TENANT {
                q.pop_front();
            }
            q.push_back((at, *f));
        }
    }

    /// Forgets what is older than the horizon, and tenants left with nothing.
    fn expire(&mut self, now: SystemTime) {
        let oldest = now.checked_sub(HORIZON).unwrap_or(SystemTime::UNIX_EPOCH);
        for q in self.turns.values_mut() {
            while q.front().is_some_and(|(t, _)| *t < oldest) {
                q.pop_front();
            }
        }
        self.turns.retain(|_, q| !q.is_empty());
    }

    /// p50/p90 of every stage over the last `minutes` for each tenant `visible` allows.
    pub fn summary(
        &mut self,
        now: SystemTime,
        minutes: u64,
        visible: impl Fn(&TenantId) -> bool,
    ) -> Vec<TenantLatency> {
        self.expire(now);
        let since = now
            .checked_sub(Duration::from_secs(minutes * 60))
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let mut out: Vec<TenantLatency> = self
            .turns
            .iter()
            .filter(|(t, _)| visible(t))
            .map(|(t, q)| TenantLatency {
                tenant_id: t.clone(),
                minutes,
                stages: (0..STAGES.len())
                    .map(|i| {
                        let mut v: Vec<f64> = q
                            .iter()
                            .filter(|(at, _)| *at >= since)
                            .filter_map(|(_, l)| stage(l, i))
                            .collect();
                        v.sort_by(f64::total_cmp);
                        Percentiles {
                            stage: STAGES[i],
                            count: v.len(),
                            p50: rank(&v, 0.5),
                            p90: rank(&v, 0.9),
                        }
                    })
                    .collect(),
            })
            .collect();
        out.sort_by(|a, b| a.tenant_id.as_str().cmp(b.tenant_id.as_str()));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + s)
    }

    fn total(ms: f64) -> TurnLatency {
        TurnLatency {
            total_ms: Some(ms),
            ..TurnLatency::default()
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(rank(&v, 0.5), Some(5.0));
        assert_eq!(rank(&v, 0.9), Some(9.0));
        assert_eq!(rank(&[7.0], 0.9), Some(7.0));
        assert_eq!(rank(&[], 0.5), None);
    }

    #[test]
    fn windows_count_only_their_minutes_and_the_hour_expires() {
        let acme = TenantId::parse("acme").unwrap();
        let mut w = LatencyWindow::default();
        w.add(&acme, t(0), &[total(900.0)]);
        w.add(&acme, t(3000), &[total(100.0), total(300.0)]);
        let five = w.summary(t(3100), 5, |_| true);
        assert_eq!(five[0].stages[0].count, 2);
        assert_eq!(five[0].stages[0].p50, Some(100.0));
        assert_eq!(five[0].stages[0].p90, Some(300.0));
        assert_eq!(five[0].stages[1].count, 0, "no STT figure was given");
        let hour = w.summary(t(3100), 60, |_| true);
        assert_eq!(hour[0].stages[0].count, 3);
        let later = w.summary(t(3700), 60, |_| true);
        assert_eq!(
            later[0].stages[0].count, 2,
            "the first call is over an hour old"
        );
        assert!(w.summary(t(3700), 60, |t| t.as_str() != "acme").is_empty());
    }

    #[test]
    fn a_tenant_keeps_a_bounded_number_of_turns() {
        let acme = TenantId::parse("acme").unwrap();
        let mut w = LatencyWindow::default();
        let many = vec![total(1.0); PER_TENANT + 10];
        w.add(&acme, t(0), &many);
        assert_eq!(w.summary(t(1), 60, |_| true)[0].stages[0].count, PER_TENANT);
    }
}

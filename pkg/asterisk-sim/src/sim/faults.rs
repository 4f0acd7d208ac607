//! Fault injection: slow or failing REST calls, lost events sockets, restarts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::model::{ChanKind, Origin};
use super::{Sim, State};

/// A fault applied to REST requests whose method and path match.
#[derive(Clone, Debug, Default)]
pub struct RestFault {
    /// Wait this long before handling the request.
    pub delay: Duration,
    /// Answer with this status (and Asterisk's usual body for it) instead of handling it.
    pub status: Option<u16>,
    /// Apply to this many matching requests only (None = until cleared).
    pub times: Option<u32>,
}

#[derive(Debug)]
struct Rule {
    method: String,
    path: String,
    fault: RestFault,
}

/// Configured REST faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Rule>>,
}

/// `*` matches one path segment, a trailing `**` any rest.
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut p = pattern.trim_matches('/').split('/');
    let mut s = path.trim_matches('/').split('/');
    loop {
        match (p.next(), s.next()) {
            (Some("**"), _) => return true,
            (Some(a), Some(b)) if a == "*" || a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

impl Faults {
    pub(crate) fn add(&self, method: &str, path: &str, fault: RestFault) {
        let mut r = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        r.push(Rule {
            method: method.to_ascii_uppercase(),
            path: path.to_string(),
            fault,
        });
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The fault for this request, consuming one use of it.
    pub(crate) fn take(&self, method: &str, path: &str) -> Option<RestFault> {
        let mut rules = self.rules.lock().unwrap_or_else(|e| e.into_inner());
        let i = rules
            .iter()
            .position(|r| (r.method == "*" || r.method == method) && path_matches(&r.path, path))?;
        let f = rules[i].fault.clone();
        if let Some(t) = &mut rules[i].fault.times {
            *t = t.saturating_sub(1);
            if *t == 0 {
                rules.remove(i);
            }
        }
        Some(f)
    }
}

impl Sim {
    /// `core restart now` (fixture 10): every channel gets `ChannelHangupRequest{cause:4,
    /// soft:true}`, Stasis channels `StasisEnd`, then `ChannelDestroyed` cause 0; the events
    /// sockets drop without a close frame (1006); everything is forgotten and id counters
    /// restart. For `boot` afterwards REST answers 503 "Asterisk not booted".
    pub(crate) fn restart(self: &Arc<Self>, boot: Duration) {
        let mut st = self.lock();
        let mut ids: Vec<String> = st.channels.keys().cloned().collect();
        ids.sort();
        for id in &ids {
            let Some(ch) = st.channels.get(id) else {
                continue;
            };
            let (in_stasis, kind, bridge, origin) =
                (ch.in_stasis, ch.kind.clone(), ch.bridge.clone(), ch.origin);
            // A `;2` half goes down with its `;1` below.
            if matches!(kind, ChanKind::Local2) {
                continue;
            }
            let peer = match &kind {
                ChanKind::Local1 { peer } if st.channels.contains_key(peer) => Some(peer.clone()),
                _ => None,
            };
            st.chan_event(
                id,
                "ChannelHangupRequest",
                json!({"cause": 4, "soft": true}),
            );
            if let Some(p) = &peer {
                st.chan_event(p, "ChannelHangupRequest", json!({"cause": 4, "soft": true}));
                st.chan_event(
                    p,
                    "ChannelHangupRequest",
                    json!({"cause": 16, "soft": true}),
                );
            }
            if let Some(b) = bridge {
                st.leave_bridge(self, id, &b);
            }
            if in_stasis {
                st.chan_event(id, "StasisEnd", json!({}));
                if origin == Origin::Ari {
                    st.varset(id, "STASISSTATUS", "SUCCESS");
                }
            }
            if let Some(p) = &peer {
                st.chan_event(p, "ChannelHangupRequest", json!({"cause": 0}));
            }
            if origin == Origin::Ari {
                st.chan_event(
                    id,
                    "ChannelDestroyed",
                    json!({"cause": 0, "cause_txt": "Unknown"}),
                );
            }
            if let Some(p) = &peer {
                st.chan_event(
                    p,
                    "ChannelDestroyed",
                    json!({"cause": 0, "cause_txt": "Unknown"}),
                );
            }
        }
        st.abort_sockets(None);
        reset(&mut st);
        self.epoch
            .store(st.epoch, std::sync::atomic::Ordering::SeqCst);
        st.booting_until = (!boot.is_zero()).then(|| tokio::time::Instant::now() + boot);
        self.media.close_all();
    }
}

fn reset(st: &mut State) {
    st.epoch += 1;
    st.chan_seq = 1;
    st.name_seq = 1;
    st.channels.clear();
    st.bridges.clear();
    st.playbacks.clear();
    st.apps.clear();
    for c in st.calls.values_mut() {
        c.ended = true;
    }
}

#[cfg(test)]
mod tests {
    use super::path_matches;

    #[test]
    fn patterns() {
        assert!(path_matches(
            "/ari/channels/*/answer",
            "/ari/channels/1.2/answer"
        ));
        assert!(!path_matches(
            "/ari/channels/*/answer",
            "/ari/channels/1.2/play"
        ));
        assert!(path_matches("/ari/**", "/ari/bridges/x/addChannel"));
        assert!(path_matches("/ari/channels", "/ari/channels"));
    }
}

//! Channel life cycle: entering Stasis, hangups from either side, and the exact event
//! sequences Asterisk produces for each (fixtures 01, 02, 03, 09, 10).

use std::sync::Arc;

use serde_json::json;

use super::error::{ApiError, ApiResult};
use super::model::{ChanKind, Origin};
use super::{Sim, State, cause_txt};

/// Who asked for the hangup: decides the `ChannelHangupRequest` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HangupBy {
    /// `DELETE /channels/{id}`: `cause:32, soft:true` (the soft-hangup flag, not Q.850).
    Ari { destroy_cause: u16 },
    /// The far end of a Local channel ran `Hangup()`: `cause:16` on the Stasis half.
    LocalFarEnd,
    /// A SIP BYE: QoS variables, then a `ChannelHangupRequest` with no cause at all.
    SipBye,
}

impl State {
    /// Puts a channel into Stasis: `ChannelVarset STASISSTATUS=""` (ARI-created channels only)
    /// and `StasisStart`.
    pub(crate) fn stasis_start(&mut self, id: &str, app: &str, args: Vec<String>) {
        let Some(ch) = self.channels.get_mut(id) else {
            return;
        };
        ch.in_stasis = true;
        ch.app = Some(app.to_string());
        ch.dialplan.app_name = "Stasis".into();
        ch.dialplan.app_data = std::iter::once(app.to_string())
            .chain(args.iter().cloned())
            .collect::<Vec<_>>()
            .join(",");
        ch.args = args.clone();
        let origin = ch.origin;
        if origin == Origin::Ari {
            self.varset(id, "STASISSTATUS", "");
        }
        self.chan_event(id, "StasisStart", json!({ "args": args }));
    }

    /// Everything after the hangup request: leave the bridge, end playbacks, StasisEnd, and for
    /// ARI-created channels `STASISSTATUS=SUCCESS` and `ChannelDestroyed`. A Local `;1` also
    /// takes its `;2` half down when `with_peer`.
    pub(crate) fn teardown(&mut self, sim: &Arc<Sim>, id: &str, cause: u16, with_peer: bool) {
        let Some(ch) = self.channels.get(id) else {
            return;
        };
        let (origin, kind, in_stasis) = (ch.origin, ch.kind.clone(), ch.in_stasis);
        if let Some(b) = ch.bridge.clone() {
            self.leave_bridge(sim, id, &b);
        }
        self.drop_channel_playbacks(sim, id);
        if in_stasis {
            self.chan_event(id, "StasisEnd", json!({}));
            if let Some(ch) = self.channels.get_mut(id) {
                ch.in_stasis = false;
            }
        }
        if origin == Origin::Dialplan {
            // Unsubscribed at StasisEnd: nothing more reaches the app (fixture 01).
            if let Some(ch) = self.channels.get_mut(id) {
                ch.app = None;
            }
        } else {
            if in_stasis {
                self.varset(id, "STASISSTATUS", "SUCCESS");
            }
            if let Some(ch) = self.channels.get_mut(id) {
                ch.dialplan.app_name = "AppDial2".into();
                ch.dialplan.app_data = "(Outgoing Line)".into();
            }
        }
        let peer = match &kind {
            ChanKind::Local1 { peer } if with_peer && self.channels.contains_key(peer) => {
                Some(peer.clone())
            }
            _ => None,
        };
        if let Some(p) = &peer {
            self.chan_event(p, "ChannelHangupRequest", json!({ "cause": cause }));
        }
        self.destroy(sim, id, cause);
        if let Some(p) = &peer {
            self.chan_event(
                p,
                "ChannelHangupRequest",
                json!({ "cause": 16, "soft": true }),
            );
            self.destroy(sim, p, cause);
        }
    }

    /// `ChannelDestroyed` (to whoever is still subscribed) and removal.
    pub(crate) fn destroy(&mut self, sim: &Arc<Sim>, id: &str, cause: u16) {
        self.chan_event(
            id,
            "ChannelDestroyed",
            json!({ "cause": cause, "cause_txt": cause_txt(cause) }),
        );
        if let Some(ch) = self.channels.remove(id) {
            if let Some(call) = ch.call
                && let Some(c) = self.calls.get_mut(&call)
                && c.channel == id
            {
                c.ended = true;
            }
            if matches!(ch.kind, ChanKind::Media { .. }) {
                sim.media.close(id);
            }
        }
    }

    /// A hangup of a channel the app can see, with the request events of `by`.
    pub(crate) fn hangup(&mut self, sim: &Arc<Sim>, id: &str, by: HangupBy) {
        let Some(ch) = self.channels.get(id) else {
            return;
        };
        let kind = ch.kind.clone();
        match by {
            HangupBy::Ari { destroy_cause } => {
                self.chan_event(
                    id,
                    "ChannelHangupRequest",
                    json!({ "cause": 32, "soft": true }),
                );
                self.teardown(sim, id, destroy_cause, true);
            }
            HangupBy::LocalFarEnd => {
                if let ChanKind::Local1 { peer } = &kind {
                    let peer = peer.clone();
                    self.chan_event(
                        &peer,
                        "ChannelDialplan",
                        json!({"dialplan_app": "Hangup", "dialplan_app_data": ""}),
                    );
                    self.chan_event(
                        &peer,
                        "ChannelHangupRequest",
                        json!({ "cause": 16, "soft": true }),
                    );
                    self.chan_event(id, "ChannelHangupRequest", json!({ "cause": 16 }));
                    self.destroy(sim, &peer, 16);
                } else {
                    self.chan_event(id, "ChannelHangupRequest", json!({ "cause": 16 }));
                }
                self.teardown(sim, id, 16, false);
            }
            HangupBy::SipBye => {
                self.sip_qos_varsets(id);
                self.chan_event(id, "ChannelHangupRequest", json!({}));
                self.teardown(sim, id, 16, false);
            }
        }
    }

    /// The ten `RTPAUDIOQOS*` variables a chan_sip hangup sets on the caller and, suffixed
    /// `BRIDGED`, on its bridge peer (fixture 09b).
    fn sip_qos_varsets(&mut self, id: &str) {
        let peer = self.bridge_peer(id);
        let vals = [
            (
                "RTPAUDIOQOS",
                "ssrc=1792174949;themssrc=1936615922;lp=0;rxjitter=0.000000;rxcount=350;txjitter=0.001000;txcount=349;rlp=0;rtt=0.000000;rxmes=88.087887;txmes=88.087887",
            ),
            (
                "RTPAUDIOQOSJITTER",
                "minrxjitter=000.000000;maxrxjitter=000.001125;avgrxjitter=000.000924;stdevrxjitter=000.000175;mintxjitter=000.000000;maxtxjitter=000.000000;avgtxjitter=000.000000;stdevtxjitter=000.000000;",
            ),
            (
                "RTPAUDIOQOSLOSS",
                "  minrxlost=000.000000;  maxrxlost=000.000000;  avgrxlost=000.000000;  stdevrxlost=000.000000;  mintxlost=000.000000;  maxtxlost=000.000000;  avgtxlost=000.000000;  stdevtxlost=000.000000;",
            ),
            (
                "RTPAUDIOQOSRTT",
                "     minrtt=000.000000;     maxrtt=000.000000;     avgrtt=000.000000;     stdevrtt=000.000000;",
            ),
            (
                "RTPAUDIOQOSMES",
                "   minrxmes=088.087887;   maxrxmes=088.087887;   avgrxmes=088.087887;   stdevrxmes=000.000000;   mintxmes=088.087887;   maxtxmes=088.087887;   avgtxmes=088.087887;   stdevtxmes=000.000000;",
            ),
        ];
        for (var, val) in vals {
            self.varset(id, var, val);
            if let Some(p) = &peer {
                self.varset(p, &format!("{var}BRIDGED"), val);
            }
        }
    }

    /// The other member of a two-party bridge.
    pub(crate) fn bridge_peer(&self, id: &str) -> Option<String> {
        let b = self.bridges.get(self.channels.get(id)?.bridge.as_ref()?)?;
        if b.channels.len() != 2 {
            return None;
        }
        b.channels.iter().find(|c| *c != id).cloned()
    }

    /// A channel that exists and is in Stasis, or the error Asterisk gives.
    pub(crate) fn stasis_channel(&self, id: &str) -> ApiResult<()> {
        match self.channels.get(id) {
            None => Err(ApiError::channel_not_found()),
            Some(c) if !c.in_stasis => Err(ApiError::not_in_stasis()),
            Some(_) => Ok(()),
        }
    }

    pub(crate) fn answer(&mut self, id: &str) -> ApiResult<()> {
        self.stasis_channel(id)?;
        self.set_state(id, "Up");
        Ok(())
    }

    pub(crate) fn ring(&mut self, id: &str) -> ApiResult<()> {
        self.stasis_channel(id)?;
        if self.channels.get(id).is_some_and(|c| c.state != "Up") {
            self.set_state(id, "Ringing");
        }
        Ok(())
    }

    /// `POST /continue`: leaves Stasis at once (fixture 08); the dialplan then runs on.
    pub(crate) fn continue_in_dialplan(
        &mut self,
        sim: &Arc<Sim>,
        id: &str,
        label: Option<&str>,
    ) -> ApiResult<()> {
        self.stasis_channel(id)?;
        if label.is_some_and(|l| !l.is_empty() && l.parse::<i64>().is_err()) {
            return Err(ApiError::new(404, "Requested label can not be found"));
        }
        if let Some(b) = self.channels.get(id).and_then(|c| c.bridge.clone()) {
            self.leave_bridge(sim, id, &b);
        }
        self.chan_event(id, "StasisEnd", json!({}));
        let origin = match self.channels.get_mut(id) {
            Some(ch) => {
                ch.in_stasis = false;
                ch.origin
            }
            None => return Ok(()),
        };
        if origin == Origin::Dialplan {
            if let Some(ch) = self.channels.get_mut(id) {
                ch.app = None;
            }
        } else {
            self.varset(id, "STASISSTATUS", "SUCCESS");
        }
        // The simulated dialplan has nothing after Stasis: the channel hangs up shortly after,
        // which an ARI-created channel still reports.
        let id2 = id.to_string();
        sim.after(std::time::Duration::from_millis(20), move |sim, st| {
            if st.channels.get(&id2).is_some_and(|c| !c.in_stasis) {
                st.chan_event(&id2, "ChannelHangupRequest", json!({ "cause": 16 }));
                st.destroy(sim, &id2, 16);
            }
        });
        Ok(())
    }

    /// `POST /redirect`: parameter checks as fixture 08; a Local channel is a 204 no-op, a SIP
    /// channel would REFER (the simulated phone does not follow it).
    pub(crate) fn redirect(&mut self, id: &str, endpoint: Option<&str>) -> ApiResult<()> {
        if !self.channels.contains_key(id) {
            return Err(ApiError::channel_not_found());
        }
        let Some(ep) = endpoint.filter(|e| !e.is_empty()) else {
            return Err(ApiError::new(400, "Required parameter endpoint missing"));
        };
        self.stasis_channel(id)?;
        let Some((tech, res)) = ep.split_once('/') else {
            return Err(ApiError::new(
                422,
                "Endpoint parameter does not contain a technology",
            ));
        };
        if res.is_empty() {
            return Err(ApiError::new(
                422,
                "No resource provided in endpoint parameter",
            ));
        }
        let chan_tech = self
            .channels
            .get(id)
            .map(|c| c.name.split('/').next().unwrap_or("").to_string());
        if chan_tech.as_deref() != Some(tech) && chan_tech.as_deref() != Some("Local") {
            return Err(ApiError::new(
                422,
                "Endpoint technology does not match channel technology",
            ));
        }
        Ok(())
    }

    /// Sets a channel variable (the caller has already waited for playbacks to end).
    pub(crate) fn set_var(&mut self, id: &str, name: &str, value: &str) -> ApiResult<()> {
        self.stasis_channel(id)?;
        if name.is_empty() {
            return Err(ApiError::new(400, "Variable name is required"));
        }
        if let Some(arg) = name
            .strip_prefix("TALK_DETECT(")
            .and_then(|r| r.strip_suffix(')'))
        {
            let threshold = value
                .split(',')
                .next()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(2500);
            if let Some(ch) = self.channels.get_mut(id) {
                ch.talk_detect = if arg == "remove" {
                    None
                } else {
                    Some(threshold)
                };
            }
            return Ok(());
        }
        if name.contains('(') {
            // Other dialplan functions (JITTERBUFFER, CALLERID…) are accepted silently.
            if name.starts_with("CALLERID(name)")
                && let Some(ch) = self.channels.get_mut(id)
            {
                ch.caller.0 = value.to_string();
            }
            return Ok(());
        }
        self.varset(id, name, value);
        Ok(())
    }

    pub(crate) fn get_var(&self, id: &str, name: &str) -> ApiResult<String> {
        let Some(ch) = self.channels.get(id) else {
            return Err(ApiError::new(404, "Provided channel was not found"));
        };
        if name.is_empty() {
            return Err(ApiError::new(400, "Variable name is required"));
        }
        if name.starts_with("TALK_DETECT(") {
            return Err(ApiError::new(500, "Unable to read provided function"));
        }
        ch.vars
            .get(name)
            .cloned()
            .ok_or_else(|| ApiError::new(404, "Provided variable was not found"))
    }

    /// Whether `id` has a playback running or queued (variable sets wait behind it). A
    /// playback of an unknown URI scheme plays nothing and does not hold the channel's
    /// command queue (fixture 05 sets a variable while one "plays").
    pub(crate) fn has_playback(&self, id: &str) -> bool {
        let Some(ch) = self.channels.get(id) else {
            return false;
        };
        ch.playbacks.iter().any(|pb| {
            self.playbacks.get(pb).is_some_and(|p| {
                let uri = p.media.get(p.index).map(String::as_str).unwrap_or("");
                let scheme = uri.split(':').next().unwrap_or("");
                matches!(
                    scheme,
                    "sound" | "recording" | "digits" | "number" | "characters" | "tone"
                )
            })
        })
    }
}

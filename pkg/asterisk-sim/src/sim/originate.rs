//! `POST /channels` (originate). The HTTP answer is 200 whatever the far end does; busy, no
//! answer, congestion and rejection arrive only as `Dial` and `ChannelDestroyed` events, with
//! the causes fixture 04 recorded. A Local endpoint gets its `;2` half, whose events the app
//! also receives (fixture 02).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::model::{ChanKind, Channel, Dialplan, Origin};
use super::{CallInfo, Sim, State};
use crate::config::Outcome;
use crate::handle::{OriginateRecord, SimCallId};
use crate::util::timestamp;

/// A parsed originate request.
#[derive(Clone)]
pub(crate) struct Originate {
    pub(crate) endpoint: String,
    pub(crate) app: String,
    pub(crate) args: Vec<String>,
    pub(crate) caller: Option<(String, String)>,
    pub(crate) timeout: Duration,
    pub(crate) channel_id: Option<String>,
    pub(crate) other_id: Option<String>,
    pub(crate) variables: Vec<(String, String)>,
}

/// Splits `"Name" <number>` (or a bare number) like Asterisk's callerid parser.
pub(crate) fn parse_caller_id(s: &str) -> (String, String) {
    match (s.find('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => (
            s[..a].trim().trim_matches('"').to_string(),
            s[a + 1..b].trim().to_string(),
        ),
        _ => (String::new(), s.trim().to_string()),
    }
}

/// The dialed number of an endpoint: `Local/EXT@ctx/n` → EXT, `PJSIP/num@trunk` → num,
/// `SIP/trunk/num` → num.
pub(crate) fn dialed_number(endpoint: &str) -> String {
    let res = endpoint.split_once('/').map_or(endpoint, |(_, r)| r);
    let res = if endpoint.starts_with("Local/") {
        res.split('/').next().unwrap_or(res)
    } else {
        res
    };
    let res = res.rsplit('/').next().unwrap_or(res);
    let user = res.split('@').next().unwrap_or(res);
    user.trim_start_matches("sip:").to_string()
}

impl Originate {
    pub(crate) fn from_params(
        p: &HashMap<String, String>,
        vars: Vec<(String, String)>,
        id: Option<&str>,
    ) -> ApiResult<Self> {
        let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
        let endpoint =
            get("endpoint").ok_or_else(|| ApiError::new(400, "Endpoint must be specified"))?;
        let Some(app) = get("app") else {
            return Err(ApiError::new(
                400,
                "Application or extension must be specified",
            ));
        };
        if !endpoint.contains('/') {
            return Err(ApiError::new(400, "Invalid endpoint specified"));
        }
        Ok(Self {
            endpoint: endpoint.to_string(),
            app: app.to_string(),
            args: get("appArgs")
                .map(|a| a.split(',').map(String::from).collect())
                .unwrap_or_default(),
            caller: get("callerId").map(parse_caller_id),
            timeout: Duration::from_secs(get("timeout").and_then(|t| t.parse().ok()).unwrap_or(30)),
            channel_id: id.or(get("channelId")).map(String::from),
            other_id: get("otherChannelId").map(String::from),
            variables: vars,
        })
    }
}

impl State {
    pub(crate) fn originate(&mut self, sim: &Arc<Sim>, o: Originate) -> ApiResult<Value> {
        if let Some(id) = &o.channel_id
            && self.channels.contains_key(id)
        {
            return Err(ApiError::new(
                409,
                "Channel with given unique ID already exists",
            ));
        }
        let (tech, resource) = o.endpoint.split_once('/').unwrap_or(("", ""));
        let number = dialed_number(&o.endpoint);
        let ctx_key = format!(
            "@{}",
            resource
                .split('@')
                .nth(1)
                .unwrap_or("")
                .split('/')
                .next()
                .unwrap_or("")
        );
        let outcome = self
            .outcomes
            .get(&number)
            .or_else(|| self.outcomes.get(&ctx_key))
            .cloned()
            .unwrap_or_else(|| sim.cfg.default_outcome.clone());
        let local = tech == "Local";
        if !matches!(tech, "Local" | "PJSIP" | "SIP") || outcome == Outcome::AllocationFailed {
            return Err(ApiError::allocation_failed());
        }
        let id = o
            .channel_id
            .clone()
            .unwrap_or_else(|| self.new_channel_id());
        let seq = self.next_name_seq();
        let registered = self.app_registered(&o.app);
        let app = registered.then(|| o.app.clone());
        let (res_main, opts) = resource.split_once('/').unwrap_or((resource, ""));
        let _ = opts;
        let (exten, ctx) = res_main.split_once('@').unwrap_or((res_main, "default"));
        let call = SimCallId(self.next_call);
        self.next_call += 1;
        let (caller, connected) = match &o.caller {
            Some(c) => (c.clone(), c.clone()),
            None => Default::default(),
        };
        let mut main = Channel {
            id: id.clone(),
            name: if local {
                format!("Local/{res_main}-{seq};1")
            } else {
                format!(
                    "{tech}/{}-{seq}",
                    res_main.split('@').next_back().unwrap_or(res_main)
                )
            },
            state: "Down",
            protocol_id: String::new(),
            caller: caller.clone(),
            connected,
            dialplan: Dialplan::outgoing(
                if local { ctx } else { "default" },
                if local { exten } else { "s" },
            ),
            creationtime: timestamp(),
            vars: HashMap::new(),
            channelvars: None,
            app: app.clone(),
            in_stasis: false,
            origin: Origin::Ari,
            kind: ChanKind::Trunk,
            bridge: None,
            call: Some(call),
            talk_detect: None,
            playbacks: Default::default(),
            args: vec![],
        };
        for (k, v) in &o.variables {
            if k == "CALLERID(name)" {
                main.caller.0 = v.clone();
            } else if !k.contains('(') {
                main.vars.insert(k.clone(), v.clone());
            }
        }
        let peer_id = local.then(|| {
            o.other_id.clone().unwrap_or_else(|| {
                if o.channel_id.is_some() {
                    format!("{id};2")
                } else {
                    self.new_channel_id()
                }
            })
        });
        if let Some(p) = &peer_id {
            main.kind = ChanKind::Local1 { peer: p.clone() };
            let mut far = main.clone();
            far.id = p.clone();
            far.name = format!("Local/{res_main}-{seq};2");
            far.state = "Ring";
            far.caller = caller;
            far.connected = Default::default();
            far.dialplan = Dialplan {
                app_name: String::new(),
                app_data: String::new(),
                ..Dialplan::outgoing(ctx, exten)
            };
            far.kind = ChanKind::Local2;
            far.call = None;
            self.channels.insert(p.clone(), far);
        }
        let resp = main.json();
        self.channels.insert(id.clone(), main);
        self.calls.insert(
            call,
            CallInfo {
                channel: id.clone(),
                media_channels: vec![],
                ended: false,
            },
        );
        self.originates.push(OriginateRecord {
            call,
            channel_id: id.clone(),
            endpoint: o.endpoint.clone(),
            number,
            app: o.app.clone(),
            args: o.args.clone(),
            variables: o.variables.clone(),
        });
        if !registered {
            // 200, then the channel silently disappears (fixture 05, 10).
            let ids: Vec<String> = std::iter::once(id).chain(peer_id).collect();
            sim.after(Duration::from_millis(500), move |_, st| {
                for i in &ids {
                    st.channels.remove(i);
                }
            });
            return Ok(resp);
        }
        let dialstring = resource.to_string();
        sim.after(Duration::from_millis(1), move |sim, st| {
            st.run_originate(sim, &id, peer_id.as_deref(), &o, &dialstring, outcome);
        });
        Ok(resp)
    }

    fn dial(&mut self, id: &str, status: &str, dialstring: &str) {
        self.chan_event(
            id,
            "Dial",
            json!({"dialstatus": status, "forward": "", "dialstring": dialstring}),
        );
    }

    fn dialplan_app(&mut self, id: &str, app: &str, data: &str) {
        if let Some(c) = self.channels.get_mut(id) {
            c.dialplan.app_name = app.into();
            c.dialplan.app_data = data.into();
        }
        self.chan_event(
            id,
            "ChannelDialplan",
            json!({"dialplan_app": app, "dialplan_app_data": data}),
        );
    }

    fn run_originate(
        &mut self,
        sim: &Arc<Sim>,
        id: &str,
        peer: Option<&str>,
        o: &Originate,
        ds: &str,
        outcome: Outcome,
    ) {
        if !self.channels.contains_key(id) {
            return;
        }
        if let Some(p) = peer {
            let vars: Vec<(String, String)> = o
                .variables
                .iter()
                .filter(|(k, _)| !k.contains('('))
                .cloned()
                .collect();
            for (k, v) in vars {
                self.varset(p, &k, &v);
            }
            if o.caller.is_some() {
                let pres = json!({"caller_presentation": 0, "caller_presentation_txt": "Presentation Allowed, Not Screened"});
                self.chan_event(p, "ChannelCallerId", pres);
                self.chan_event(p, "ChannelConnectedLine", json!({}));
            }
        }
        if outcome == Outcome::NoSuchExtension {
            if let Some(p) = peer {
                self.destroy(sim, p, 0);
                self.destroy(sim, id, 0);
            } else {
                self.dial(id, "", ds);
                self.destroy(sim, id, 1);
            }
            return;
        }
        self.dial(id, "", ds);
        match outcome {
            Outcome::Answer { after } if after.is_zero() => self.answer_originate(id, peer, o, ds),
            Outcome::Answer { .. } | Outcome::NoAnswer => {
                let ring_for = match outcome {
                    Outcome::Answer { after } if after < o.timeout => Some(after),
                    _ => None,
                };
                if let Some(p) = peer {
                    self.dialplan_app(p, "Ringing", "");
                }
                self.set_state(id, "Ringing");
                if let Some(p) = peer {
                    let wait = ring_for.map_or(60, |d| d.as_secs().max(1));
                    self.dialplan_app(p, "Wait", &wait.to_string());
                }
                self.dial(id, "RINGING", ds);
                let (id2, peer2) = (id.to_string(), peer.map(String::from));
                let o2 = o.clone();
                let ds2 = ds.to_string();
                match ring_for {
                    Some(d) => sim.after(d, move |_, st| {
                        if st.channels.get(&id2).is_some_and(|c| c.state == "Ringing") {
                            st.answer_originate(&id2, peer2.as_deref(), &o2, &ds2);
                        }
                    }),
                    None => sim.after(o.timeout, move |sim, st| {
                        if st.channels.get(&id2).is_some_and(|c| c.state == "Ringing") {
                            st.fail_originate(sim, &id2, peer2.as_deref(), 19);
                        }
                    }),
                }
            }
            Outcome::Busy | Outcome::Congestion => {
                let (status, cause, app) = if outcome == Outcome::Busy {
                    ("BUSY", 17, "Busy")
                } else {
                    ("CONGESTION", 34, "Congestion")
                };
                match peer {
                    Some(p) => {
                        self.dialplan_app(p, app, "10");
                        self.dial(id, status, ds);
                        self.set_state(p, "Busy");
                        self.chan_event(p, "ChannelHangupRequest", json!({"cause": 0}));
                        self.destroy(sim, id, 0);
                        self.chan_event(
                            p,
                            "ChannelHangupRequest",
                            json!({"cause": 16, "soft": true}),
                        );
                        self.destroy(sim, p, cause);
                    }
                    None => {
                        self.dial(id, status, ds);
                        self.destroy(sim, id, cause);
                    }
                }
            }
            Outcome::Reject { cause } => {
                if let Some(p) = peer {
                    self.dialplan_app(p, "Hangup", &cause.to_string());
                    self.chan_event(
                        p,
                        "ChannelHangupRequest",
                        json!({"cause": 16, "soft": true}),
                    );
                    self.chan_event(id, "ChannelHangupRequest", json!({"cause": cause}));
                    self.destroy(sim, p, cause);
                } else {
                    self.chan_event(id, "ChannelHangupRequest", json!({"cause": cause}));
                }
                self.dial(id, "NOANSWER", ds);
                self.destroy(sim, id, cause);
            }
            Outcome::NoSuchExtension | Outcome::AllocationFailed => {}
        }
    }

    /// No answer within the originate timeout (cause 19 on both halves).
    fn fail_originate(&mut self, sim: &Arc<Sim>, id: &str, peer: Option<&str>, cause: u16) {
        if let Some(p) = peer {
            self.chan_event(p, "ChannelHangupRequest", json!({"cause": cause}));
            self.chan_event(
                p,
                "ChannelHangupRequest",
                json!({"cause": 16, "soft": true}),
            );
            self.destroy(sim, p, cause);
        }
        self.destroy(sim, id, cause);
    }

    fn answer_originate(&mut self, id: &str, peer: Option<&str>, o: &Originate, ds: &str) {
        if let Some(p) = peer {
            self.dialplan_app(p, "Answer", "");
            self.set_state(p, "Up");
        }
        self.set_state(id, "Up");
        self.dial(id, "ANSWER", ds);
        self.stasis_start(id, &o.app, o.args.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_caller_ids() {
        assert_eq!(dialed_number("Local/busy@fx-caller/n"), "busy");
        assert_eq!(dialed_number("PJSIP/+15551230000@trunk"), "+15551230000");
        assert_eq!(dialed_number("SIP/trunk/2001"), "2001");
        assert_eq!(
            parse_caller_id("\"Gateway\" <+15550001111>"),
            ("Gateway".into(), "+15550001111".into())
        );
        assert_eq!(parse_caller_id("+1555"), (String::new(), "+1555".into()));
    }
}

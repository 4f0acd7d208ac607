//! Bridges: creation, membership with its `BRIDGEPEER` variables, destruction (fixtures 01, 05).
//!
//! REST-created bridges get no `BridgeCreated`, and are never destroyed automatically: an empty
//! bridge stays until `DELETE /bridges/{id}` (fixture 01).

use std::collections::VecDeque;
use std::sync::Arc;

use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::model::{Bridge, ChanKind, PbState};
use super::{Sim, State};
use crate::util::{timestamp, uuid4};

const TYPES: [&str; 6] = [
    "mixing",
    "holding",
    "dtmf_events",
    "proxy_media",
    "video_sfu",
    "video_single",
];

impl State {
    pub(crate) fn create_bridge(
        &mut self,
        kind: Option<&str>,
        id: Option<&str>,
        name: Option<&str>,
    ) -> ApiResult<Value> {
        let kinds: Vec<&str> = kind.unwrap_or("mixing").split(',').map(str::trim).collect();
        if kinds.iter().any(|k| !TYPES.contains(k)) {
            return Err(ApiError::new(
                500,
                "Unable to create bridge. Possible duplicate bridge id '(null)'",
            ));
        }
        let id = match id.filter(|i| !i.is_empty()) {
            Some(i) if self.bridges.contains_key(i) => {
                return Err(ApiError::new(
                    409,
                    &format!("Bridge with id '{i}' already exists"),
                ));
            }
            Some(i) => i.to_string(),
            None => uuid4(),
        };
        let bridge_type = if kinds.contains(&"holding") {
            "holding"
        } else {
            "mixing"
        };
        let b = Bridge {
            id: id.clone(),
            name: name.unwrap_or("").to_string(),
            bridge_type: bridge_type.into(),
            channels: Vec::new(),
            creationtime: timestamp(),
            app: None,
            playbacks: VecDeque::new(),
            announcer: None,
        };
        let json = b.json();
        self.bridges.insert(id, b);
        Ok(json)
    }

    pub(crate) fn bridge_json(&self, id: &str) -> ApiResult<Value> {
        self.bridges
            .get(id)
            .map(Bridge::json)
            .ok_or_else(ApiError::bridge_not_found)
    }

    /// `POST /bridges/{id}/addChannel`. Adding a channel that sits in a bridge (this one or
    /// another) first takes it out: `ChannelLeftBridge` then `ChannelEnteredBridge` (fixture 05).
    pub(crate) fn add_to_bridge(
        &mut self,
        sim: &Arc<Sim>,
        bridge: &str,
        channels: Option<&str>,
    ) -> ApiResult<()> {
        if !self.bridges.contains_key(bridge) {
            return Err(ApiError::bridge_not_found());
        }
        let ids = parse_channels(channels)?;
        for id in &ids {
            match self.channels.get(id) {
                None => return Err(ApiError::new(400, "Channel not found")),
                Some(c) if !c.in_stasis => {
                    return Err(ApiError::new(422, "Channel not in Stasis application"));
                }
                Some(_) => {}
            }
        }
        for id in ids {
            if let Some(old) = self.channels.get(&id).and_then(|c| c.bridge.clone()) {
                self.leave_bridge_as(sim, &id, &old, true);
            }
            self.enter_bridge(sim, &id, bridge);
        }
        Ok(())
    }

    fn enter_bridge(&mut self, sim: &Arc<Sim>, id: &str, bridge: &str) {
        let app = self.channels.get(id).and_then(|c| c.app.clone());
        let Some(b) = self.bridges.get_mut(bridge) else {
            return;
        };
        b.channels.push(id.to_string());
        if b.app.is_none() {
            b.app = app;
        }
        let bjson = b.json();
        let members = b.channels.clone();
        if let Some(c) = self.channels.get_mut(id) {
            c.bridge = Some(bridge.to_string());
        }
        self.chan_event(id, "ChannelEnteredBridge", json!({ "bridge": bjson }));
        if members.len() == 2 {
            let other = members[0].clone();
            let (my_name, other_name) = (self.chan_name(id), self.chan_name(&other));
            self.varset(&other, "BRIDGEPEER", &my_name);
            self.varset(id, "BRIDGEPEER", &other_name);
            // An externalMedia channel takes the caller's identity as connected line (fixture 01).
            self.connected_line_from(id, &other);
            self.connected_line_from(&other, id);
        }
        self.link_media_to_calls(bridge);
        sim.media.set_bridge_size(&members, members.len());
    }

    fn connected_line_from(&mut self, media: &str, party: &str) {
        let Some(caller) = self.channels.get(party).map(|c| c.caller.clone()) else {
            return;
        };
        let is_media = self
            .channels
            .get(media)
            .is_some_and(|c| matches!(c.kind, ChanKind::Media { .. }));
        if !is_media || caller.1.is_empty() {
            return;
        }
        if let Some(c) = self.channels.get_mut(media) {
            c.connected = caller;
        }
        self.chan_event(media, "ChannelConnectedLine", json!({}));
    }

    /// Remembers which media channels shared a bridge with which simulated party, so the
    /// handle can return what each caller "heard".
    fn link_media_to_calls(&mut self, bridge: &str) {
        let Some(b) = self.bridges.get(bridge) else {
            return;
        };
        let members = b.channels.clone();
        let media: Vec<String> = members
            .iter()
            .filter(|m| {
                self.channels
                    .get(*m)
                    .is_some_and(|c| matches!(c.kind, ChanKind::Media { .. }))
            })
            .cloned()
            .collect();
        for m in &members {
            let Some(call) = self.channels.get(m).and_then(|c| c.call) else {
                continue;
            };
            if let Some(info) = self.calls.get_mut(&call) {
                for x in &media {
                    if !info.media_channels.contains(x) {
                        info.media_channels.push(x.clone());
                    }
                }
            }
        }
    }

    fn chan_name(&self, id: &str) -> String {
        self.channels
            .get(id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    }

    /// Takes a channel out of its bridge: `BRIDGEPEER=""` if it had a peer, then
    /// `ChannelLeftBridge`. A bridge playback whose audience is gone fails (fixture 06).
    pub(crate) fn leave_bridge(&mut self, sim: &Arc<Sim>, id: &str, bridge: &str) {
        self.leave_bridge_as(sim, id, bridge, false);
    }

    /// `unsubscribe`: the channel moves to another bridge or the bridge is being destroyed;
    /// the app then stops hearing about the bridge once none of its channels is left, which is
    /// why fixture 05 shows no `BridgeDestroyed` while fixture 01 (members hung up) does.
    fn leave_bridge_as(&mut self, sim: &Arc<Sim>, id: &str, bridge: &str, unsubscribe: bool) {
        let Some(b) = self.bridges.get_mut(bridge) else {
            return;
        };
        let had_peer = b.channels.len() >= 2;
        b.channels.retain(|c| c != id);
        let bjson = b.json();
        let members = b.channels.clone();
        let orphan_playbacks: Vec<String> = if members.is_empty() {
            b.playbacks.iter().cloned().collect()
        } else {
            vec![]
        };
        if unsubscribe && members.is_empty() {
            b.app = None;
        }
        if let Some(c) = self.channels.get_mut(id) {
            c.bridge = None;
        }
        if had_peer
            || self
                .channels
                .get(id)
                .is_some_and(|c| c.vars.get("BRIDGEPEER").is_some_and(|v| !v.is_empty()))
        {
            self.varset(id, "BRIDGEPEER", "");
        }
        self.chan_event(id, "ChannelLeftBridge", json!({ "bridge": bjson }));
        for pb in orphan_playbacks {
            self.finish_playback(sim, &pb, PbState::Failed);
        }
        sim.media.set_bridge_size(&members, members.len());
        sim.media.set_bridge_size(&[id.to_string()], 0);
    }

    pub(crate) fn remove_from_bridge(
        &mut self,
        sim: &Arc<Sim>,
        bridge: &str,
        channels: Option<&str>,
    ) -> ApiResult<()> {
        if !self.bridges.contains_key(bridge) {
            return Err(ApiError::bridge_not_found());
        }
        let ids = parse_channels(channels)?;
        for id in &ids {
            match self.channels.get(id) {
                None => return Err(ApiError::new(400, "Channel not found")),
                Some(c) if !c.in_stasis => {
                    return Err(ApiError::new(422, "Channel not in Stasis application"));
                }
                Some(c) if c.bridge.as_deref() != Some(bridge) => {
                    return Err(ApiError::new(422, "Channel not in this bridge"));
                }
                Some(_) => {}
            }
        }
        for id in ids {
            self.leave_bridge(sim, &id, bridge);
        }
        Ok(())
    }

    /// `DELETE /bridges/{id}`: members leave, then `BridgeDestroyed`.
    pub(crate) fn destroy_bridge(&mut self, sim: &Arc<Sim>, bridge: &str) -> ApiResult<()> {
        let Some(b) = self.bridges.get(bridge) else {
            return Err(ApiError::bridge_not_found());
        };
        let members = b.channels.clone();
        let pbs: Vec<String> = b.playbacks.iter().cloned().collect();
        for m in members {
            self.leave_bridge_as(sim, &m, bridge, true);
        }
        for pb in pbs {
            self.finish_playback(sim, &pb, PbState::Failed);
        }
        let Some(b) = self.bridges.remove(bridge) else {
            return Ok(());
        };
        let ev = State::envelope("BridgeDestroyed", json!({ "bridge": b.json() }));
        self.fan_out(b.app.as_deref(), "BridgeDestroyed", ev);
        Ok(())
    }
}

fn parse_channels(channels: Option<&str>) -> ApiResult<Vec<String>> {
    let ids: Vec<String> = channels
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect();
    if ids.is_empty() {
        return Err(ApiError::new(400, "Missing parameter channel"));
    }
    Ok(ids)
}

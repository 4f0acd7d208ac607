//! Playbacks on channels and bridges, timed by a media-duration table (fixture 06).
//!
//! One playback runs per target; later ones queue. A media list emits `PlaybackContinuing` +
//! `PlaybackStarted` per item. Stopping ends in `done`; pause is silent and unpause re-sends
//! `PlaybackStarted`. A missing sound fails at once (skipped inside a list), a `tone:` fails
//! (no indications loaded), and an unknown URI scheme plays forever.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::error::{ApiError, ApiResult};
use super::model::{PbState, Playback};
use super::{Sim, State};
use crate::util::uuid4;

/// How one media item behaves.
enum Item {
    Timed(Duration),
    Missing,
    Forever,
}

fn classify(sim: &Sim, uri: &str) -> Item {
    let (scheme, rest) = uri.split_once(':').unwrap_or(("", uri));
    let cfg = &sim.cfg;
    match scheme {
        "sound" => match cfg.sound_durations.get(rest) {
            Some(d) => Item::Timed(*d),
            None if cfg.unknown_sounds_fail => Item::Missing,
            None => Item::Timed(cfg.default_sound_duration),
        },
        "recording" => Item::Timed(cfg.default_sound_duration),
        // ~830 ms per spoken digit in fixture 06 (digits:12 took 1.66 s, number:42 1.69 s).
        "digits" => Item::Timed(Duration::from_millis(
            830 * rest.chars().count().max(1) as u64,
        )),
        "number" => Item::Timed(Duration::from_millis(1694)),
        "characters" => Item::Timed(Duration::from_millis(
            600 * rest.chars().count().max(1) as u64,
        )),
        "tone" => Item::Missing,
        _ => Item::Forever,
    }
}

/// What a playback is aimed at.
pub(crate) enum Target<'a> {
    Channel(&'a str),
    Bridge(&'a str),
}

impl State {
    pub(crate) fn play(
        &mut self,
        sim: &Arc<Sim>,
        target: Target<'_>,
        media: Option<&str>,
        lang: Option<&str>,
        playback_id: Option<&str>,
    ) -> ApiResult<Value> {
        let (target_uri, app) = match target {
            Target::Channel(id) => {
                self.stasis_channel(id)?;
                (
                    format!("channel:{id}"),
                    self.channels.get(id).and_then(|c| c.app.clone()),
                )
            }
            Target::Bridge(id) => {
                let b = self
                    .bridges
                    .get(id)
                    .ok_or_else(ApiError::bridge_not_found)?;
                (format!("bridge:{id}"), b.app.clone())
            }
        };
        let media: Vec<String> = media
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|m| !m.is_empty())
            .map(String::from)
            .collect();
        if media.is_empty() {
            return Err(ApiError::new(500, "Failed to queue media for playback"));
        }
        let id = playback_id
            .filter(|p| !p.is_empty())
            .map(String::from)
            .unwrap_or_else(uuid4);
        if self.playbacks.contains_key(&id) {
            return Err(ApiError::new(
                409,
                "Playback with the same id already exists",
            ));
        }
        let pb = Playback {
            id: id.clone(),
            media,
            index: 0,
            target_uri,
            language: lang.unwrap_or("en").to_string(),
            state: PbState::Queued,
            app,
            generation: 0,
            remaining: Duration::ZERO,
            item_started: Instant::now(),
        };
        self.playbacks.insert(id.clone(), pb);
        let queue = self.target_queue(&id);
        let idle = queue.as_ref().is_some_and(|q| q.is_empty());
        if let Some(q) = queue {
            q.push_back(id.clone());
        }
        let mut resp = self
            .playbacks
            .get(&id)
            .map(Playback::json)
            .unwrap_or_default();
        if idle {
            // `tone:` fails before the response is written (fixture 06), the rest start now.
            self.start_item(sim, &id);
        }
        match self.playbacks.get(&id) {
            Some(p) => resp = p.json(),
            None => resp["state"] = json!("failed"),
        }
        Ok(resp)
    }

    fn target_queue(&mut self, pb: &str) -> Option<&mut VecDeque<String>> {
        let uri = self.playbacks.get(pb)?.target_uri.clone();
        if let Some(c) = uri.strip_prefix("channel:") {
            self.channels.get_mut(c).map(|c| &mut c.playbacks)
        } else {
            let b = uri.strip_prefix("bridge:")?;
            self.bridges.get_mut(b).map(|b| &mut b.playbacks)
        }
    }

    fn pb_event(&mut self, pb: &str, ty: &str) {
        let Some(p) = self.playbacks.get(pb) else {
            return;
        };
        let app = p.app.clone();
        let ev = State::envelope(ty, json!({ "playback": p.json() }));
        self.fan_out(app.as_deref(), ty, ev);
    }

    /// Starts the current item of `pb` and arms its timer.
    fn start_item(&mut self, sim: &Arc<Sim>, pb: &str) {
        let Some(p) = self.playbacks.get(pb) else {
            return;
        };
        let uri = p.media[p.index].clone();
        let last = p.index + 1 >= p.media.len();
        let target = p.target_uri.clone();
        if p.index == 0 {
            self.announce_in_bridge(&target);
        }
        let item = classify(sim, &uri);
        if let Some(p) = self.playbacks.get_mut(pb) {
            p.state = PbState::Playing;
        }
        self.pb_event(pb, "PlaybackStarted");
        match item {
            Item::Timed(d) => self.arm(sim, pb, d),
            Item::Forever => {}
            Item::Missing if last && self.playbacks.get(pb).is_some_and(|p| p.media.len() == 1) => {
                self.finish_playback(sim, pb, PbState::Failed);
            }
            Item::Missing => self.item_done(sim, pb),
        }
    }

    /// A bridge playback adds an `Announcer/ARI-…;2` channel: a lone member sees it as peer.
    fn announce_in_bridge(&mut self, target: &str) {
        let Some(b) = target.strip_prefix("bridge:") else {
            return;
        };
        let seq = self.next_name_seq();
        let Some(br) = self.bridges.get_mut(b) else {
            return;
        };
        br.announcer = Some(format!("Announcer/ARI-{seq};2"));
        if br.channels.len() == 1 {
            let (only, name) = (
                br.channels[0].clone(),
                br.announcer.clone().unwrap_or_default(),
            );
            self.varset(&only, "BRIDGEPEER", &name);
        }
    }

    fn arm(&mut self, sim: &Arc<Sim>, pb: &str, d: Duration) {
        let Some(p) = self.playbacks.get_mut(pb) else {
            return;
        };
        p.generation += 1;
        p.remaining = d;
        p.item_started = Instant::now();
        let (generation, id) = (p.generation, pb.to_string());
        sim.after(d, move |sim, st| {
            if st
                .playbacks
                .get(&id)
                .is_some_and(|p| p.generation == generation && p.state == PbState::Playing)
            {
                st.item_done(sim, &id);
            }
        });
    }

    fn item_done(&mut self, sim: &Arc<Sim>, pb: &str) {
        let Some(p) = self.playbacks.get_mut(pb) else {
            return;
        };
        if p.index + 1 < p.media.len() {
            p.state = PbState::Continuing;
            self.pb_event(pb, "PlaybackContinuing");
            if let Some(p) = self.playbacks.get_mut(pb) {
                p.index += 1;
            }
            self.start_item(sim, pb);
        } else {
            self.finish_playback(sim, pb, PbState::Done);
        }
    }

    /// Ends a playback with `state`, then starts the next one queued on the same target.
    pub(crate) fn finish_playback(&mut self, sim: &Arc<Sim>, pb: &str, state: PbState) {
        let Some(p) = self.playbacks.get_mut(pb) else {
            return;
        };
        let was_running = p.state != PbState::Queued;
        p.state = state;
        p.generation += 1;
        if was_running {
            self.pb_event(pb, "PlaybackFinished");
        }
        let next = self.target_queue(pb).and_then(|q| {
            q.retain(|x| x != pb);
            q.front().cloned()
        });
        self.playbacks.remove(pb);
        sim.playback_idle.notify_waiters();
        if let Some(n) = next
            && self
                .playbacks
                .get(&n)
                .is_some_and(|p| p.state == PbState::Queued)
        {
            self.start_item(sim, &n);
        }
    }

    /// A hung-up channel's playbacks: queued ones vanish, the running one finishes.
    pub(crate) fn drop_channel_playbacks(&mut self, sim: &Arc<Sim>, id: &str) {
        let Some(ch) = self.channels.get_mut(id) else {
            return;
        };
        let all: Vec<String> = ch.playbacks.drain(..).collect();
        for (i, pb) in all.iter().enumerate() {
            // A playback of an unknown scheme never finishes, not even at hangup (fixture 05).
            let forever = self.playbacks.get(pb).is_some_and(|p| {
                matches!(
                    classify(sim, p.media.get(p.index).map(String::as_str).unwrap_or("")),
                    Item::Forever
                )
            });
            if i == 0 && !forever {
                if let Some(p) = self.playbacks.get_mut(pb) {
                    p.generation += 1;
                    p.state = PbState::Done;
                }
                self.pb_event(pb, "PlaybackFinished");
            }
            self.playbacks.remove(pb);
        }
        sim.playback_idle.notify_waiters();
    }

    pub(crate) fn playback_json(&self, id: &str) -> ApiResult<Value> {
        self.playbacks
            .get(id)
            .map(Playback::json)
            .ok_or_else(ApiError::playback_not_found)
    }

    /// `DELETE /playbacks/{id}`: ends in `done`, never `stopped` (fixture 06).
    pub(crate) fn stop_playback(&mut self, sim: &Arc<Sim>, id: &str) -> ApiResult<()> {
        if !self.playbacks.contains_key(id) {
            return Err(ApiError::playback_not_found());
        }
        self.finish_playback(sim, id, PbState::Done);
        Ok(())
    }

    pub(crate) fn control_playback(
        &mut self,
        sim: &Arc<Sim>,
        id: &str,
        op: Option<&str>,
    ) -> ApiResult<()> {
        if !self.playbacks.contains_key(id) {
            return Err(ApiError::playback_not_found());
        }
        let Some(op) = op.filter(|o| !o.is_empty()) else {
            return Err(ApiError::new(400, "Missing operation"));
        };
        let Some(p) = self.playbacks.get_mut(id) else {
            return Ok(());
        };
        let elapsed = p.item_started.elapsed();
        match op {
            "pause" if p.state == PbState::Playing => {
                p.remaining = p.remaining.saturating_sub(elapsed);
                p.generation += 1;
                p.state = PbState::Paused;
            }
            "unpause" if p.state == PbState::Paused => {
                let left = p.remaining;
                p.state = PbState::Playing;
                self.pb_event(id, "PlaybackStarted");
                self.arm(sim, id, left);
            }
            "restart" | "forward" | "reverse" if p.state == PbState::Playing => {
                let uri = p.media[p.index].clone();
                let left = p.remaining.saturating_sub(elapsed);
                let skip = Duration::from_secs(3);
                let new_left = match (op, classify(sim, &uri)) {
                    ("restart", Item::Timed(full)) => Some(full),
                    ("forward", Item::Timed(_)) => Some(left.saturating_sub(skip)),
                    ("reverse", Item::Timed(full)) => Some((left + skip).min(full)),
                    _ => None,
                };
                if let Some(d) = new_left {
                    self.arm(sim, id, d);
                }
            }
            "pause" | "unpause" | "restart" | "forward" | "reverse" => {}
            other => return Err(ApiError::new(400, &format!("Invalid operation {other}"))),
        }
        Ok(())
    }
}

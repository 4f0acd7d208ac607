//! Test callers: calls *into* a Stasis app through Local channels, whose far
//! end plays, listens or sends DTMF and records both directions.
//!
//! `AsteriskServer::call` originates `Local/<DID>@vg-in/n` over ARI with the
//! far end (`;1`) running `[vg-caller]` `<kind>` and the per-call parameters
//! as channel variables. The `;2` half enters `Stasis(<app>,<DID>)` like an
//! inbound call; the far end starts once the app answers.

use super::{AriClient, AsteriskServer};
use crate::{HarnessError, net::wait_until, wav};
use serde_json::json;
use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU32, Ordering},
    time::Duration,
};

/// What one test caller does; build with [`Caller::play`] and friends.
#[derive(Debug, Clone)]
pub struct Caller {
    did: String,
    kind: &'static str,
    file: Option<PathBuf>,
    digits: String,
    delay: Duration,
    dtmf_gap: Duration,
    max: Duration,
    caller_number: Option<String>,
    context: String,
    app: Option<String>,
}

impl Caller {
    fn new(did: &str, kind: &'static str) -> Self {
        Self {
            did: did.into(),
            kind,
            file: None,
            digits: String::new(),
            delay: Duration::ZERO,
            dtmf_gap: Duration::from_millis(250),
            max: Duration::from_secs(30),
            caller_number: None,
            context: "vg-in".into(),
            app: None,
        }
    }

    /// Calls `did`, plays `wav` (an 8 kHz mono 16-bit `.wav`, or a 16 kHz
    /// `.wav16`), then sends
    /// silence until hung up or [`Self::max_duration`] passes.
    pub fn play(did: &str, wav: impl AsRef<Path>) -> Self {
        Self {
            file: Some(wav.as_ref().to_path_buf()),
            ..Self::new(did, "play")
        }
    }

    /// Calls `did` and sends back everything it hears (Asterisk's `Echo()`):
    /// the agent hears its own voice, as from a speakerphone.
    pub fn echo(did: &str) -> Self {
        Self::new(did, "echo")
    }

    /// Calls `did` and only listens (sending silence).
    pub fn listen(did: &str) -> Self {
        Self::new(did, "listen")
    }

    /// Calls `did`, sends silence for `after`, then `digits` (`0-9*#A-D`)
    /// 250 ms apart (see [`Self::dtmf_gap`]), then silence.
    pub fn dtmf(did: &str, digits: &str, after: Duration) -> Self {
        Self {
            digits: digits.into(),
            delay: after,
            ..Self::new(did, "dtmf")
        }
    }

    /// Calls `did`, plays `wav` and hangs up `after` the answer, mid-file
    /// if the file is longer.
    pub fn hangup_mid(did: &str, wav: impl AsRef<Path>, after: Duration) -> Self {
        Self {
            file: Some(wav.as_ref().to_path_buf()),
            max: after,
            ..Self::new(did, "hangup-mid")
        }
    }

    /// Hangs up this long after the answer at the latest (default 30 s).
    pub fn max_duration(mut self, max: Duration) -> Self {
        self.max = max;
        self
    }

    /// The caller's number the app sees (default `+15557654321`).
    pub fn caller_number(mut self, number: &str) -> Self {
        self.caller_number = Some(number.into());
        self
    }

    /// The gap between DTMF digits (SendDTMF's second argument).
    pub fn dtmf_gap(mut self, gap: Duration) -> Self {
        self.dtmf_gap = gap;
        self
    }

    /// The Stasis app to enter instead of the instance's default.
    pub fn app(mut self, app: &str) -> Self {
        self.app = Some(app.into());
        self
    }

    /// The context the inbound half runs instead of `vg-in`, e.g. one of the
    /// gateway stand-ins `vg-test-echo`, `vg-test-play`, `vg-test-dtmf`, or
    /// one from [`super::AsteriskOptions::extensions`].
    pub fn into_context(mut self, context: &str) -> Self {
        self.context = context.into();
        self
    }
}

/// One placed test call.
#[derive(Debug)]
pub struct Call {
    id: String,
    ari: AriClient,
    rec: PathBuf,
}

/// Numbers calls uniquely within the process (channel ids, file names).
static NEXT: AtomicU32 = AtomicU32::new(1);

impl AsteriskServer {
    /// Places a test call (see [`Caller`]); returns once Asterisk accepted
    /// the originate, before anything answers.
    pub fn call(&self, caller: Caller) -> Result<Call, HarnessError> {
        // Not `vg-…`: the gateway takes channels with that prefix for its own.
        let id = format!(
            "tc-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let rec = self.recordings_dir().join(&id);
        let file = match (&caller.file, caller.kind) {
            (Some(f), _) => playable(f)?,
            // The wait before DTMF is played silence: a Wait() sends no
            // frames, which would leave a gap in the recordings.
            (None, "dtmf") => {
                let path = self.sounds_dir().join(format!("{id}-delay.wav"));
                wav::write(&path, wav::RATE, &wav::silence(caller.delay, wav::RATE))?;
                playable(&path)?
            }
            (None, _) => String::new(),
        };
        let mut vars = serde_json::Map::new();
        vars.insert("VG_REC".into(), json!(rec.display().to_string()));
        vars.insert("VG_FILE".into(), json!(file));
        vars.insert(
            "VG_MAX".into(),
            json!(format!("{:.3}", caller.max.as_secs_f64())),
        );
        vars.insert("VG_DIGITS".into(), json!(caller.digits));
        vars.insert(
            "VG_DTMF_GAP".into(),
            json!(caller.dtmf_gap.as_millis().to_string()),
        );
        if let Some(n) = &caller.caller_number {
            vars.insert("VG_CALLER_NUM".into(), json!(n));
        }
        if let Some(a) = &caller.app {
            vars.insert("VG_APP".into(), json!(a));
        }
        let endpoint = format!("Local/{}@{}/n", caller.did, caller.context);
        self.ari().post_json(
            "/channels",
            &[
                ("endpoint", endpoint.as_str()),
                ("context", "vg-caller"),
                ("extension", caller.kind),
                ("priority", "1"),
                ("channelId", id.as_str()),
                ("timeout", "30"),
            ],
            &json!({ "variables": vars }),
        )?;
        Ok(Call {
            id,
            ari: self.ari().clone(),
            rec,
        })
    }
}

impl Call {
    /// The far end's channel id (the `;1` half).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id of the half that enters Stasis (`<id>;2`).
    pub fn inbound_id(&self) -> String {
        format!("{};2", self.id)
    }

    /// Hangs the caller up (nothing happens if it is gone already).
    pub fn hangup(&self) -> Result<(), HarnessError> {
        match self
            .ari
            .request("DELETE", &format!("/channels/{}", self.id), &[], None)?
        {
            (s, _) if (200..300).contains(&s) || s == 404 => Ok(()),
            (s, body) => Err(HarnessError::Request {
                request: format!("DELETE /channels/{}", self.id),
                reason: format!("{s} {body}"),
            }),
        }
    }

    /// Whether the caller's channel still exists.
    pub fn is_up(&self) -> Result<bool, HarnessError> {
        Ok(self.ari.status(&format!("/channels/{}", self.id))? != 404)
    }

    /// Waits until the caller's channel is gone.
    pub fn wait_ended(&self, timeout: Duration) -> Result<(), HarnessError> {
        if wait_until(timeout, || matches!(self.is_up(), Ok(false))) {
            Ok(())
        } else {
            Err(HarnessError::Request {
                request: format!("wait for call {} to end", self.id),
                reason: format!("still up after {timeout:?}"),
            })
        }
    }

    /// What the caller heard (MixMonitor's `r()` file on the `;1` half: the
    /// frames it read, i.e. what the Stasis side sent to it).
    pub fn recording_rx(&self) -> PathBuf {
        self.path("-rx")
    }

    /// What the caller said (MixMonitor's `t()` file on the `;1` half: the
    /// frames written to it by its own dialplan).
    pub fn recording_tx(&self) -> PathBuf {
        self.path("-tx")
    }

    /// Both directions mixed.
    pub fn recording_mix(&self) -> PathBuf {
        self.path("")
    }

    /// What the caller heard, once the call has ended and the file is closed.
    pub fn heard(&self, timeout: Duration) -> Result<wav::Wav, HarnessError> {
        self.load(&self.recording_rx(), timeout)
    }

    /// What the caller said, once the call has ended and the file is closed.
    pub fn said(&self, timeout: Duration) -> Result<wav::Wav, HarnessError> {
        self.load(&self.recording_tx(), timeout)
    }

    fn load(&self, path: &Path, timeout: Duration) -> Result<wav::Wav, HarnessError> {
        self.wait_ended(timeout)?;
        // MixMonitor closes (and completes the header of) its files shortly
        // after the channel is gone.
        if !wait_until(timeout, || wav::is_complete(path)) {
            return Err(HarnessError::Request {
                request: format!("recording {}", path.display()),
                reason: "missing or not closed (did the call ever get answered?)".into(),
            });
        }
        Ok(wav::read(path)?)
    }

    fn path(&self, suffix: &str) -> PathBuf {
        let mut p = self.rec.clone().into_os_string();
        p.push(format!("{suffix}.wav"));
        PathBuf::from(p)
    }
}

/// How the dialplan names a WAV file: its absolute path without `.wav`
/// (8 kHz) or `.wav16` (16 kHz: Asterisk's `wav16` format, played as slin16
/// where the channel takes it).
fn playable(path: &Path) -> Result<String, HarnessError> {
    let abs = std::path::absolute(path)?;
    let text = abs.display().to_string();
    text.strip_suffix(".wav16")
        .or_else(|| text.strip_suffix(".wav"))
        .map(str::to_owned)
        .ok_or_else(|| HarnessError::Request {
            request: format!("play {text}"),
            reason: "test callers play mono 16-bit .wav (8 kHz) or .wav16 (16 kHz) files".into(),
        })
}

//! The default test dialplan (`extensions.conf`).
//!
//! A test call is a Local channel `Local/<DID>@vg-in/n`: its `;2` half runs
//! `[vg-in]` and enters `Stasis(<app>,<DID>)` exactly like an inbound call
//! (state `Ring`, `args[0]` = the DID), while its `;1` half, the "far end",
//! runs one of the `[vg-caller]` scripts. Per-call parameters are channel
//! variables set on `;1` by the originate (`VG_*`); a Local channel copies
//! them to `;2` when it dials, so `[vg-in]` sees them too.

use super::AsteriskOptions;
use std::path::Path;

/// Base name (no extension) of the silence file written into `sounds/`.
pub(super) const SILENCE: &str = "vg-silence";

pub(super) fn extensions(dir: &Path, options: &AsteriskOptions) -> String {
    let sounds = dir.join("sounds");
    let sounds = sounds.display();
    let app = &options.stasis_app;
    let mut text = format!(
        r#"[general]
static = yes
writeprotect = yes

[globals]
; The app the gateway connects as; a call can override it with VG_APP.
VG_APP = {app}
; The caller's number as the gateway sees it; a call can override it.
VG_CALLER_NUM = +15557654321
; Played in a loop by a caller that has nothing to say: MixMonitor writes
; nothing while neither side sends audio, so a silent caller must still
; send (silent) frames for its recordings to follow the clock.
VG_SILENCE = {sounds}/{SILENCE}

; The inbound half (;2): looks like an unanswered call to the DID.
[vg-in]
exten => _+X.,1,Set(CALLERID(num)=${{VG_CALLER_NUM}})
 same => n,Stasis(${{VG_APP}},${{EXTEN}})
 same => n,Hangup()
; How the inbound half ended, for tests of refusals (34 = congestion).
exten => h,1,Log(NOTICE,VG-IN-HANGUP ${{UNIQUEID}} ${{HANGUPCAUSE}})

; The far ends (;1), run once the Stasis side answers. VG_MAX (seconds,
; fractions allowed) hangs the caller up; VG_REC is the recording base path:
; VG_REC-rx.wav is what the caller heard, VG_REC-tx.wav what it said.
[vg-caller]
exten => play,1,Set(TIMEOUT(absolute)=${{VG_MAX}})
 same => n,MixMonitor(${{VG_REC}}.wav,r(${{VG_REC}}-rx.wav)t(${{VG_REC}}-tx.wav))
 same => n,Playback(${{VG_FILE}})
 same => n,Goto(vg-caller,silence,1)
exten => hangup-mid,1,Goto(vg-caller,play,1)
; Sends back what it hears, at once and at full level: a speakerphone's
; echo at its worst.
exten => echo,1,Set(TIMEOUT(absolute)=${{VG_MAX}})
 same => n,MixMonitor(${{VG_REC}}.wav,r(${{VG_REC}}-rx.wav)t(${{VG_REC}}-tx.wav))
 same => n,Echo()
exten => listen,1,Set(TIMEOUT(absolute)=${{VG_MAX}})
 same => n,MixMonitor(${{VG_REC}}.wav,r(${{VG_REC}}-rx.wav)t(${{VG_REC}}-tx.wav))
 same => n,Goto(vg-caller,silence,1)
; VG_FILE is a silence of the wanted delay; SendDTMF's 2nd argument is the gap.
exten => dtmf,1,Set(TIMEOUT(absolute)=${{VG_MAX}})
 same => n,MixMonitor(${{VG_REC}}.wav,r(${{VG_REC}}-rx.wav)t(${{VG_REC}}-tx.wav))
 same => n,Playback(${{VG_FILE}})
 same => n,SendDTMF(${{VG_DIGITS}},${{VG_DTMF_GAP}})
 same => n,Goto(vg-caller,silence,1)
; Stops (hangs up) instead of spinning if the silence file cannot be played.
exten => silence,1,Playback(${{VG_SILENCE}})
 same => n,GotoIf($["${{PLAYBACKSTATUS}}" = "SUCCESS"]?1)
 same => n,Hangup()

; Stand-ins for the gateway, to test the harness without it (Caller::into_context).
[vg-test-echo]
exten => _+X.,1,Answer()
 same => n,Echo()
[vg-test-play]
exten => _+X.,1,Answer()
 same => n,Playback(hello-world)
 same => n,Goto(vg-caller,silence,1)
; Logs "VG-DTMF <digits>" once '#' or 10 s of nothing ends the digits.
[vg-test-dtmf]
exten => _+X.,1,Answer()
 same => n,Read(DIGITS,,,,,10)
 same => n,Log(NOTICE,VG-DTMF ${{DIGITS}})
 same => n,Goto(vg-caller,silence,1)

; SIP phones (the `caller` peer and sipp guests).
[vg-sip]
exten => echo,1,Answer()
 same => n,Echo()
exten => play,1,Answer()
 same => n,Playback(hello-world)
 same => n,Hangup()
exten => _+X.,1,Goto(vg-in,${{EXTEN}},1)
exten => _X.,1,Stasis(${{VG_APP}},${{EXTEN}})
 same => n,Hangup()

"#
    );
    text.push_str(&options.extensions);
    text.push('\n');
    text
}

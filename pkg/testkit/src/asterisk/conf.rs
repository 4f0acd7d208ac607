//! The configuration files of one test instance, all written into its own
//! temporary directory so instances never share state or ports.

use super::{AsteriskOptions, dialplan};
use std::{io, path::Path};

/// Where one instance lives and what it binds.
pub(super) struct Layout<'a> {
    pub(super) dir: &'a Path,
    pub(super) prefix: &'a Path,
    pub(super) http_port: u16,
    pub(super) sip_port: u16,
    pub(super) ami_port: Option<u16>,
    pub(super) rtp: (u16, u16),
    pub(super) options: &'a AsteriskOptions,
}

/// Modules loaded explicitly (`autoload = no`): an autoloaded module may bind
/// a port on every interface by itself (chan_iax2, pbx_dundi, chan_unistim,
/// res_hep, AMI...). Found by trial: each line's dependencies are above it or
/// in the same group, and the log shows no load failure.
pub(super) const MODULES: &[&str] = &[
    // Timing (Playback, MixMonitor pacing, softmix) and config backends.
    "res_timing_timerfd",
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_astdb",
    "res_crypto",
    // Codecs and file formats (sounds and MixMonitor files are 8 kHz wav).
    "codec_ulaw",
    "codec_alaw",
    "codec_a_mu",
    "codec_resample",
    "codec_g722",
    "codec_gsm",
    "format_wav",
    "format_wav_gsm",
    "format_gsm",
    "format_pcm",
    "format_sln",
    // Bridges.
    "bridge_simple",
    "bridge_softmix",
    "bridge_native_rtp",
    "bridge_holding",
    "bridge_builtin_features",
    // Media channels and RTP.
    "res_rtp_asterisk",
    "res_rtp_multicast",
    "chan_rtp",
    "res_audiosocket",
    "chan_audiosocket",
    "app_audiosocket",
    "res_http_websocket",
    "res_websocket_client",
    "chan_websocket",
    "chan_sip",
    "chan_bridge_media",
    // ARI.
    "res_stasis",
    "res_stasis_answer",
    "res_stasis_device_state",
    "res_stasis_playback",
    "res_stasis_recording",
    "res_stasis_snoop",
    "app_stasis",
    "res_ari",
    "res_ari_model",
    "res_ari_applications",
    "res_ari_asterisk",
    "res_ari_bridges",
    "res_ari_channels",
    "res_ari_device_states",
    "res_ari_endpoints",
    "res_ari_events",
    "res_ari_playbacks",
    "res_ari_recordings",
    "res_ari_sounds",
    // Dialplan and the applications the test callers use.
    "pbx_config",
    "res_clioriginate",
    "res_musiconhold",
    "app_dial",
    "app_echo",
    "app_playback",
    "app_playtones",
    "app_mixmonitor",
    "app_senddtmf",
    "app_read",
    "app_record",
    "app_verbose",
    "app_stack",
    "app_exec",
    "app_talkdetect",
    "app_softhangup",
    "app_userevent",
    "func_callerid",
    "func_channel",
    "func_strings",
    "func_logic",
    "func_cut",
    "func_math",
    "func_global",
    "func_timeout",
    "func_jitterbuffer",
    "func_talkdetect",
    "func_hangupcause",
    "func_uuid",
    "func_volume",
];

/// Writes every configuration file and creates the directories.
pub(super) fn write_all(l: &Layout<'_>) -> io::Result<()> {
    let d = l.dir;
    for sub in [
        "etc",
        "lib/keys",
        "spool",
        "run",
        "log",
        "sounds",
        "moh",
        "recordings",
    ] {
        std::fs::create_dir_all(d.join(sub))?;
    }
    let etc = d.join("etc");
    let w = |name: &str, text: String| std::fs::write(etc.join(name), text);
    let p = l.prefix.display();
    let dd = d.display();
    w(
        "asterisk.conf",
        format!(
            "[directories]\n\
             astetcdir => {dd}/etc\n\
             astmoddir => {p}/lib/asterisk/modules\n\
             astvarlibdir => {dd}/lib\n\
             astdbdir => {dd}/lib\n\
             astkeydir => {dd}/lib\n\
             astdatadir => {p}/var/lib/asterisk\n\
             astagidir => {p}/var/lib/asterisk/agi-bin\n\
             astspooldir => {dd}/spool\n\
             astrundir => {dd}/run\n\
             astlogdir => {dd}/log\n\
             astsbindir => {p}/sbin\n\
             [options]\n\
             verbose = 3\n\
             nocolor = yes\n\
             hideconnect = yes\n\
             documentation_language = en_US\n\
             defaultlanguage = en\n"
        ),
    )?;
    let mut modules = String::from("[modules]\nautoload = no\n");
    for m in MODULES
        .iter()
        .copied()
        .chain(l.options.extra_modules.iter().map(String::as_str))
    {
        modules.push_str(&format!("load => {m}.so\n"));
    }
    w("modules.conf", modules)?;
    w(
        "logger.conf",
        "[general]\ndateformat = %F %T.%3q\n\
         [logfiles]\nmessages.log => notice,warning,error,verbose,dtmf\nconsole => error\n"
            .into(),
    )?;
    w(
        "http.conf",
        format!(
            "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {}\ntlsenable = no\n",
            l.http_port
        ),
    )?;
    w(
        "ari.conf",
        format!(
            "[general]\nenabled = yes\npretty = no\nallowed_origins = *\n\
             [{}]\ntype = user\nread_only = no\npassword = {}\npassword_format = plain\n",
            l.options.ari_user, l.options.ari_password
        ),
    )?;
    w("manager.conf", manager(l))?;
    w("sip.conf", sip(l))?;
    w(
        "rtp.conf",
        format!(
            "[general]\nrtpstart = {}\nrtpend = {}\nicesupport = no\n",
            l.rtp.0, l.rtp.1
        ),
    )?;
    w(
        "musiconhold.conf",
        format!("[general]\n[default]\nmode = files\ndirectory = {dd}/moh\n"),
    )?;
    w("indications.conf", INDICATIONS.into())?;
    w("cdr.conf", "[general]\nenable = no\n".into())?;
    w("cel.conf", "[general]\nenable = no\n".into())?;
    w("features.conf", "[general]\n".into())?;
    // Present (if empty) so the log has no errors a test could trip over.
    for empty in [
        "acl.conf",
        "udptl.conf",
        "ccss.conf",
        "websocket_client.conf",
        "chan_websocket.conf",
    ] {
        w(empty, String::new())?;
    }
    w("extensions.conf", dialplan::extensions(l.dir, l.options))?;
    Ok(())
}

/// AMI only when asked for, and then on loopback.
fn manager(l: &Layout<'_>) -> String {
    match l.ami_port {
        Some(port) => format!(
            "[general]\nenabled = yes\nbindaddr = 127.0.0.1\nport = {port}\n\
             [{}]\nsecret = {}\nread = all\nwrite = all\n",
            l.options.ari_user, l.options.ari_password
        ),
        None => "[general]\nenabled = no\n".into(),
    }
}

/// chan_sip on loopback: one registering peer for a SIP phone (`caller`) and
/// guests (sipp) land in the same test context.
fn sip(l: &Layout<'_>) -> String {
    format!(
        "[general]\n\
         context = vg-sip\n\
         allowguest = yes\n\
         udpbindaddr = 127.0.0.1:{port}\n\
         tcpenable = no\n\
         srvlookup = no\n\
         directmedia = no\n\
         disallow = all\n\
         allow = ulaw\n\
         allow = alaw\n\
         dtmfmode = rfc2833\n\
         [{user}]\n\
         type = friend\n\
         secret = {secret}\n\
         host = dynamic\n\
         context = vg-sip\n\
         directmedia = no\n\
         disallow = all\n\
         allow = ulaw\n",
        port = l.sip_port,
        user = super::SIP_USER,
        secret = super::SIP_SECRET,
    )
}

const INDICATIONS: &str = "[general]\ncountry = us\n\
[us]\ndescription = United States\nringcadence = 2000,4000\n\
dial = 350+440\nbusy = 480+620/500,0/500\nring = 440+480/2000,0/4000\n\
congestion = 480+620/250,0/250\ncallwaiting = 440/300,0/10000\n\
record = 1400/500,0/15000\ninfo = !950/330,!1400/330,!1800/330,0\n";

//! `POST /channels/externalMedia` for the three transports of Asterisk 20: UnicastRTP,
//! AudioSocket and chan_websocket (server mode). Validation order and wording follow fixture 05.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Sim;
use super::error::{ApiError, ApiResult};
use super::model::{ChanKind, Channel, Dialplan, MediaKind, Origin};
use crate::media::record::MediaFormat;
use crate::util::{timestamp, uuid_bytes, uuid4};

/// The request parameters (query string and JSON body merged).
pub(crate) type Params = HashMap<String, String>;

enum Transport {
    Rtp(SocketAddr),
    AudioSocket(SocketAddr, [u8; 16], String),
    WebSocket(String),
}

fn validate(p: &Params) -> ApiResult<(String, MediaFormat, Transport)> {
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let app = get("app").ok_or_else(|| ApiError::new(400, "app cannot be empty"))?;
    let fmt = get("format").ok_or_else(|| ApiError::new(400, "format cannot be empty"))?;
    let transport = get("transport").unwrap_or("udp");
    if transport == "websocket" {
        if get("encapsulation").is_some_and(|e| e != "none") {
            return Err(ApiError::new(
                400,
                "encapsulation must be 'none' for websocket transport",
            ));
        }
        if get("connection_type") != Some("server") {
            return Err(ApiError::new(
                400,
                "external_host must be a valid websocket_client connection id.",
            ));
        }
        let format = MediaFormat::parse(fmt).ok_or_else(ApiError::internal)?;
        return Ok((app.into(), format, Transport::WebSocket(uuid4())));
    }
    let host = get("external_host").ok_or_else(|| {
        ApiError::new(
            400,
            "external_host is required for all but websocket server connections",
        )
    })?;
    let addr: SocketAddr = host.parse().map_err(|_| {
        ApiError::new(
            400,
            "external_host must be <host>:<port> for all transports other than websocket",
        )
    })?;
    let format = MediaFormat::parse(fmt).ok_or_else(ApiError::internal)?;
    let encapsulation = get("encapsulation").unwrap_or("rtp");
    if encapsulation != "rtp" && encapsulation != "audiosocket" {
        return Err(ApiError::new(
            501,
            "The encapsulation and/or transport is not supported",
        ));
    }
    if encapsulation == "rtp" && transport != "udp" {
        return Err(ApiError::new(
            400,
            "transport must be 'udp' for rtp encapsulation",
        ));
    }
    if encapsulation == "audiosocket" && transport != "tcp" {
        return Err(ApiError::new(
            400,
            "transport must be 'tcp' for audiosocket encapsulation",
        ));
    }
    if get("connection_type").is_some_and(|c| c == "server") {
        return Err(ApiError::new(
            400,
            "'server' connection_type can only be used with the websocket transport",
        ));
    }
    if encapsulation == "audiosocket" {
        let data = get("data").ok_or_else(|| ApiError::new(400, "data can not be empty"))?;
        let uuid = uuid_bytes(data).ok_or_else(ApiError::internal)?;
        return Ok((
            app.into(),
            format,
            Transport::AudioSocket(addr, uuid, data.to_string()),
        ));
    }
    Ok((app.into(), format, Transport::Rtp(addr)))
}

fn fmt_name(f: MediaFormat) -> &'static str {
    match f {
        MediaFormat::Ulaw => "ulaw",
        MediaFormat::Alaw => "alaw",
        MediaFormat::Slin => "slin",
        MediaFormat::Slin16 => "slin16",
    }
}

/// Creates the channel; the events follow (`Dial` at once; `ChannelStateChange`,
/// `Dial ANSWER`, `StasisStart` after `external_media_stasis_delay`), as in fixture 01.
pub(crate) async fn create(sim: &Arc<Sim>, p: &Params) -> ApiResult<Value> {
    let (app, format, transport) = validate(p)?;
    let id = match p.get("channelId").filter(|c| !c.is_empty()) {
        Some(c) if sim.lock().channels.contains_key(c) => return Err(ApiError::internal()),
        Some(c) => c.clone(),
        None => sim.lock().new_channel_id(),
    };
    let ptr = format!(
        "0x{:012x}",
        fastrand::u64(0x7f00_0000_0000..0x7fff_ffff_ffff)
    );
    let (name, vars, dialstring, args, kind) = match &transport {
        Transport::Rtp(dest) => {
            let local = crate::media::rtp::open(&sim.media, &id, *dest, format)
                .await
                .map_err(|_| ApiError::internal())?;
            let vars = json!({
                "UNICASTRTP_LOCAL_PORT": local.port().to_string(),
                "UNICASTRTP_LOCAL_ADDRESS": local.ip().to_string(),
            });
            (
                format!("UnicastRTP/{dest}-{ptr}"),
                vars,
                format!("{dest}/c({})", fmt_name(format)),
                vec![],
                MediaKind::Rtp,
            )
        }
        Transport::AudioSocket(peer, uuid, text) => {
            let (tx, gone) = crate::media::audiosocket::open(&sim.media, &id, *peer, *uuid, format)
                .await
                .map_err(|_| ApiError::internal())?;
            watch_audiosocket_close(sim, &id, gone);
            let vars = json!({ "AUDIOSOCKET_SERVICE": peer.to_string(), "AUDIOSOCKET_UUID": text });
            (
                format!("AudioSocket/{peer}-{text}"),
                vars,
                format!("{peer}/{text}"),
                vec![text.clone()],
                MediaKind::AudioSocket { dtmf: tx },
            )
        }
        Transport::WebSocket(conn) => {
            let vars = json!({
                "MEDIA_WEBSOCKET_CONNECTION_ID": conn,
                "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": (format.samples_per_frame() * if format == MediaFormat::Ulaw || format == MediaFormat::Alaw { 1 } else { 2 }).to_string(),
            });
            (
                format!("WebSocket/INCOMING/{ptr}"),
                vars,
                format!("INCOMING/c({})", fmt_name(format)),
                vec![],
                MediaKind::WebSocket { conn: conn.clone() },
            )
        }
    };
    let mut st = sim.lock();
    let registered = st.app_registered(&app);
    let mut var_map: HashMap<String, String> = HashMap::new();
    if let Value::Object(m) = &vars {
        for (k, v) in m {
            var_map.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    let ch = Channel {
        id: id.clone(),
        name,
        state: "Down",
        protocol_id: String::new(),
        caller: Default::default(),
        connected: Default::default(),
        dialplan: Dialplan::outgoing("default", "s"),
        creationtime: timestamp(),
        vars: var_map,
        channelvars: Some(vars),
        app: registered.then(|| app.clone()),
        in_stasis: false,
        origin: Origin::Ari,
        kind: ChanKind::Media { kind, format },
        bridge: None,
        call: None,
        talk_detect: None,
        playbacks: Default::default(),
        args: vec![],
    };
    let resp = ch.json_with_vars();
    st.channels.insert(id.clone(), ch);
    if !registered {
        // "Stasis app … doesn't exist": 200, and the channel is gone half a second later.
        let id2 = id.clone();
        sim.after(Duration::from_millis(500), move |sim, st| {
            st.channels.remove(&id2);
            sim.media.close(&id2);
        });
        return Ok(resp);
    }
    st.chan_event(
        &id,
        "Dial",
        json!({"dialstatus": "", "forward": "", "dialstring": dialstring}),
    );
    // The real Asterisk answers the POST while the channel is still `Down` and puts it
    // into Stasis afterwards (fixture 01; on Asterisk 20.20.1 the `StasisStart` followed
    // the 200 in about 49 of 50 calls): until then `bridges/addChannel` refuses it with
    // 422 "Channel not in Stasis application". A client that bridges the channel before
    // its `StasisStart` fails here as it would there.
    let enter = move |_: &Arc<Sim>, st: &mut super::State| {
        if !st.channels.contains_key(&id) {
            return;
        }
        st.set_state(&id, "Up");
        st.chan_event(
            &id,
            "Dial",
            json!({"dialstatus": "ANSWER", "forward": "", "dialstring": dialstring}),
        );
        st.stasis_start(&id, &app, args);
    };
    match sim.cfg.external_media_stasis_delay {
        Some(delay) => sim.after(delay, enter),
        None => enter(sim, &mut st),
    }
    Ok(resp)
}

/// The peer's `0x00` (or a dropped connection) ends the channel: `StasisEnd` and
/// `ChannelDestroyed`, with no `ChannelHangupRequest` (fixture 12).
fn watch_audiosocket_close(sim: &Arc<Sim>, id: &str, gone: tokio::sync::oneshot::Receiver<()>) {
    let (sim, id) = (Arc::clone(sim), id.to_string());
    let epoch = sim.epoch.load(std::sync::atomic::Ordering::SeqCst);
    tokio::spawn(async move {
        if gone.await.is_ok() {
            let mut st = sim.lock();
            if st.epoch == epoch && st.channels.contains_key(&id) {
                st.teardown(&sim, &id, 16, false);
            }
        }
    });
}

//! The fake's synthesis side: one HTTP/1.1 request per connection, answered
//! with chunked raw audio (`Connection: close`).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Shared, TtsFault, TtsLog, lock};
use crate::adapter::speech::azure::tts::format_named;

/// Bound on the request head and body.
const MAX_REQUEST: usize = 64 * 1024;
/// Audio per character of text.
const PER_CHAR_MS: usize = 40;

pub(super) async fn serve(mut tcp: TcpStream, state: Shared) {
    let Some((head, body)) = read_request(&mut tcp).await else {
        return;
    };
    let reply = answer(&head, &body, &state);
    let _ = match reply {
        Reply::Status(code, why) => write_status(&mut tcp, code, why).await,
        Reply::Audio { audio, truncate } => write_audio(&mut tcp, &audio, truncate).await,
    };
}

enum Reply {
    Status(u16, &'static str),
    Audio { audio: Vec<u8>, truncate: bool },
}

struct Head {
    request_line: String,
    headers: Vec<(String, String)>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

async fn read_request(tcp: &mut TcpStream) -> Option<(Head, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 || buf.len() > MAX_REQUEST {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let text = String::from_utf8_lossy(&buf[..end]).into_owned();
    let mut lines = text.split("\r\n");
    let request_line = lines.next()?.to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let head = Head {
        request_line,
        headers,
    };
    let length: usize = head.header("content-length")?.parse().ok()?;
    if length > MAX_REQUEST {
        return None;
    }
    let mut body = buf[end + 4..].to_vec();
    while body.len() < length {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some((head, body))
}

fn answer(head: &Head, body: &[u8], state: &Shared) -> Reply {
    let mut s = lock(state);
    if head.request_line != "POST /cognitiveservices/v1 HTTP/1.1" {
        return Reply::Status(404, "not found");
    }
    let key = head.header("ocp-apim-subscription-key");
    if !s.authorized(key, head.header("authorization")) {
        return Reply::Status(401, "");
    }
    let fault = s.tts_faults.pop_front();
    match fault {
        Some(TtsFault::Throttled) => return Reply::Status(429, "too many requests"),
        Some(TtsFault::Status(code)) => return Reply::Status(code, "scripted failure"),
        _ => {}
    }
    let format = head.header("x-microsoft-outputformat").unwrap_or_default();
    let Some(audio_format) = format_named(format) else {
        return Reply::Status(400, "unsupported X-Microsoft-OutputFormat");
    };
    if head.header("content-type") != Some("application/ssml+xml") {
        return Reply::Status(400, "Content-Type must be application/ssml+xml");
    }
    let ssml = String::from_utf8_lossy(body);
    let Some(mut log) = parse_ssml(&ssml) else {
        s.violation(format!("malformed SSML: {ssml:?}"));
        return Reply::Status(400, "SSML parse error");
    };
    log.format = format.to_owned();
    let audio = tone(
        log.text.chars().count(),
        audio_format.rate,
        audio_format.mulaw,
    );
    s.log.tts.push(log);
    Reply::Audio {
        audio,
        truncate: fault == Some(TtsFault::DisconnectMidBody),
    }
}

/// `<speak … xml:lang="L"><voice name="V">TEXT</voice></speak>`, with TEXT
/// unescaped; `None` if the document is not that, or the text holds a raw
/// `<`, `>` or an `&` that starts no entity.
fn parse_ssml(ssml: &str) -> Option<TtsLog> {
    let rest = ssml.strip_prefix("<speak ")?;
    let (speak_attrs, rest) = rest.split_once('>')?;
    let language = attribute(speak_attrs, "xml:lang")?;
    let rest = rest.strip_prefix("<voice ")?;
    let (voice_attrs, rest) = rest.split_once('>')?;
    let voice = attribute(voice_attrs, "name")?;
    let text = rest.strip_suffix("</voice></speak>")?;
    Some(TtsLog {
        text: unescape(text)?,
        voice: unescape(&voice)?,
        language: unescape(&language)?,
        format: String::new(),
    })
}

fn attribute(attrs: &str, name: &str) -> Option<String> {
    let start = attrs.find(&format!("{name}=\""))? + name.len() + 2;
    let len = attrs[start..].find('"')?;
    Some(attrs[start..start + len].to_owned())
}

fn unescape(text: &str) -> Option<String> {
    if text.contains(['<', '>']) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let (entity, tail) = rest[i..].split_once(';')?;
        out.push(match entity {
            "&amp" => '&',
            "&lt" => '<',
            "&gt" => '>',
            "&quot" => '"',
            "&apos" => '\'',
            _ => return None,
        });
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

/// A 300 Hz tone, `PER_CHAR_MS` per character, in the asked format.
fn tone(chars: usize, rate: u32, mulaw: bool) -> Vec<u8> {
    use media::codec::{Codec, Pcmu};
    let samples = chars.max(1) * PER_CHAR_MS * rate as usize / 1000;
    let pcm: Vec<i16> = (0..samples)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            (8000.0 * (std::f64::consts::TAU * 300.0 * t).sin()) as i16
        })
        .collect();
    if mulaw {
        let mut out = vec![0u8; pcm.len()];
        let _ = Pcmu::new().encode(&pcm, &mut out);
        out
    } else {
        pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
    }
}

async fn write_status(tcp: &mut TcpStream, code: u16, why: &str) -> std::io::Result<()> {
    let retry = if code == 429 {
        "Retry-After: 1\r\n"
    } else {
        ""
    };
    let head = format!(
        "HTTP/1.1 {code} Fake\r\n{retry}Content-Type: text/plain\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{why}",
        why.len()
    );
    tcp.write_all(head.as_bytes()).await
}

/// The audio in 20 ms-ish chunks; `truncate`: half of it, then a reset.
async fn write_audio(tcp: &mut TcpStream, audio: &[u8], truncate: bool) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: audio/basic\r\nTransfer-Encoding: chunked\r\n\
                Connection: close\r\n\r\n";
    tcp.write_all(head.as_bytes()).await?;
    let upto = if truncate {
        audio.len() / 2
    } else {
        audio.len()
    };
    for piece in audio[..upto].chunks(640) {
        let mut chunk = format!("{:x}\r\n", piece.len()).into_bytes();
        chunk.extend_from_slice(piece);
        chunk.extend_from_slice(b"\r\n");
        tcp.write_all(&chunk).await?;
        tcp.flush().await?;
    }
    if truncate {
        // Dropping the socket with unread data is not guaranteed to reset;
        // the missing final chunk is what the client must notice.
        return tcp.shutdown().await;
    }
    tcp.write_all(b"0\r\n\r\n").await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::speech::azure::tts::ssml;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_ssml_never_panics(text in ".{0,200}") {
            let _ = parse_ssml(&text);
            let _ = parse_ssml(&format!("<speak {text}"));
        }

        #[test]
        fn what_the_adapter_builds_reads_back_whole(
            lang in "[a-zA-Z-]{1,10}", voice in ".{1,20}", text in ".{0,80}",
        ) {
            let log = parse_ssml(&ssml(&lang, &voice, &text)).expect("well-formed");
            prop_assert_eq!(log.language, lang);
            // Control characters become spaces in XML.
            let clean = |s: &str| -> String {
                s.chars()
                    .map(|c| if c.is_control() && !matches!(c, '\t' | '\n' | '\r') { ' ' } else { c })
                    .collect()
            };
            prop_assert_eq!(log.voice, clean(&voice));
            prop_assert_eq!(log.text, clean(&text));
        }
    }
}

//! SIPp as the callers: one UAC scenario (INVITE with PCMU, ACK, the
//! caller's µ-law file as continuous RTP with `rtp_stream`, BYE at its end),
//! run for one step's calls at a fixed rate.
//!
//! SIPp 3.6 sends every call's RTP from its one media socket (`-mp`) to the
//! address in each call's 200 OK; what Asterisk sends back there is not read
//! (the kernel drops it once the socket's buffer is full).

use crate::{caller::Plan, procfs::Proc};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

/// The DID dialled; `[vg-sip]` hands it to the Stasis app.
pub(crate) const DID: &str = "15551234567";

/// The scenario, with the caller file and the call's length filled in.
pub(crate) fn scenario(ulaw: &Path, call: Duration) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="voice-gateway bench-sip caller">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:caller[call_number]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:caller[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP[local_ip_type] [local_ip]
      s=bench-sip
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0
      a=rtpmap:0 PCMU/8000
      a=ptime:20
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:caller[call_number]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:caller[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <nop><action><exec rtp_stream="{file},1,0"/></action></nop>
  <pause milliseconds="{ms}"/>
  <send retrans="500">
    <![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:caller[call_number]@[local_ip]:[local_port]>;tag=[pid]T[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 2 BYE
      Contact: <sip:caller[call_number]@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200" crlf="true"/>
  <ResponseTimeRepartition value="100, 500, 1000, 5000"/>
</scenario>
"#,
        file = ulaw.display(),
        ms = call.as_millis(),
    )
}

/// A running SIPp for one step; killed on drop if still running.
pub(crate) struct Sipp {
    pub(crate) proc: Proc,
    stats: PathBuf,
}

impl Sipp {
    /// Starts `plan.calls` calls at `rate` a second to chan_sip on `sip_port`.
    pub(crate) fn start(
        bin: &Path,
        dir: &Path,
        sip_port: u16,
        plan: &Plan,
        rate: u32,
    ) -> std::io::Result<Self> {
        let ulaw = dir.join("caller.ulaw");
        crate::caller::write_ulaw(&ulaw, plan)?;
        let xml = dir.join("caller.xml");
        std::fs::write(&xml, scenario(&ulaw, plan.call_length()))?;
        let stats = dir.join("sipp-stats.csv");
        let n = plan.calls.to_string();
        let mut cmd = Command::new(bin);
        cmd.arg(format!("127.0.0.1:{sip_port}"))
            .args(["-sf"])
            .arg(&xml)
            .args(["-s", DID, "-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &free_udp_port()?.to_string()])
            .args(["-mp", &free_udp_port()?.to_string()])
            .args(["-m", &n, "-l", &n, "-r", &rate.to_string()])
            // Every call is up at once; 20 per RTP thread is SIPp's default.
            .args(["-rtp_threadtasks", "20", "-nostdin"])
            .args(["-trace_stat", "-fd", "1", "-stf"])
            .arg(&stats)
            .args(["-trace_err", "-error_file"])
            .arg(dir.join("sipp-errors.log"))
            // Stop by itself if calls hang: the call's length plus a minute.
            .args([
                "-timeout",
                &format!("{}s", plan.call_length().as_secs() + 60),
            ])
            .current_dir(dir);
        let proc = Proc::spawn(cmd, &dir.join("sipp.out"))?;
        Ok(Self { proc, stats })
    }

    /// Successful and failed calls from SIPp's statistics file (its last line).
    pub(crate) fn counts(&self) -> Option<(u64, u64)> {
        parse_stats(&std::fs::read_to_string(&self.stats).ok()?)
    }
}

/// `SuccessfulCall(C)` and `FailedCall(C)` of the last row of a `-trace_stat` file.
pub(crate) fn parse_stats(csv: &str) -> Option<(u64, u64)> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines.next()?.split(';').collect();
    let last: Vec<&str> = lines.next_back()?.split(';').collect();
    let col = |name: &str| -> Option<u64> {
        let i = header.iter().position(|h| *h == name)?;
        last.get(i)?.trim().parse().ok()
    };
    Some((col("SuccessfulCall(C)")?, col("FailedCall(C)")?))
}

fn free_udp_port() -> std::io::Result<u16> {
    Ok(std::net::UdpSocket::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scenario_plays_the_file_once_and_hangs_up_at_its_end() {
        let xml = scenario(Path::new("/tmp/x/caller.ulaw"), Duration::from_secs(36));
        assert!(
            xml.contains(r#"rtp_stream="/tmp/x/caller.ulaw,1,0""#),
            "{xml}"
        );
        assert!(xml.contains(r#"<pause milliseconds="36000"/>"#), "{xml}");
        assert!(xml.contains("m=audio [media_port] RTP/AVP 0"), "{xml}");
    }

    #[test]
    fn stats_come_from_the_last_row() {
        let csv = "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\n\
                   t0;0;0;0;0;\nt1;5;48;0;2;\n";
        assert_eq!(parse_stats(csv), Some((48, 2)));
        assert_eq!(parse_stats("StartTime;\nt0;\n"), None);
        assert_eq!(parse_stats(""), None);
    }
}

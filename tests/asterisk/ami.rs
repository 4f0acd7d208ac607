//! The gateway's AMI client against the real Asterisk's manager: login,
//! Originate, Redirect and Hangup by the channel ids ARI uses, and the
//! manager's own refusals.

use crate::{
    calls::T,
    rig::{Rig, Setup},
};
use std::time::Duration;
use vg_testkit::wait_until;
use voice_gateway::adapter::ami::{AmiClient, AmiConfig, AmiError, AmiOriginate};

const DIALPLAN: &str = "
[vg-ami]
exten => hold,1,Answer()
 same => n,Wait(60)
 same => n,Hangup()
exten => landed,1,Log(NOTICE,VG-AMI-LANDED ${CHANNEL(uniqueid)})
 same => n,Wait(60)
 same => n,Hangup()
";

fn client(rig: &Rig, secret: &str) -> AmiClient {
    let port = rig.ast.ami_port().expect("AMI enabled");
    AmiClient::new(AmiConfig {
        address: format!("127.0.0.1:{port}"),
        username: rig.ast.ari_user().to_owned(),
        secret: secret.to_owned(),
        timeout: Duration::from_secs(5),
    })
}

#[test]
fn the_ami_client_drives_the_real_manager() {
    let rig = Rig::start_with(Setup {
        ami: true,
        extensions: DIALPLAN.into(),
        ..Setup::default()
    });
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let e = runtime
        .block_on(client(&rig, "wrong").hangup("nobody", 16))
        .unwrap_err();
    assert!(matches!(e, AmiError::LoginFailed(_)), "{e}");

    let ami = client(&rig, rig.ast.ari_password());
    let id = "ami-o-1";
    runtime
        .block_on(ami.originate(&AmiOriginate {
            channel: "Local/hold@vg-ami".into(),
            channel_id: Some(id.into()),
            application: Some(("Wait".into(), "60".into())),
            timeout: Duration::from_secs(10),
            ..AmiOriginate::default()
        }))
        .unwrap();
    let up = |rig: &Rig| rig.ast.ari_get(&format!("/channels/{id}")).is_ok();
    assert!(wait_until(T, || up(&rig)), "the originated channel is up");

    runtime
        .block_on(ami.redirect(id, "vg-ami", "landed", 1))
        .unwrap();
    let line = format!("VG-AMI-LANDED {id}");
    assert!(
        wait_until(T, || rig.ast.log_text().contains(&line)),
        "the redirected channel ran the new location"
    );

    // The id ARI knows the channel by is its unique id, which the manager's
    // Hangup and Redirect accept in place of a name.
    runtime.block_on(ami.hangup(id, 16)).unwrap();
    assert!(wait_until(T, || !up(&rig)), "the channel is gone");
    let e = runtime.block_on(ami.hangup(id, 16)).unwrap_err();
    assert!(e.is_no_such_channel(), "{e}");
    let e = runtime
        .block_on(ami.redirect("none-such", "vg-ami", "landed", 1))
        .unwrap_err();
    assert!(matches!(e, AmiError::Refused { .. }), "{e}");
    let e = runtime
        .block_on(ami.hangup("x\r\nAction: Originate", 16))
        .unwrap_err();
    assert!(matches!(e, AmiError::Invalid { .. }), "{e}");
    rig.finish();
}

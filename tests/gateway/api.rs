//! The call API end to end: JWT in, a real call placed on the simulator,
//! followed to answered and ended; another tenant sees nothing of it.

use crate::support::{events_path, wait_for};
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use vg_asterisk_sim::{Outcome, SimConfig, Simulator};
use voice_gateway::{adapter::config::load_from_str, server::Gateway};

pub(crate) const SECRET: &str = "test-secret-of-at-least-thirty-two-bytes!";

pub(crate) fn token(tenant: &str, scope: &str) -> String {
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 600;
    let claims = json!({"sub": "crm", "tenant_id": tenant, "scope": scope, "exp": exp});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originate_follow_and_hang_up_through_the_api() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    sim.set_outcome(
        "+15550000003",
        Outcome::Answer {
            after: Duration::from_millis(200),
        },
    );
    let (user, pass) = sim.credentials();
    let cfg = load_from_str(
        &format!(
            "[http]\nlisten = \"127.0.0.1:0\"\n[ari]\nurl = \"{}\"\nusername = \"{user}\"\npassword = \"{pass}\"\n\
             [events]\npath = \"{}\"\n[speech]\nstt = \"fake\"\ntts = \"fake\"\n\
             [media]\nrtp_port_range = \"31400-31499\"\n[auth]\njwt_secret = \"{SECRET}\"\n\
             [dialing.tenants.acme]\ncaller_ids = [\"+1555000\"]\n",
            sim.base_url(),
            events_path()
        ),
        Vec::new(),
    )
    .unwrap();
    let gw = Gateway::bind(cfg).await.unwrap();
    let base = format!("http://{}", gw.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(gw.run(async {
        let _ = stopped.await;
    }));
    wait_for(&base, "/readyz", |c, _| c == 200).await;
    let http = reqwest::Client::new();
    let acme = token("acme", "calls:read calls:write");

    let res = http
        .post(format!("{base}/v1/calls"))
        .json(&json!({"to": "+15550000003", "agent_id": "builtin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "no token, no call");
    assert!(res.headers().contains_key("www-authenticate"));

    let res = http
        .post(format!("{base}/v1/calls"))
        .bearer_auth(&acme)
        .json(&json!({"to": "+15550000003", "from": "+15550001111", "agent_id": "builtin", "metadata": {"crm": "7"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let call: Value = res.json().await.unwrap();
    let id = call["call_id"].as_str().unwrap().to_owned();

    let get = async |tok: &str| {
        let r = http
            .get(format!("{base}/v1/calls/{id}"))
            .bearer_auth(tok)
            .send()
            .await
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<Value>().await.unwrap_or_default(),
        )
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while get(&acme).await.1["state"] != "active" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never active: {:?}",
            get(&acme).await
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(sim.originates()[0].endpoint, "PJSIP/+15550000003@trunk");
    let other = token("globex", "calls:read calls:write");
    assert_eq!(
        get(&other).await.0,
        404,
        "another tenant's call does not exist for it"
    );
    let list: Value = http
        .get(format!("{base}/v1/calls"))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["calls"].as_array().unwrap().len(), 0);

    let read_only = token("acme", "calls:read");
    let r = http
        .post(format!("{base}/v1/calls/{id}/hangup"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{base}/v1/calls/{id}/hangup"))
        .bearer_auth(&acme)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    while get(&acme).await.1["state"] != "ended" {
        assert!(tokio::time::Instant::now() < deadline, "never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, rec) = get(&acme).await;
    assert_eq!(rec["end_reason"], "agent_hangup");
    assert_eq!(rec["metadata"]["crm"], "7");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

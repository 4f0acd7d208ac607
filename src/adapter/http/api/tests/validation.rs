//! Input checks: each bad input is a 4xx problem naming its field, and
//! nothing reaches the port.

use super::*;

async fn create(app: &App, body: Value) -> Reply {
    app.post("/v1/calls", body).await
}

fn with(field: &str, v: Value) -> Value {
    let mut b = originate_body();
    b[field] = v;
    b
}

#[tokio::test]
async fn dial_string_injection_and_bad_numbers_are_rejected() {
    let app = App::hs();
    for bad in [
        "+1555&Dial(PJSIP/evil)",
        "+1555&Local/x",
        "PJSIP/x",
        "PJSIP/+15551234567@trunk",
        "15551234567",
        "+1 555 123 4567",
        "+1555123456${EXTEN}",
        "+1555abc",
        "+1234567890123456",
        "+0123",
        "+",
        "",
        "+15551234567\n",
        "+١٢٣٤",
    ] {
        let r = create(&app, with("to", json!(bad))).await;
        assert_eq!(
            r.problem(422, "invalid-number").as_deref(),
            Some("to"),
            "{bad:?}"
        );
    }
    let r = create(&app, with("from", json!("Local/1@default"))).await;
    assert_eq!(r.problem(422, "invalid-number").as_deref(), Some("from"));
    assert!(app.fake.log().is_empty());
}

#[tokio::test]
async fn field_checks_name_their_field() {
    let app = App::hs();
    let cases = [
        (with("agent_id", json!("a/b")), "invalid-field", "agent_id"),
        (
            with("ring_timeout_secs", json!(4)),
            "invalid-field",
            "ring_timeout_secs",
        ),
        (
            with("ring_timeout_secs", json!(121)),
            "invalid-field",
            "ring_timeout_secs",
        ),
        (
            with("ring_timeout_secs", json!("30")),
            "invalid-field",
            "ring_timeout_secs",
        ),
        (
            with("metadata", json!({"k": 1})),
            "invalid-field",
            "metadata.k",
        ),
        (
            with("metadata", json!({"k": "v".repeat(513)})),
            "invalid-field",
            "metadata.k",
        ),
        (
            with("metadata", json!({"k".repeat(65): "v"})),
            "invalid-field",
            "metadata",
        ),
        (with("extra", json!(1)), "unknown-field", "extra"),
        (json!({"agent_id": "sales"}), "invalid-field", "to"),
    ];
    for (body, kind, field) in cases {
        let got = create(&app, body.clone()).await.problem(422, kind);
        assert_eq!(got.as_deref().unwrap_or(""), field, "{body}");
    }
    let many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("k{i}"), json!("v"))).collect();
    let r = create(&app, with("metadata", Value::Object(many))).await;
    assert_eq!(r.problem(422, "invalid-field").as_deref(), Some("metadata"));
    let ok: serde_json::Map<String, Value> = (0..32)
        .map(|i| (format!("{i:k>64}"), json!("v".repeat(300))))
        .collect();
    assert_eq!(
        create(&app, with("metadata", Value::Object(ok)))
            .await
            .status,
        StatusCode::CREATED
    );
    let longest = with("metadata", json!({"k": "é".repeat(512)}));
    assert_eq!(
        create(&app, longest).await.status,
        StatusCode::CREATED,
        "512 characters, not bytes"
    );
}

#[tokio::test]
async fn action_bodies_are_checked() {
    let app = App::hs();
    app.post("/v1/calls", originate_body()).await;
    let p = "/v1/calls/call-0";
    let cases = [
        (
            "transfer",
            json!({"target": "PJSIP/agent", "mode": "blind"}),
            422,
            "invalid-number",
            "target",
        ),
        (
            "transfer",
            json!({"target": "+15551234567", "mode": "warm"}),
            422,
            "invalid-field",
            "mode",
        ),
        (
            "transfer",
            json!({"target": "100"}),
            422,
            "invalid-field",
            "mode",
        ),
        ("say", json!({"text": ""}), 422, "invalid-field", "text"),
        (
            "say",
            json!({"text": "x".repeat(2001)}),
            422,
            "invalid-field",
            "text",
        ),
        (
            "say",
            json!({"text": "hi", "voice": "x"}),
            422,
            "unknown-field",
            "voice",
        ),
        ("dtmf", json!({"digits": ""}), 422, "invalid-dtmf", "digits"),
        (
            "dtmf",
            json!({"digits": "12E"}),
            422,
            "invalid-dtmf",
            "digits",
        ),
        (
            "dtmf",
            json!({"digits": "1".repeat(33)}),
            422,
            "invalid-dtmf",
            "digits",
        ),
    ];
    for (action, body, status, kind, field) in cases {
        let got = app
            .post(&format!("{p}/{action}"), body.clone())
            .await
            .problem(status, kind);
        assert_eq!(got.as_deref().unwrap_or(""), field, "{action} {body}");
    }
    assert_eq!(
        app.post(&format!("{p}/say"), json!({"text": "x".repeat(2000)}))
            .await
            .status,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        app.fake.log().len(),
        2,
        "only the originate and the valid say reached the port"
    );
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = App::hs();
    let trailing = format!("{} {{}}", originate_body());
    for raw in ["{\"to\": ", "not json", trailing.as_str(), ""] {
        let req = Request::post("/v1/calls")
            .header("authorization", format!("Bearer {}", token(json!({}))))
            .header("content-type", "application/json")
            .body(Body::from(raw.to_owned()))
            .unwrap();
        app.send(req).await.problem(400, "malformed-json");
    }
}

#[tokio::test]
async fn wrong_or_missing_content_type_is_415() {
    let app = App::hs();
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let mut b = Request::post("/v1/calls")
            .header("authorization", format!("Bearer {}", token(json!({}))));
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let r = app
            .send(b.body(Body::from(originate_body().to_string())).unwrap())
            .await;
        r.problem(415, "unsupported-media-type");
    }
    let ok = Request::post("/v1/calls")
        .header("authorization", format!("Bearer {}", token(json!({}))))
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(originate_body().to_string()))
        .unwrap();
    assert_eq!(app.send(ok).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = App::hs();
    let r = app
        .post(
            "/v1/calls/call-0/say",
            json!({"text": "x".repeat(17 * 1024)}),
        )
        .await;
    r.problem(413, "payload-too-large");
    let mut cfg = hs_config();
    cfg.max_body_bytes = 64;
    let small = App::new(cfg);
    small
        .post("/v1/calls", with("metadata", json!({"k": "v".repeat(64)})))
        .await
        .problem(413, "payload-too-large");
}

#[tokio::test]
async fn bad_path_ids_are_4xx() {
    let app = App::hs();
    let long = "x".repeat(65);
    for id in ["bad%20id", "a%2Fb", "PJSIP%2Fx", long.as_str()] {
        let r = app.get(&format!("/v1/calls/{id}")).await;
        assert_eq!(
            r.problem(422, "invalid-call-id").as_deref(),
            Some("id"),
            "{id}"
        );
    }
    assert!(app.fake.log().is_empty());
}

#[tokio::test]
async fn bad_list_queries_are_4xx() {
    let app = App::hs();
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("state=bogus", "state"),
        ("cursor=%00", "cursor"),
    ] {
        let got = app
            .get(&format!("/v1/calls?{q}"))
            .await
            .problem(422, "invalid-field");
        assert_eq!(got.as_deref(), Some(field), "{q}");
    }
    let got = app
        .get("/v1/calls?limit=abc")
        .await
        .problem(422, "invalid-query");
    assert_eq!(got.as_deref(), Some("limit"));
    let got = app
        .get("/v1/calls?color=red")
        .await
        .problem(422, "invalid-query");
    assert_eq!(got.as_deref(), Some("color"));
}

#[tokio::test]
async fn machine_detection_fields_go_together() {
    let app = App::hs();
    let body = |fields: Value| {
        let mut b = originate_body();
        for (k, v) in fields.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let refused = [
        (json!({"machine_action": "hangup"}), "machine_action"),
        (
            json!({"detect_machine": false, "machine_action": "hangup"}),
            "machine_action",
        ),
        (json!({"machine_message": "hi"}), "machine_message"),
        (
            json!({"detect_machine": true, "machine_action": "message"}),
            "machine_message",
        ),
        (
            json!({"detect_machine": true, "machine_action": "hangup", "machine_message": "hi"}),
            "machine_message",
        ),
        (
            json!({"detect_machine": true, "machine_message": "hi"}),
            "machine_message",
        ),
        (
            json!({"detect_machine": true, "machine_action": "message", "machine_message": "  "}),
            "machine_message",
        ),
        (
            json!({"detect_machine": true, "machine_action": "message", "machine_message": "x".repeat(2001)}),
            "machine_message",
        ),
    ];
    for (fields, field) in refused {
        let r = create(&app, body(fields.clone())).await;
        assert_eq!(
            r.problem(422, "invalid-field").as_deref(),
            Some(field),
            "{fields}: {:?}",
            r.body
        );
    }
    // Not a known action, or not a boolean: refused by the body's shape.
    for fields in [
        json!({"detect_machine": true, "machine_action": "voicemail"}),
        json!({"detect_machine": "yes"}),
    ] {
        let r = create(&app, body(fields.clone())).await;
        assert!(r.status.is_client_error(), "{fields}: {:?}", r.status);
    }
    assert!(app.fake.log().is_empty(), "{:?}", app.fake.log());

    for (fields, logged) in [
        (json!({"detect_machine": true}), " detect_machine=continue"),
        (
            json!({"detect_machine": true, "machine_action": "hangup"}),
            " detect_machine=hangup",
        ),
        (
            json!({"detect_machine": true, "machine_action": "message", "machine_message": "Call us back."}),
            " detect_machine=message \"Call us back.\"",
        ),
        (json!({"detect_machine": false}), ""),
    ] {
        let r = create(&app, body(fields.clone())).await;
        assert_eq!(r.status, StatusCode::CREATED, "{fields}: {:?}", r.body);
        let log = app.fake.log();
        assert_eq!(
            log.last().unwrap(),
            &format!("originate acme +15551234567 sales 30s{logged}")
        );
    }
}

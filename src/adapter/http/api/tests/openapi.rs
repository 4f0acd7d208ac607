//! The generated OpenAPI document and the docs page.

use super::*;

#[tokio::test]
async fn openapi_lists_every_route_and_operation() {
    let app = App::hs();
    let r = app.req(Method::GET, "/openapi.json", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let doc = r.body;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let expected = [
        ("/v1/calls", "post"),
        ("/v1/calls", "get"),
        ("/v1/calls/{id}", "get"),
        ("/v1/calls/{id}/hangup", "post"),
        ("/v1/calls/{id}/transfer", "post"),
        ("/v1/calls/{id}/say", "post"),
        ("/v1/calls/{id}/dtmf", "post"),
    ];
    let mut count = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        count += ops.as_object().unwrap().len();
        for (m, op) in ops.as_object().unwrap() {
            assert!(
                expected.contains(&(path.as_str(), m.as_str())),
                "undocumented {m} {path}"
            );
            assert!(
                op["security"][0]["bearer"].is_array(),
                "{m} {path} has no security"
            );
        }
    }
    assert_eq!(count, expected.len());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for s in [
        "CreateCallRequest",
        "CallView",
        "CallPage",
        "Problem",
        "TransferRequest",
        "SayRequest",
        "DtmfRequest",
    ] {
        assert!(doc["components"]["schemas"][s].is_object(), "schema {s}");
    }
}

#[tokio::test]
async fn responses_carry_the_fields_their_schema_requires() {
    let app = App::hs();
    let doc = app
        .req(Method::GET, "/openapi.json", None, None, &[])
        .await
        .body;
    let check = |schema: &str, v: &Value| {
        let s = &doc["components"]["schemas"][schema];
        for f in s["required"].as_array().unwrap() {
            assert!(
                v.get(f.as_str().unwrap()).is_some(),
                "{schema} lacks {f}: {v}"
            );
        }
        for k in v.as_object().unwrap().keys() {
            assert!(
                s["properties"].get(k).is_some(),
                "{schema} does not describe {k}"
            );
        }
    };
    let created = app.post("/v1/calls", originate_body()).await;
    check("CallView", &created.body);
    check("CallPage", &app.get("/v1/calls").await.body);
    check("Problem", &app.get("/v1/calls/bad%20id").await.body);
    check(
        "Accepted",
        &app.post("/v1/calls/call-0/dtmf", json!({"digits": "1"}))
            .await
            .body,
    );
}

#[tokio::test]
async fn docs_page_is_self_contained() {
    let app = App::hs();
    let r = app
        .send(Request::get("/docs").body(Body::empty()).unwrap())
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.header("content-type").starts_with("text/html"));
    let res = app
        .router
        .clone()
        .oneshot(Request::get("/docs").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let html =
        String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(html.contains("openapi.json"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external resources"
    );
}

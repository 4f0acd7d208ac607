//! `GET /openapi.json` (generated from the handlers) and `GET /docs`, a
//! self-contained page that renders it (no CDN: gateways often run offline).

use axum::{
    Router,
    http::header,
    response::{Html, IntoResponse},
    routing::get,
};
use utoipa::{
    Modify, OpenApi,
    openapi::security::{Http, HttpAuthScheme, SecurityScheme},
};

#[derive(OpenApi)]
#[openapi(
    info(title = "voice-gateway call API", description = "Place and control outbound calls. Bearer JWT; scopes calls:read and calls:write. Errors are application/problem+json."),
    modifiers(&Bearer),
    components(schemas(super::problem::Problem))
)]
struct Base;

struct Bearer;

impl Modify for Bearer {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        api.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// The document the handlers' own descriptions are added to.
pub(super) fn base() -> utoipa::openapi::OpenApi {
    Base::openapi()
}

/// The unauthenticated documentation routes.
pub(super) fn router(spec: utoipa::openapi::OpenApi) -> Router {
    let json = spec.to_pretty_json().unwrap_or_else(|_| "{}".into());
    Router::new()
        .route(
            "/openapi.json",
            get(move || async move {
                ([(header::CONTENT_TYPE, "application/json")], json).into_response()
            }),
        )
        .route("/docs", get(|| async { Html(PAGE) }))
}

/// Fetches `/openapi.json` and lists each operation with its parameters,
/// body schema and responses. Inline script only; text goes in via
/// `textContent`, never as HTML.
const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>voice-gateway call API</title>
<style>body{font:15px/1.4 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
.op{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.5rem 1rem}
.m{font-weight:bold;text-transform:uppercase;margin-right:.5rem}.get{color:#06c}.post{color:#080}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:13px}</style></head>
<body><h1 id="t">voice-gateway call API</h1><p id="d"></p><div id="ops">Loading /openapi.json…</div>
<script>
function el(tag, text, cls){const e=document.createElement(tag);if(text)e.textContent=text;if(cls)e.className=cls;return e;}
function resolve(spec, s){if(s&&s.$ref){const n=s.$ref.split('/').pop();return {name:n,schema:spec.components.schemas[n]};}return {name:'',schema:s};}
fetch('openapi.json').then(r=>r.json()).then(spec=>{
  document.getElementById('t').textContent=spec.info.title+' '+spec.info.version;
  document.getElementById('d').textContent=spec.info.description||'';
  const ops=document.getElementById('ops');ops.textContent='';
  for(const [path,item] of Object.entries(spec.paths)){for(const [m,op] of Object.entries(item)){
    const box=el('div','','op');const h=el('h3');h.append(el('span',m,'m '+m),el('code',path));box.append(h);
    if(op.summary||op.description)box.append(el('p',op.summary||op.description));
    if(op.security)box.append(el('p','scopes: '+op.security.map(s=>Object.values(s).flat().join(' ')).join(', ')));
    for(const p of op.parameters||[])box.append(el('p',p.in+' '+p.name+(p.required?' (required)':'')+': '+(p.description||'')));
    const body=op.requestBody&&op.requestBody.content['application/json'];
    if(body){const r=resolve(spec,body.schema);box.append(el('p','body '+r.name),el('pre',JSON.stringify(r.schema,null,2)));}
    const ul=el('ul');for(const [code,res] of Object.entries(op.responses||{}))ul.append(el('li',code+' '+(res.description||'')));box.append(ul);
    ops.append(box);}}
}).catch(e=>{document.getElementById('ops').textContent='cannot load openapi.json: '+e;});
</script></body></html>"#;

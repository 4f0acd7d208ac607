// The operator console. Plain JavaScript, no dependencies: it reads the
// gateway's own /console/api (same origin, bearer token in a header) and
// draws its charts as SVG. The live table follows a server-sent event stream
// read with fetch(), since EventSource cannot send an Authorization header.

const TOKEN_KEY = "vg-console-token";
const SVG = "http://www.w3.org/2000/svg";
const STAGES = [
  ["stt_ms", "stt", "end of speech → STT final"],
  ["agent_ms", "agent", "request → orchestrator first token"],
  ["tts_ms", "tts", "first token → first TTS audio"],
  ["media_ms", "media", "first TTS audio → handed to the media leg (first packet out)"],
];

// What a call page read from the call history may lack (`not_recorded`).
const NOT_RECORDED = {
  agent_id: "the agent",
  transport_and_providers: "transport and speech providers",
  notes: "keys, transfers and errors",
  transcripts: "transcripts (the tenant keeps none)",
  barge_in_figures: "barge-in stop delays (recorded before they were kept)",
};

const $ = (sel) => document.querySelector(sel);
const live = new Map();
let recent = [];
let stream = null;
let viewing = null;

function el(tag, attrs = {}, ...kids) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k ?? "")));
  return e;
}

const token = () => sessionStorage.getItem(TOKEN_KEY);
const ms = (v) => (v === null || v === undefined ? "–" : `${Math.round(v)} ms`);

function since(start, end) {
  const s = Math.max(0, Math.floor(((end ?? Date.now()) - start) / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function api(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token()}` }, cache: "no-store" });
  if (res.status === 401 || res.status === 403) {
    const problem = await res.json().catch(() => ({}));
    signOut(problem.detail || problem.title || `HTTP ${res.status}`);
    throw new Error("signed out");
  }
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

// ---- sign-in ----------------------------------------------------------------

function takeFragmentToken() {
  const m = location.hash.match(/^#token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", `${location.pathname}#/`);
  }
}

function signOut(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (stream) stream.abort();
  stream = null;
  $("#signin-error").textContent = why || "";
  route();
}

// ---- live stream --------------------------------------------------------------

function parseEvents(buffer, onEvent) {
  let cut;
  while ((cut = buffer.indexOf("\n\n")) >= 0) {
    const block = buffer.slice(0, cut);
    buffer = buffer.slice(cut + 2);
    let name = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) name = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    if (data.length) onEvent(name, JSON.parse(data.join("\n")));
  }
  return buffer;
}

async function follow() {
  const ctl = new AbortController();
  stream = ctl;
  while (stream === ctl) {
    try {
      const res = await fetch("/console/api/stream", {
        headers: { Authorization: `Bearer ${token()}`, Accept: "text/event-stream" },
        signal: ctl.signal,
        cache: "no-store",
      });
      if (res.status === 401 || res.status === 403) {
        const p = await res.json().catch(() => ({}));
        return signOut(p.detail || p.title || `HTTP ${res.status}`);
      }
      const reader = res.body.getReader();
      const text = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseEvents(buffer + text.decode(value, { stream: true }).replace(/\r/g, ""), onEvent);
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    // The gateway restarted or the network blinked: follow again shortly.
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function onEvent(name, data) {
  if (name === "snapshot") {
    live.clear();
    for (const row of data.live) live.set(row.call_id, row);
    recent = data.recent;
    showHealth(data.health);
    drawLive();
    drawRecent();
    drawCharts();
  } else if (name === "call") {
    if (data.state === "ended") {
      live.delete(data.call_id);
      recent = [data, ...recent.filter((r) => r.call_id !== data.call_id)].slice(0, 50);
      drawRecent();
      drawCharts();
    } else {
      live.set(data.call_id, data);
      // A reply that played is in the charts already: redraw them, at most
      // every 2 s however busy the gateway.
      chartsSoon();
    }
    drawLive();
    if (viewing === data.call_id) showCall(viewing);
  } else if (name === "health") {
    showHealth(data);
  }
}

function showHealth(h) {
  const box = $("#health");
  box.replaceChildren(
    el("span", { class: `pill ${h.status}`, id: "ready-state" }, h.status.replace("_", " ")),
    h.draining ? el("span", { class: "pill draining" }, "draining") : "",
    el("span", { id: "live-calls" }, liveCount()),
    h.all_tenants ? ` · all tenants · ${h.live_calls} admitted` : " · your tenant",
  );
  if (h.report) {
    for (const [name, dep] of Object.entries(h.report.dependencies || {})) {
      box.append(" · ", el("span", { class: "dep", "data-dep": name }, `${name}: ${dep.state}`));
    }
  }
}

// ---- live table -----------------------------------------------------------------

function drawLive() {
  const body = $("#live tbody");
  const rows = [...live.values()].sort((a, b) => a.started_at - b.started_at);
  $("#live-count").textContent = rows.length;
  const count = $("#live-calls");
  if (count) count.textContent = liveCount();
  if (!rows.length) {
    body.replaceChildren(el("tr", { class: "empty" }, el("td", { colspan: 11 }, "No live calls")));
    return;
  }
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = el(
        "tr",
        { "data-call": r.call_id, "data-tenant": r.tenant_id },
        el("td", { class: "id" }, r.call_id),
        el("td", {}, r.tenant_id),
        el("td", {}, r.direction),
        el("td", { class: "mono" }, r.from ?? "–"),
        el("td", { class: "mono" }, r.to ?? "–"),
        el("td", {}, el("span", { class: `state ${r.state}` }, r.state)),
        el("td", { class: "duration", "data-start": r.answered_at ?? r.started_at }, since(r.answered_at ?? r.started_at)),
        el("td", { class: "turn-no", "data-turn": r.turn }, r.turn),
        el("td", {}, r.agent_id ?? "–"),
        el("td", {}, r.transport ?? "–"),
        el("td", {}, providers(r)),
      );
      tr.addEventListener("click", () => (location.hash = `#/call/${encodeURIComponent(r.call_id)}`));
      return tr;
    }),
  );
}

const liveCount = () => `${live.size} live call${live.size === 1 ? "" : "s"}`;

const providers = (r) =>
  r.stt_providers.length || r.tts_providers.length ? `${r.stt_providers.join(",")} / ${r.tts_providers.join(",")}` : "–";

function drawRecent() {
  const body = $("#recent tbody");
  body.replaceChildren(
    ...recent.map((r) => {
      const tr = el(
        "tr",
        { "data-call": r.call_id },
        el("td", { class: "id" }, r.call_id),
        el("td", {}, r.tenant_id),
        el("td", {}, r.direction),
        el("td", { class: "mono" }, r.from ?? "–"),
        el("td", {}, new Date(r.ended_at).toLocaleTimeString()),
        el("td", {}, r.turn),
        el("td", {}, r.end_reason ?? "–"),
      );
      tr.addEventListener("click", () => (location.hash = `#/call/${encodeURIComponent(r.call_id)}`));
      return tr;
    }),
  );
}

// ---- latency charts ----------------------------------------------------------------

let chartsDue = null;
function chartsSoon() {
  if (chartsDue === null) chartsDue = setTimeout(() => ((chartsDue = null), drawCharts()), 2000);
}

async function drawCharts() {
  const [five, hour] = await Promise.all([api("/console/api/latency?minutes=5"), api("/console/api/latency?minutes=60")]);
  const box = $("#charts");
  const tenants = [...new Set([...five, ...hour].map((t) => t.tenant_id))].sort();
  if (!tenants.length) {
    box.replaceChildren(el("p", {}, "No finished turns in the last hour."));
    return;
  }
  box.replaceChildren(
    ...tenants.flatMap((t) =>
      [five, hour].map((w, i) => chart(t, i ? 60 : 5, w.find((x) => x.tenant_id === t))),
    ),
  );
}

function chart(tenant, minutes, data) {
  const rowH = 18, labelW = 70, barW = 220, width = labelW + barW + 90;
  const stages = data ? data.stages : [];
  const max = Math.max(1, ...stages.map((s) => s.p90 ?? 0));
  const svg = el("svg:svg", { width, height: 20 + stages.length * rowH * 2, role: "img" });
  stages.forEach((s, i) => {
    const y = 8 + i * rowH * 2;
    const name = s.stage === "total_ms" ? "voice→voice" : s.stage.replace("_ms", "");
    svg.append(el("svg:text", { x: 0, y: y + 12 }, name));
    for (const [j, key] of [["p90", "p90"], ["p50", "p50"]].entries()) {
      const v = s[key[0]];
      const w = v ? Math.max(1, (v / max) * barW) : 0;
      svg.append(el("svg:rect", { x: labelW, y: y + j * (rowH - 4), width: w, height: rowH - 6, class: `bar-${key[1]}` }));
      svg.append(el("svg:text", { x: labelW + w + 4, y: y + j * (rowH - 4) + 10 }, `${key[0]} ${ms(v)}`));
    }
  });
  const n = stages.length ? stages[0].count : 0;
  return el(
    "div",
    { class: "chart", "data-tenant": tenant, "data-minutes": minutes },
    el("h4", {}, `${tenant} · last ${minutes} min · ${n} turn${n === 1 ? "" : "s"}`),
    svg,
  );
}

// ---- one call -----------------------------------------------------------------------

async function showCall(id) {
  let c;
  try {
    c = await api(`/console/api/calls/${encodeURIComponent(id)}`);
  } catch (e) {
    $("#call-id").textContent = `${id} (not found)`;
    return;
  }
  if (viewing !== id) return;
  $("#call-id").textContent = c.call_id;
  const facts = [
    ["Tenant", c.tenant_id], ["Direction", c.direction], ["From", c.from ?? "–"], ["To", c.to ?? "–"],
    ["State", c.state], ["Agent", c.agent_id ?? "–"], ["Transport", c.transport ?? "–"], ["Providers", providers(c)],
    ["Started", new Date(c.started_at).toLocaleString()],
    ["Duration", c.duration_ms !== null ? `${(c.duration_ms / 1000).toFixed(1)} s` : since(c.answered_at ?? c.started_at)],
    ["End reason", c.end_reason ?? "–"],
    ["Source", c.source === "history" ? "call history (stored record)" : "this gateway's events"],
  ];
  // A page read from the call history says what its record does not hold,
  // rather than show a blank as if it were known.
  const missing = c.not_recorded ?? [];
  const unknown = (k) => (missing.includes(k) ? "not recorded" : null);
  for (const f of facts) {
    if (f[0] === "Agent") f[1] = unknown("agent_id") ?? f[1];
    if (f[0] === "Transport" || f[0] === "Providers") f[1] = unknown("transport_and_providers") ?? f[1];
  }
  $("#call-facts").replaceChildren(...facts.flatMap(([k, v]) => [el("dt", {}, k), el("dd", { "data-fact": k }, v)]));
  $("#call-source").replaceChildren(
    missing.length ? `Read from the call history; not in its record: ${missing.map((k) => NOT_RECORDED[k] ?? k).join(", ")}.` : "",
  );
  $("#call-source").dataset.source = c.source;
  $("#legend").replaceChildren(...STAGES.map(([, cls, label]) => el("span", { class: `c-${cls}` }, label)));
  const scale = Math.max(1, ...c.exchanges.map((e) => (e.latency && e.latency.total_ms) || 0));
  $("#turns").replaceChildren(...c.exchanges.map((e, i) => turn(e, i, scale)));
  $("#notes").replaceChildren(
    ...(c.notes.length
      ? c.notes.map((n) => el("li", { "data-kind": n.kind }, `${new Date(n.at).toLocaleTimeString()} ${n.kind}: ${n.text}`))
      : [el("li", {}, unknown("notes") ?? "none")]),
  );
}

function turn(e, i, scale) {
  const li = el("li", { class: "turn", "data-index": i });
  if (e.caller !== null) li.append(el("div", { class: "caller" }, el("span", { class: "who" }, `caller · turn ${e.turn ?? "?"}`), e.caller || "(no transcript kept)"));
  if (e.agent !== null) li.append(el("div", { class: "agent" }, el("span", { class: "who" }, "agent"), e.agent || "(nothing said)"));
  if (e.barge_in) {
    const b = e.barge_in;
    li.append(el("div", { class: "barge", "data-delay-ms": b.delay_ms ?? "" }, `barge-in: stopped in ${ms(b.delay_ms)} after ${b.heard_ms} ms heard: “${b.heard_text}”`));
  }
  if (e.latency) li.append(bars(e.latency, scale));
  else if (e.agent_ms !== null) li.append(el("div", { class: "who" }, `orchestrator first token ${ms(e.agent_ms)}`));
  return li;
}

// One stacked bar per reply: each stage's width is its share of the time.
function bars(l, scale) {
  const width = 520, h = 16;
  const attrs = { class: "stages", width: width + 120, height: h + 22, "data-total-ms": l.total_ms ?? "" };
  for (const [k] of STAGES) attrs[`data-${k.replace("_", "-")}`] = l[k] ?? "";
  const svg = el("svg:svg", attrs);
  let x = 0;
  for (const [k, cls, label] of STAGES) {
    const v = l[k];
    if (v === null || v === undefined) continue;
    const w = (v / scale) * width;
    svg.append(el("svg:rect", { x, y: 0, width: Math.max(w, 0.5), height: h, class: `bar-${cls}` }, el("svg:title", {}, `${label}: ${v.toFixed(1)} ms`)));
    x += w;
  }
  svg.append(el("svg:text", { x: x + 6, y: 12, class: "total" }, `voice→voice ${ms(l.total_ms)}`));
  svg.append(
    el("svg:text", { x: 0, y: h + 16, class: "figures" }, STAGES.map(([k, cls]) => `${cls} ${ms(l[k])}`).join(" · ")),
  );
  return svg;
}

// ---- routing ---------------------------------------------------------------------------

function route() {
  takeFragmentToken();
  const signedIn = !!token();
  $("#signin").hidden = signedIn;
  $("#signout").hidden = !signedIn;
  const m = location.hash.match(/^#\/call\/(.+)$/);
  $("#live-view").hidden = !signedIn || !!m;
  $("#call-view").hidden = !signedIn || !m;
  if (!signedIn) {
    $("#health").textContent = "signed out";
    return;
  }
  if (!stream) follow();
  viewing = m ? decodeURIComponent(m[1]) : null;
  if (viewing) showCall(viewing);
}

$("#signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("#token").value.trim();
  if (!t) return;
  sessionStorage.setItem(TOKEN_KEY, t);
  $("#token").value = "";
  $("#signin-error").textContent = "";
  route();
});
$("#signout").addEventListener("click", () => signOut(""));
window.addEventListener("hashchange", route);
setInterval(() => {
  for (const td of document.querySelectorAll("#live td.duration")) td.textContent = since(Number(td.dataset.start));
}, 1000);
route();

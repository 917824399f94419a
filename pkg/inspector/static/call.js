"use strict";
// One call on one time axis: the caller's and the agent's lanes (speech,
// answers split into heard and cut off, each over its channel's waveform),
// tools, keys, guardrails and latencies, the recording with a playhead, the
// transcript and the debug frames. Every value from the API goes in with
// textContent; positions are set through the CSSOM (the page's CSP allows no
// inline style).
(function () {
  const sid = new URLSearchParams(location.search).get("sid") || "";
  const $ = function (id) { return document.getElementById(id); };
  const status = $("status");
  const player = $("player");
  const track = $("track");
  const api = "/api/calls/" + encodeURIComponent(sid);
  let durMs = 1;

  function count(n, what) {
    n = n || 0;
    return n + " " + what + (n === 1 ? "" : "s");
  }

  function ms(n) {
    if (n == null) return "-";
    return n < 1000 ? Math.round(n) + " ms" : (n / 1000).toFixed(1) + " s";
  }
  function clock(n) {
    const s = Math.max(0, Math.floor(n / 1000));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function pct(n) { return (100 * n / durMs) + "%"; }
  // place puts e on the axis from a to b (a mark when b is null).
  function place(e, a, b) {
    e.style.left = pct(a);
    if (b != null) e.style.width = "max(2px, " + pct(Math.max(0, b - a)) + ")";
    return e;
  }
  function seek(atMs) {
    if (!player.src) return;
    player.currentTime = Math.max(0, atMs) / 1000;
    player.play().catch(function () {});
  }
  function clickable(e, atMs) {
    e.addEventListener("click", function () { seek(atMs); });
    return e;
  }
  async function getJSON(path) {
    const res = await fetch(path, { credentials: "same-origin" });
    const data = await res.json();
    if (!res.ok) throw new Error(data.error || res.statusText);
    return data;
  }

  function axis() {
    const lane = $("lane-axis");
    const w = track.clientWidth || 1000;
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600];
    let step = steps[steps.length - 1];
    for (const s of steps) { if (s * 1000 / durMs * w >= 60) { step = s; break; } }
    for (let t = 0; t <= durMs; t += step * 1000) lane.appendChild(place(el("span", "tick", clock(t)), t));
  }

  function callerLane(tl) {
    const lane = $("lane-caller");
    for (const s of tl.caller_speech) {
      const e = clickable(place(el("div", "speech"), s.start_ms, s.end_ms), s.start_ms);
      e.title = "caller speaking " + ms(s.end_ms - s.start_ms);
      lane.appendChild(e);
    }
  }

  function agentLane(tl) {
    const lane = $("lane-agent");
    for (const a of tl.answers) {
      const span = Math.max(a.end_ms - a.start_ms, 1);
      const bar = clickable(place(el("div", "bar answer"), a.start_ms, a.end_ms), a.start_ms);
      bar.dataset.item = a.item_id || "";
      if (a.cut) {
        bar.classList.add("cut");
        if (a.guardrail) bar.classList.add("guardrail");
        const heard = Math.min(a.heard_ms || 0, span);
        const h = el("span", "heard");
        h.style.width = (100 * heard / span) + "%";
        const u = el("span", "unheard");
        u.style.width = (100 - 100 * heard / span) + "%";
        bar.append(h, u);
        bar.title = (a.guardrail ? "cut by guardrail " + a.guardrail : "cut off at a barge-in") + ": heard " +
          ms(a.heard_ms) + (a.sent_ms ? " of " + ms(a.sent_ms) + " sent" : "") + "\n" + (a.heard || "") + " / " + (a.unheard || a.text || "");
      } else {
        const h = el("span", "heard");
        h.style.width = "100%";
        bar.append(h);
        bar.title = a.text || "";
      }
      lane.appendChild(bar);
    }
  }

  function toolsLane(tl) {
    const lane = $("lane-tools");
    const list = $("tools");
    for (const t of tl.tools) {
      const end = t.end_ms != null ? t.end_ms : tl.duration_ms;
      const bar = clickable(place(el("div", "bar tool", t.name), t.start_ms, end), t.start_ms);
      if (t.error) bar.classList.add("failed");
      bar.title = t.name + " " + ms(t.duration_ms) + (t.error ? " failed: " + t.error : "");
      lane.appendChild(bar);
      if (t.approval) {
        const dec = t.approval.decided_ms != null ? t.approval.decided_ms : end;
        const ap = place(el("div", "bar approval"), t.approval.requested_ms, dec);
        ap.title = "approval " + (t.approval.decided_ms == null ? "pending" : t.approval.approved ? "approved" : "denied") +
          " after " + ms(dec - t.approval.requested_ms);
        lane.appendChild(ap);
      }
      const li = el("li");
      li.append(el("span", "at", clock(t.start_ms)), el("strong", null, t.name),
        el("span", null, " " + (t.end_ms == null ? "no result" : ms(t.duration_ms)) + (t.background ? " (background)" : "")));
      if (t.approval) {
        li.append(el("span", null, " · " + (t.approval.decided_ms == null ? "awaiting approval" :
          (t.approval.approved ? "approved" : "denied") + (t.approval.reason ? ": " + t.approval.reason : ""))));
      }
      if (t.arguments) li.append(el("code", null, "args " + t.arguments));
      if (t.output) li.append(el("code", null, "result " + t.output));
      if (t.error) li.append(el("code", null, "error " + t.error));
      list.appendChild(li);
    }
    if (!tl.tools.length) list.appendChild(el("li", null, "none"));
  }

  function eventsLane(tl) {
    const lane = $("lane-events");
    const mark = function (at, cls, text, title) {
      const m = clickable(place(el("div", "mark " + cls, text), at), at);
      m.title = title;
      lane.appendChild(m);
    };
    for (const k of tl.dtmf) mark(k.at_ms, "dtmf", k.digit, "key " + k.digit);
    for (const g of tl.guardrails) mark(g.at_ms, "guardrail", "⚠ " + g.rule, "guardrail " + g.rule + ": heard " + ms(g.heard_ms));
    for (const l of tl.latencies) {
      if (l.parts && l.parts.length) {
        // The turn's latency on the axis: from the caller's real end of speech
        // to the first audio written (at_ms), then the playout.
        const before = l.parts.reduce(function (s, p) { return p.name === "playout" ? s : s + p.ms; }, 0);
        const play = l.parts.reduce(function (s, p) { return p.name === "playout" ? s + p.ms : s; }, 0);
        const bar = clickable(place(stack(l.parts, false), l.at_ms - before, l.at_ms + play), l.at_ms);
        bar.classList.add("onaxis");
        bar.title = latencyTitle(l);
        lane.appendChild(bar);
      } else {
        mark(l.at_ms, "latency", ms(l.latency_ms), "turn latency " + ms(l.latency_ms));
      }
    }
    for (const n of tl.notes) mark(n.at_ms, "note", n.kind, n.kind + ": " + n.message);
  }

  // Where each turn's latency went (callevent.TurnLatency's parts).
  const partNames = { endpointing: "endpointing", model: "model", tools: "tools", approval: "approval",
    first_audio: "first audio", relay: "relay", playout: "playout" };
  function latencyTitle(l) {
    return "turn latency " + ms(l.latency_ms) + (l.total_ms ? ", " + ms(l.total_ms) + " from the end of speech" : "") + "\n" +
      l.parts.map(function (p) { return (partNames[p.name] || p.name) + " " + ms(p.ms); }).join("\n");
  }
  // stack is a stacked bar of parts, each as wide as its share; labeled puts
  // each part's name and time in it.
  function stack(parts, labeled) {
    const sum = Math.max(parts.reduce(function (s, p) { return s + p.ms; }, 0), 1);
    const bar = el("div", "bar latbar");
    for (const p of parts) {
      const seg = el("span", "part p-" + (partNames[p.name] ? p.name : "other"),
        labeled ? (partNames[p.name] || p.name) + " " + ms(p.ms) : null);
      seg.style.width = (100 * p.ms / sum) + "%";
      seg.title = (partNames[p.name] || p.name) + " " + ms(p.ms);
      bar.appendChild(seg);
    }
    return bar;
  }
  // latencies lists the turns, each as a stacked bar on one scale (the
  // slowest turn fills the row).
  function latencies(tl) {
    const list = $("latencies");
    const turns = tl.latencies.filter(function (l) { return l.parts && l.parts.length; });
    const widest = Math.max.apply(null, [1].concat(turns.map(function (l) {
      return l.parts.reduce(function (s, p) { return s + p.ms; }, 0);
    })));
    for (const l of tl.latencies) {
      const li = clickable(el("li"), l.at_ms);
      li.append(el("span", "at", clock(l.at_ms)), el("strong", null, ms(l.latency_ms)));
      if (l.parts && l.parts.length) {
        li.append(el("span", "at", " (" + ms(l.total_ms) + " from the end of speech)"));
        const bar = stack(l.parts, true);
        bar.style.width = (100 * l.parts.reduce(function (s, p) { return s + p.ms; }, 0) / widest) + "%";
        bar.title = latencyTitle(l);
        li.appendChild(bar);
      }
      list.appendChild(li);
    }
    if (!tl.latencies.length) list.appendChild(el("li", null, "no turns"));
  }

  function transcript(tl) {
    const list = $("transcript");
    const byItem = {};
    for (const a of tl.answers) if (a.item_id) byItem[a.item_id] = a;
    for (const u of tl.transcript) {
      const a = byItem[u.item_id];
      const at = u.who === "agent" && a ? a.start_ms : u.at_ms;
      const li = clickable(el("li", u.who), at);
      li.append(el("span", "at", clock(at)), el("span", "who", u.who));
      if (a && a.cut && (a.heard || a.unheard)) {
        li.append(el("span", "heard", a.heard), el("span", "unheard", a.unheard));
      } else {
        li.append(el("span", null, u.text + (u.interrupted ? " (interrupted)" : "")));
      }
      list.appendChild(li);
    }
    if (!tl.transcript.length) list.appendChild(el("li", null, "no transcript logged"));
  }

  // The peaks are asked for with the timeline, not after it, so before the
  // call's length is known: 4000 buckets, which the canvas stretches over the
  // track (a 10-minute call's is 24 000 px wide). null when there is no
  // recording.
  const peaksWanted = 4000; // pagePeaks in prewarm.go: the list computes these ahead
  const peaksReq = getJSON(api + "/peaks?n=" + peaksWanted).catch(function () { return null; });

  async function waveforms() {
    const p = await peaksReq;
    if (!p) return;
    for (const ch of p.channels) {
      const c = $("wave-" + ch.name);
      if (!c) continue;
      // The recording may be shorter or longer than the logged call.
      c.style.width = pct(p.duration_ms);
      c.width = p.buckets;
      c.height = 48;
      const g = c.getContext("2d");
      g.fillStyle = ch.name === "caller" ? "#2a7a2a" : "#1f4fa8";
      for (let i = 0; i < p.buckets; i++) {
        const hi = 24 - ch.max[i] * 24 / 128, lo = 24 - ch.min[i] * 24 / 128;
        g.fillRect(i, hi, 1, Math.max(1, lo - hi));
      }
    }
  }

  function playhead() {
    const ph = $("playhead");
    let raf = 0;
    const move = function () {
      ph.style.left = pct(player.currentTime * 1000);
      if (!player.paused) raf = requestAnimationFrame(move);
    };
    player.addEventListener("play", function () { cancelAnimationFrame(raf); raf = requestAnimationFrame(move); });
    player.addEventListener("timeupdate", move);
    player.addEventListener("seeked", move);
  }

  async function frames(e) {
    if (e) e.preventDefault();
    const fs = $("frames-status");
    const body = $("frames");
    const ns = new FormData($("frames-filter")).get("debug") || "all";
    let data;
    try {
      data = await getJSON(api + "/frames?limit=500&debug=" + encodeURIComponent(ns));
    } catch (err) {
      fs.textContent = String(err.message || err);
      return;
    }
    body.replaceChildren();
    for (const f of data.frames) {
      const tr = clickable(el("tr"), f.at_ms);
      let fields = f.fields == null ? "" : JSON.stringify(f.fields);
      if (fields.length > 400) fields = fields.slice(0, 400) + "…";
      tr.append(el("td", null, clock(f.at_ms) + "." + String(Math.max(0, f.at_ms) % 1000).padStart(3, "0")),
        el("td", null, f.ns), el("td", null, f.type), el("td", "fields", fields));
      body.appendChild(tr);
    }
    fs.textContent = data.frames.length + " frames (" + data.debug + ")" + (data.more ? ", first 500 shown" : "");
  }

  async function load() {
    let tl;
    try {
      tl = await getJSON(api);
    } catch (e) {
      status.textContent = String(e.message || e);
      return;
    }
    const c = tl.call || {};
    document.title = sid + " · callagent inspector";
    $("title").textContent = sid;
    $("summary").textContent = [new Date(tl.start).toLocaleString(), c.from && c.to ? c.from + " → " + c.to : "",
      ms(tl.duration_ms), c.outcome, count(c.turns, "turn"), count(c.interruptions, "interruption"),
      c.cost_usd != null ? "$" + c.cost_usd.toFixed(4) : ""].filter(Boolean).join(" · ");
    durMs = Math.max(tl.duration_ms, 1);
    if (!c.recording) player.hidden = true;
    // 40 px a second, at least the page's width: a long call scrolls.
    track.style.width = "max(100%, " + Math.round(durMs / 25) + "px)";
    axis();
    callerLane(tl);
    agentLane(tl);
    toolsLane(tl);
    eventsLane(tl);
    latencies(tl);
    transcript(tl);
    configPanel(tl);
    replayHistory(tl.replays);
    const end = tl.end;
    $("end").textContent = end ? clock(end.at_ms) + " " + end.reason + (end.error ? ": " + end.error : "") : "in progress";
    status.textContent = c.recording ? "Click a bar or a line to hear it." : "No recording of this call.";
    playhead();
    track.dataset.ready = "1";
    if (c.recording) await waveforms();
    // Everything is drawn: when, from the navigation (the page's own clock).
    track.dataset.drawnMs = String(Math.round(performance.now()));
    track.dataset.drawn = "1";
    // Then what is not drawn: the recording's first bytes and the debug
    // frames (both read the call's files again, and would slow the drawing).
    if (c.recording) {
      player.addEventListener("loadedmetadata", function () {
        // The axis covers the recording too when it runs past the last line.
        if (isFinite(player.duration) && player.duration * 1000 > durMs * 1.02) status.textContent += " (recording longer than the log)";
      });
      player.src = api + "/audio";
    }
  }

  // The agent configurations the call ran with (call.config events): the
  // first at the start, one more at each handoff. Text only, by textContent.
  function configPanel(tl) {
    const body = $("config-body");
    body.replaceChildren();
    const cfgs = tl.configs || [];
    if (!tl.config_recorded || !cfgs.length) {
      $("config-brief").textContent = "· not recorded";
      body.appendChild(el("p", "none", "Not recorded: this call was logged before callagent recorded the agent configuration."));
      return;
    }
    const first = cfgs[0];
    $("config-brief").textContent = "· " + [first.agent, first.model, first.voice && "voice " + first.voice,
      first.hash && "#" + first.hash].filter(Boolean).join(" · ") + (cfgs.length > 1 ? " · " + count(cfgs.length - 1, "handoff") : "");
    cfgs.forEach(function (c) {
      body.appendChild(el("h3", null, (c.at_ms ? clock(c.at_ms) + " · handoff to " : "") + c.agent));
      const dl = el("dl");
      const row = function (k, v) {
        if (v == null || v === "" || (Array.isArray(v) && !v.length)) return;
        dl.appendChild(el("dt", null, k));
        dl.appendChild(el("dd", null, Array.isArray(v) ? v.join("\n") : String(v)));
      };
      row("agent", c.agent);
      row("engine", c.engine);
      row("model", c.model);
      row("voice", c.voice);
      row("file", c.source);
      row("hash", c.hash);
      row("greeting", c.greeting);
      row("instructions", c.instructions);
      row("turn detection", c.turn_detection ? JSON.stringify(c.turn_detection) : "the API's default");
      row("transcription", c.transcription || "off");
      row("approval", c.approval);
      row("guardrails", c.guardrails);
      row("handoffs", c.handoffs);
      row("max duration", c.max_duration_ns ? ms(c.max_duration_ns / 1e6) : "");
      row("max cost", c.max_cost_usd ? "$" + c.max_cost_usd : "");
      body.appendChild(dl);
      const tools = el("ul", "cfg-tools");
      (c.tools || []).forEach(function (t) {
        const li = el("li", "cfg-tool");
        li.appendChild(el("strong", null, t.name));
        li.appendChild(document.createTextNode(" (" + [t.kind, t.needs_approval ? "needs approval" : "",
          t.background ? "background" : ""].filter(Boolean).join(", ") + ")" +
          (t.method || t.url ? " " + [t.method, t.url].filter(Boolean).join(" ") : "") +
          (t.headers && t.headers.length ? " · headers: " + t.headers.join(", ") : "") +
          (t.description ? " — " + t.description : "")));
        tools.appendChild(li);
      });
      if (c.tools && c.tools.length) {
        body.appendChild(el("p", null, "tools:"));
        body.appendChild(tools);
      }
    });
  }

  // A replay's outcome, as lines of out: passed or what changed, and whether
  // the agent configuration differed from the call's.
  function replayLines(out, data) {
    const same = function (a, b) { return (a || []).join(", ") === (b || []).join(", "); };
    const line = function (cls, text) { out.appendChild(el("li", cls, text)); };
    const tools = function (l) { return l && l.length ? l.join(", ") : "none"; };
    if (data.error) {
      line("failure", "✗ " + data.error);
      return;
    }
    line(same(data.expected_tools, data.actual_tools) ? "same" : "changed",
      "tool calls: expected " + tools(data.expected_tools) + "; now " + tools(data.actual_tools));
    line(data.expected_ending === data.actual_ending ? "same" : "changed",
      "ending: expected " + (data.expected_ending || "any") + "; now " + (data.actual_ending || "none"));
    (data.failures || []).forEach(function (f) { line("failure", "✗ " + f); });
    if (data.config_changed) line("changed", "agent config: changed (#" + data.config_hash + " → #" + data.replay_config_hash + ")");
    else if (data.config_hash) line("same", "agent config: unchanged (#" + data.config_hash + ")");
    if (data.overrides && data.overrides.length) line("same", "with " + data.overrides.join(" "));
  }

  // The replays kept of this call, newest first.
  function replayHistory(list) {
    const ol = $("replay-list");
    ol.replaceChildren();
    $("replays").hidden = !list || !list.length;
    (list || []).slice().reverse().forEach(function (r) {
      const li = el("li", "past-replay");
      li.appendChild(el("span", r.passed ? "passed" : "failed", new Date(r.at).toLocaleString() + " · " +
        (r.error ? "failed to run" : r.passed ? "passed" : "changed") + (r.call_sid ? " (replay " + r.call_sid + ")" : "")));
      const ul = el("ul", "replay");
      replayLines(ul, r);
      li.appendChild(ul);
      ol.appendChild(li);
    });
  }

  async function reloadReplays() {
    try {
      const page = await getJSON(api);
      replayHistory(page.replays);
    } catch (e) { /* the list stays as it was */ }
  }

  // The replay: the call's caller turns against the current configuration.
  // A write action: the token goes in a header (read from /api/session, which
  // answers only a request that already holds it), never only in the cookie a
  // cross-site form would send.
  async function replaySetup() {
    let sess;
    try {
      sess = await getJSON("/api/session");
    } catch (e) {
      return;
    }
    if (!sess.replay) return;
    $("replay").hidden = false;
    const btn = $("replay-run");
    const st = $("replay-status");
    const out = $("replay-result");
    btn.addEventListener("click", async function () {
      btn.disabled = true;
      st.textContent = "Replaying…";
      out.replaceChildren();
      try {
        const res = await fetch(api + "/replay", { method: "POST", credentials: "same-origin",
          headers: { "X-Callagent-Token": sess.token } });
        const data = await res.json().catch(function () { return {}; });
        if (!res.ok) throw new Error(data.error || res.statusText);
        st.textContent = data.passed ? "Passed: the same tool calls and ending (replay " + data.call_sid + ")."
          : "Changed (replay " + data.call_sid + "):";
        replayLines(out, data);
      } catch (e) {
        st.textContent = "Replay failed: " + String(e.message || e);
      } finally {
        btn.disabled = false;
        out.dataset.done = "1";
        reloadReplays();
      }
    });
  }

  $("frames-filter").addEventListener("submit", frames);
  replaySetup();
  load().then(function () { frames(); });
})();

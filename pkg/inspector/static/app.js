"use strict";
// The calls' list. Every value from the API goes in with textContent: what a
// caller said or a number showed is never markup. A call's SID opens its page (call.html).
(function () {
  const body = document.getElementById("calls");
  const status = document.getElementById("status");
  const form = document.getElementById("filter");

  function ms(n) {
    if (n == null) return "-";
    return n < 1000 ? n + " ms" : (n / 1000).toFixed(1) + " s";
  }
  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  async function load() {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of [...params]) if (!v) params.delete(k);
    let res;
    try {
      res = await fetch("/api/calls?" + params.toString(), { credentials: "same-origin" });
    } catch (e) {
      status.textContent = "The inspector cannot be reached: " + e;
      return;
    }
    const data = await res.json();
    if (!res.ok) {
      status.textContent = data.error || res.statusText;
      return;
    }
    body.replaceChildren();
    for (const c of data.calls) {
      const tr = document.createElement("tr");
      cell(tr, new Date(c.start).toLocaleString());
      const td = document.createElement("td");
      td.className = "sid";
      const a = document.createElement("a");
      a.href = "/call.html?sid=" + encodeURIComponent(c.sid);
      a.textContent = c.sid;
      td.appendChild(a);
      tr.appendChild(td);
      cell(tr, c.from || "-", "wide");
      cell(tr, c.to || "-", "wide");
      cell(tr, ms(c.duration_ms));
      cell(tr, c.outcome);
      cell(tr, String(c.turns));
      cell(tr, c.latency_p50_ms ? ms(c.latency_p50_ms) : "-", "wide");
      cell(tr, String(c.interruptions), "wide");
      cell(tr, String(c.tool_calls), "wide");
      cell(tr, c.cost_usd != null ? "$" + c.cost_usd.toFixed(4) : (c.cost_unknown ? "unknown" : "-"));
      cell(tr, c.recording ? "yes" : "-");
      body.appendChild(tr);
    }
    status.textContent = data.calls.length + (data.calls.length === 1 ? " call" : " calls");
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); load(); });
  let pending = null;
  const events = new EventSource("/api/events");
  events.onmessage = function () {
    // Changes come in bursts while a call runs: one reload for a burst.
    if (pending) return;
    pending = setTimeout(function () { pending = null; load(); }, 300);
  };
  load();
})();

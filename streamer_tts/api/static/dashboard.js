"use strict";
// The dashboard: now playing + Skip, pause/resume/clear, ban/unban, the queue in
// play order (asked for again on every pushed event, and every 5 s so waiting
// times move), and rejections counted by reason from pushed tts.rejected events.

(() => {
  const $ = (id) => document.getElementById(id);
  const rejections = new Map();
  let daemon = null;
  let refreshing = false;
  let again = false;

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  function button(label, cls, onClick) {
    const td = document.createElement("td");
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", onClick);
    td.appendChild(b);
    return td;
  }

  async function refreshHistory() {
    const reply = await daemon.send({ type: "history" });
    if (!reply.ok) return;
    const body = $("history");
    body.replaceChildren();
    for (const h of reply.history.slice(0, 20)) {
      const row = document.createElement("tr");
      row.dataset.id = h.id;
      cell(row, h.user);
      cell(row, h.kind || sourceLabel(h.source));
      cell(row, h.state);
      cell(row, h.text, "text");
      row.appendChild(button("Replay", "replay", () => command("replay", { id: h.id })));
      body.appendChild(row);
    }
  }

  function waited(s) {
    const t = Math.round(s || 0);
    return t < 60 ? `${t}s` : `${Math.floor(t / 60)}m${String(t % 60).padStart(2, "0")}s`;
  }

  // A held message's countdown, ticked locally between snapshots.
  function holdCell(row, holdS, label = "held ") {
    const td = document.createElement("td");
    td.className = "hold";
    td.dataset.label = label;
    if (holdS > 0) td.dataset.holdEnd = String(Date.now() / 1000 + holdS);
    row.appendChild(td);
    tickHold(td);
  }

  function tickHold(td) {
    const left = Number(td.dataset.holdEnd || 0) - Date.now() / 1000;
    td.textContent = left > 0 ? `${td.dataset.label}${Math.ceil(left)}s` : "";
  }

  // Messages waiting for a moderator's OK, numbered as !ttsok <n> takes them.
  function renderHeld(held) {
    const body = $("held");
    body.replaceChildren();
    for (const m of held) {
      const row = document.createElement("tr");
      row.dataset.id = m.id;
      cell(row, String(m.n));
      cell(row, (m.kind || sourceLabel(m.source)) + (m.paid ? " (paid)" : ""));
      cell(row, m.user);
      holdCell(row, m.expires_s, "");
      cell(row, m.text, "text");
      row.appendChild(button("Approve", "approve", () => command("approve", { id: m.id })));
      row.appendChild(button("Reject", "reject", () => command("reject", { id: m.id })));
      body.appendChild(row);
    }
    $("held-count").textContent = String(held.length);
    $("held-empty").hidden = held.length > 0;
  }

  function render(snap) {
    const p = snap.playing;
    $("now").dataset.id = p ? p.id : "";
    $("now-user").textContent = p ? p.user : "";
    $("now-kind").textContent = p ? p.kind || sourceLabel(p.source) : "";
    $("now-text").textContent = p ? p.text : "nothing";
    $("skip").disabled = !p;
    $("paused").hidden = !snap.paused;
    const body = $("queue");
    body.replaceChildren();
    snap.queue.forEach((m, i) => {
      const row = document.createElement("tr");
      row.dataset.id = m.id;
      cell(row, String(i + 1));
      cell(row, m.priority);
      cell(row, (m.kind || sourceLabel(m.source)) + (m.paid ? " (paid)" : ""));
      cell(row, m.user);
      cell(row, m.voice || "");
      cell(row, waited(m.waited_s));
      holdCell(row, m.hold_s);
      cell(row, m.text, "text");
      row.appendChild(button("Remove", "remove", () => command("remove", { id: m.id })));
      body.appendChild(row);
    });
    $("queue-count").textContent = String(snap.queue.length);
    $("queue-empty").hidden = snap.queue.length > 0;
    renderHeld(snap.held || []);
    $("flood").hidden = !snap.flood;
  }

  async function refresh() {
    if (refreshing) {
      again = true; // one more after this one, never a pile of them
      return;
    }
    refreshing = true;
    try {
      do {
        again = false;
        const snap = await daemon.send({ type: "queue" });
        if (snap.ok) render(snap);
      } while (again);
    } finally {
      refreshing = false;
    }
  }

  function renderRejections() {
    const body = $("rejections");
    body.replaceChildren();
    const rows = [...rejections].sort((a, b) => b[1] - a[1]);
    for (const [reason, n] of rows) {
      const row = document.createElement("tr");
      row.dataset.reason = reason;
      cell(row, reason);
      cell(row, String(n));
      body.appendChild(row);
    }
  }

  function say(reply, what) {
    const el = $("result");
    el.classList.toggle("error", !reply.ok);
    el.textContent = reply.ok ? `${what}: done` : `${what}: ${reply.error || "failed"}`;
  }

  async function command(type, extra) {
    const reply = await daemon.send({ type, ...extra });
    say(reply, extra && extra.user ? `${type} ${extra.user}` : type);
    refresh();
  }

  function onEvent(e) {
    if (e.event === "tts.rejected") {
      const reason = e.reason || "unknown";
      rejections.set(reason, (rejections.get(reason) || 0) + 1);
      renderRejections();
    }
    if (["tts.finished", "tts.skipped", "tts.dropped"].includes(e.event)) refreshHistory();
    refresh();
  }

  $("skip").addEventListener("click", () => command("skip"));
  $("pause").addEventListener("click", () => command("pause"));
  $("resume").addEventListener("click", () => command("resume"));
  $("clear").addEventListener("click", () => {
    if (confirm("Drop every waiting message?")) command("clear");
  });
  $("ban-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const user = $("ban-user").value.trim();
    const action = ev.submitter && ev.submitter.value === "unban" ? "unban" : "ban";
    if (user) command(action, { user }).then(() => ($("ban-user").value = ""));
  });

  // pronunciations: the reply says how the word is read now (or why not)
  $("say-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const term = $("say-term").value.trim();
    const respelling = $("say-respelling").value.trim();
    const type = ev.submitter && ev.submitter.value === "unsay" ? "unsay" : "say";
    if (!term || (type === "say" && !respelling)) return;
    const reply = await daemon.send(type === "say" ? { type, term, respelling } : { type, term });
    const el = $("result");
    el.classList.toggle("error", !reply.ok);
    el.textContent = reply.ok
      ? reply.detail || `${type} ${term}: done`
      : `${type} ${term}: ${reply.detail || reply.error || "failed"}`;
    if (reply.ok) $("say-term").value = $("say-respelling").value = "";
  });

  daemon = connectDaemon({
    onEvent,
    onOpen: () => {
      refresh();
      refreshHistory();
    },
    onStatus: (up) => {
      const s = $("status");
      s.textContent = up ? "connected" : "disconnected, retrying…";
      s.className = `status ${up ? "up" : "down"}`;
    },
  });
  setInterval(refresh, 5000);
  setInterval(() => document.querySelectorAll("td[data-hold-end]").forEach(tickHold), 1000);
  renderRejections();
})();

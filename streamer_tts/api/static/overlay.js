"use strict";
// The overlay: a caption appears on tts.started and leaves when that message
// ends (finished, skipped, dropped, failed, interrupted). tts.started names the
// user and the text; the kind comes from tts.accepted or, for a message accepted
// before the page opened, from what the subscribe reply says is playing (the
// overlay's token may ask nothing else).

(() => {
  const box = document.getElementById("caption");
  const userEl = document.getElementById("caption-user");
  const kindEl = document.getElementById("caption-kind");
  const textEl = document.getElementById("caption-text");
  const sources = new Map(); // message id -> source, for messages not yet over
  const ENDS = new Set(["tts.finished", "tts.skipped", "tts.dropped", "tts.failed", "tts.interrupted"]);
  let current = null;
  let daemon = null;

  function setKind(source) {
    box.dataset.source = source || "";
    kindEl.textContent = sourceLabel(source);
  }

  function show(id, user, text, source) {
    current = id;
    box.dataset.id = id;
    userEl.textContent = user || "";
    textEl.textContent = text || "";
    setKind(source);
    box.classList.add("visible");
  }

  function hide() {
    current = null;
    delete box.dataset.id;
    box.classList.remove("visible");
  }

  async function syncPlaying(onlyId, reply) {
    const snap = reply || (await daemon.send({ type: "subscribe" }));
    if (!snap || !snap.ok) return;
    const p = snap.playing;
    if (onlyId !== undefined) {
      if (p && p.id === onlyId && current === onlyId) setKind(p.kind || p.source);
    } else if (p) {
      show(p.id, p.user, p.text, p.kind || p.source);
    } else {
      hide();
    }
  }

  function onEvent(e) {
    if (e.event === "tts.accepted") {
      sources.set(e.id, e.kind || e.source);
      if (sources.size > 5000) sources.delete(sources.keys().next().value);
    } else if (e.event === "tts.started") {
      const source = sources.get(e.id);
      show(e.id, e.user, e.text, source);
      if (source === undefined) syncPlaying(e.id);
    } else if (ENDS.has(e.event)) {
      if (e.event !== "tts.interrupted") sources.delete(e.id);
      if (e.id === current) hide();
    }
  }

  daemon = connectDaemon({
    onEvent,
    onOpen: (reply) => syncPlaying(undefined, reply),
    onStatus: (up) => {
      document.body.dataset.connected = up ? "yes" : "no";
      if (!up) hide();
    },
  });
})();

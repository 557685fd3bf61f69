"use strict";
// The WebSocket to the daemon, shared by the overlay and the dashboard.
// The token comes from the page's own URL (?token=...): the overlay's read-only
// token may only subscribe, whose reply says what is playing (passed to onOpen).
// Replies carry no id but come back in the order the requests were sent, so a
// FIFO of resolvers pairs them; pushed events ({"type": "event"}) go to
// onEvent. When the daemon goes away the socket is reopened every 2 s until it
// is back.

const RETRY_MS = 2000;

function connectDaemon({ onEvent, onOpen, onStatus }) {
  const token = new URLSearchParams(location.search).get("token") || "";
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws?token=${encodeURIComponent(token)}`;
  let ws = null;
  let pending = [];

  function send(msg) {
    return new Promise((resolve) => {
      if (!ws || ws.readyState !== WebSocket.OPEN) {
        resolve({ ok: false, error: "not connected" });
        return;
      }
      pending.push(resolve);
      ws.send(JSON.stringify(msg));
    });
  }

  function open() {
    ws = new WebSocket(url);
    ws.onopen = () => {
      if (onStatus) onStatus(true);
      send({ type: "subscribe" }).then((reply) => {
        if (onOpen) onOpen(reply);
      });
    };
    ws.onmessage = (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      if (data && data.type === "event") {
        if (onEvent) onEvent(data);
      } else {
        const resolve = pending.shift();
        if (resolve) resolve(data);
      }
    };
    ws.onclose = () => {
      const waiting = pending;
      pending = [];
      for (const resolve of waiting) resolve({ ok: false, error: "disconnected" });
      if (onStatus) onStatus(false);
      setTimeout(open, RETRY_MS);
    };
  }

  open();
  return { send };
}

const SOURCE_LABELS = {
  chat: "chat",
  cheer: "cheer",
  subscription: "sub",
  gift: "gift sub",
  redemption: "redemption",
  raid: "raid",
  follow: "follow",
  api: "announcement",
  streamelements: "StreamElements tip",
  streamlabs: "Streamlabs tip",
  kofi: "Ko-fi tip",
};

function sourceLabel(source) {
  return SOURCE_LABELS[source] || source || "";
}

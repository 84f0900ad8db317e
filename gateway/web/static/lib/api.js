// The GraphQL API as the pages use it: queries and mutations over HTTP (with the session's CSRF
// token), subscriptions over one graphql-transport-ws socket.
import { say } from "./status.js";
import { t } from "./i18n.js";

const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

export async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrfToken },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401 || response.status === 403) { window.location = "/login"; }
  const body = await response.json();
  if (body.errors) { throw new Error(body.errors[0].message); }
  return body.data;
}

// One socket, many subscriptions; reconnects with backoff and subscribes again.
class LiveSocket {
  constructor() { this.handlers = new Map(); this.next = 1; this.backoff = 500; this.open(); }
  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ready = new Promise((resolve) => {
      this.ws = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
      this.ws.onopen = () => this.ws.send(JSON.stringify({ type: "connection_init" }));
      this.ws.onmessage = (event) => this.receive(JSON.parse(event.data), resolve);
      this.ws.onclose = () => {
        say(t("live.lost"));
        setTimeout(() => this.reopen(), this.backoff);
        this.backoff = Math.min(this.backoff * 2, 10000);
      };
    });
  }
  reopen() { this.open(); for (const [id, sub] of this.handlers) { this.send(id, sub); } }
  receive(message, resolve) {
    if (message.type === "connection_ack") { this.backoff = 500; say(t("live.connected")); resolve(); }
    else if (message.type === "ping") { this.ws.send(JSON.stringify({ type: "pong" })); }
    else if (message.type === "next") { this.handlers.get(message.id)?.onData(message.payload.data); }
    else if (message.type === "error") { say(t("live.error", { message: message.payload[0]?.message })); }
  }
  async send(id, sub) { await this.ready; this.ws.send(JSON.stringify({ id, type: "subscribe", payload: sub.payload })); }
  subscribe(query, variables, onData) {
    const id = String(this.next++);
    const sub = { payload: { query, variables }, onData };
    this.handlers.set(id, sub);
    this.send(id, sub);
    return () => { this.handlers.delete(id); if (this.ws.readyState === 1) { this.ws.send(JSON.stringify({ id, type: "complete" })); } };
  }
}

let socket = null;
export function subscribe(query, variables, onData) {
  socket ??= new LiveSocket();
  return socket.subscribe(query, variables, onData);
}

export const LIVE_VALUES = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId timestamp value } }";

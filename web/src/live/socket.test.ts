import { describe, expect, it } from "vitest";
import { LiveSocket, MAX_DELAY_MS, SILENCE_MS, type LinkState, type SocketLike } from "./socket";

class FakeSocket implements SocketLike {
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closedWith: number | null = null;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  constructor(readonly url: string) {}
  send(data: string): void {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(message: object): void {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: "" });
  }
}

function harness(tokens: string[] = ["t1", "t2", "t3", "t4"]) {
  let clock = 0;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  const sockets: FakeSocket[] = [];
  const states: LinkState[] = [];
  const metrics: [string, unknown][] = [];
  const tokenCalls: boolean[] = [];
  const socket = new LiveSocket({
    url: () => "ws://example.test/ws",
    token: async (force) => {
      tokenCalls.push(force);
      return tokens.shift() ?? null;
    },
    events: {
      onState: (s) => states.push(s),
      onMetrics: (account, data) => metrics.push([account, data]),
      onRiskEvent: () => undefined,
      onError: () => undefined,
    },
    create: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    now: () => clock,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ at: clock + ms, fn, id });
      return id;
    },
    clearTimer: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      if (i >= 0) timers.splice(i, 1);
    },
    random: () => 1, // the top of the jitter: the delays are the ceilings
  });
  const advance = async (ms: number) => {
    const until = clock + ms;
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const due = timers[0];
      if (!due || due.at > until) break;
      timers.shift();
      clock = due.at;
      due.fn();
      await Promise.resolve();
      await Promise.resolve();
    }
    clock = until;
  };
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { socket, sockets, states, metrics, tokenCalls, advance, flush };
}

describe("LiveSocket", () => {
  it("authenticates in its first frame, never in the URL, then subscribes", async () => {
    const h = harness();
    h.socket.subscribe(["A1", "A2"]);
    h.socket.start();
    await h.flush();
    const [ws] = h.sockets;
    expect(ws!.url).toBe("ws://example.test/ws");
    ws!.open();
    expect(ws!.sent).toEqual([{ type: "auth", token: "t1" }]);
    ws!.receive({ type: "authenticated", role: "trader" });
    expect(ws!.sent[1]).toEqual({ type: "subscribe", accounts: ["A1", "A2"] });
    expect(h.states.at(-1)).toBe("live");
    ws!.receive({ type: "metrics", account: "A1", data: { login: "A1", status: "active", equity: 1 } });
    expect(h.metrics).toEqual([["A1", { login: "A1", status: "active", equity: 1 }]]);
  });

  it("reconnects with backoff and re-subscribes everything it held", async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ type: "authenticated" });
    h.socket.subscribe(["A1"]);
    h.socket.subscribeRisk();
    h.sockets[0]!.drop(1006);
    expect(h.states.at(-1)).toBe("reconnecting");
    await h.advance(499);
    expect(h.sockets).toHaveLength(1); // not before the first delay (0.5 s)
    await h.advance(1);
    await h.flush();
    expect(h.sockets).toHaveLength(2);
    h.sockets[1]!.drop(1006); // never opened: the next wait doubles
    await h.advance(999);
    expect(h.sockets).toHaveLength(2);
    await h.advance(1);
    await h.flush();
    const ws = h.sockets[2]!;
    ws.open();
    ws.receive({ type: "authenticated" });
    expect(ws.sent.slice(1)).toEqual([
      { type: "subscribe", accounts: ["A1"] },
      { type: "subscribe", feed: "risk" },
    ]);
    expect(h.states.at(-1)).toBe("live");
  });

  it("caps the backoff at 30 s and jitters below it", () => {
    const h = harness();
    expect(h.socket.delay(0)).toBe(500);
    expect(h.socket.delay(3)).toBe(4000);
    expect(h.socket.delay(20)).toBe(MAX_DELAY_MS);
  });

  it("gets a new token when the gateway refuses one (4001)", async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.drop(4001);
    await h.advance(500);
    await h.flush();
    expect(h.tokenCalls).toEqual([false, true]);
    h.sockets[1]!.open();
    expect(h.sockets[1]!.sent[0]).toEqual({ type: "auth", token: "t2" });
  });

  it("treats 40 s without a frame as a dead link", async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ type: "authenticated" });
    await h.advance(20_000);
    expect(h.sockets[0]!.sent.at(-1)).toEqual({ type: "ping" });
    await h.advance(SILENCE_MS - 20_000);
    expect(h.sockets[0]!.closedWith).toBe(4000);
    expect(h.states.at(-1)).toBe("reconnecting");
    await h.advance(500);
    await h.flush();
    expect(h.sockets).toHaveLength(2);
  });

  it("counts subscriptions: the last view to leave unsubscribes", async () => {
    const h = harness();
    h.socket.start();
    await h.flush();
    h.sockets[0]!.open();
    h.sockets[0]!.receive({ type: "authenticated" });
    h.socket.subscribe(["A1"]);
    h.socket.subscribe(["A1"]);
    h.socket.unsubscribe(["A1"]);
    expect(h.sockets[0]!.sent.filter((m) => m.type === "unsubscribe")).toEqual([]);
    h.socket.unsubscribe(["A1"]);
    expect(h.sockets[0]!.sent.at(-1)).toEqual({ type: "unsubscribe", accounts: ["A1"] });
  });

  it("stops for good when signed out: no token, no reconnect", async () => {
    const h = harness([]);
    h.socket.start();
    await h.flush();
    expect(h.sockets).toHaveLength(0);
    expect(h.states.at(-1)).toBe("idle");
  });
});

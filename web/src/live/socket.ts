/** One websocket per tab (see the gateway's /ws protocol: JSON frames with a `type`).
 *
 * It authenticates with a fresh access token in its first frame (never in the URL),
 * re-subscribes everything after a reconnect, reconnects with exponential backoff and
 * jitter (0.5 s doubling to 30 s), treats 40 s without a frame as a dead link (the
 * gateway sends a heartbeat every 15 s), and asks for a new token when the gateway
 * refuses one (close 4001). It knows nothing of React: pages read it through live/store. */

export type LinkState = "idle" | "connecting" | "live" | "reconnecting";

export interface Metrics {
  login: string;
  status: string;
  ts?: string | null;
  balance?: number | null;
  equity?: number | null;
  daily_floor?: number | null;
  max_loss_floor?: number | null;
  open_positions?: number | null;
  as_of?: string | null;
  stale?: boolean;
  [extra: string]: unknown;
}

export interface EngineAnswer {
  type: "breach" | "objective" | "passed" | "resumed";
  account: string;
  ts: string;
  [field: string]: unknown;
}

export interface RiskEventMessage {
  /** The answer's stable id (`<partition>:<seq>:<n>`), as in the REST lists. */
  id: string;
  event: EngineAnswer;
}

export interface SocketEvents {
  onState(state: LinkState): void;
  onMetrics(account: string, data: Metrics): void;
  onRiskEvent(message: RiskEventMessage): void;
  onError(code: string, message: string): void;
}

export interface SocketLike {
  readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface SocketOptions {
  url: () => string;
  /** A valid access token, refreshed if needed; null when signed out. */
  token: (forceRefresh: boolean) => Promise<string | null>;
  events: SocketEvents;
  create?: (url: string) => SocketLike;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  random?: () => number;
}

const OPEN = 1;
export const BASE_DELAY_MS = 500;
export const MAX_DELAY_MS = 30_000;
export const SILENCE_MS = 40_000;
const PING_MS = 20_000;

export class LiveSocket {
  private socket: SocketLike | null = null;
  private readonly accounts = new Map<string, number>();
  private riskFeed = 0;
  private attempts = 0;
  private state: LinkState = "idle";
  private reconnectTimer: unknown = null;
  private watchdog: unknown = null;
  private lastFrame = 0;
  private authenticated = false;
  private stopped = true;
  private forceRefresh = false;
  private readonly o: Required<SocketOptions>;

  constructor(options: SocketOptions) {
    this.o = {
      create: (url) => new WebSocket(url) as unknown as SocketLike,
      now: () => Date.now(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
      random: Math.random,
      ...options,
    };
  }

  get linkState(): LinkState {
    return this.state;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.o.clearTimer(this.reconnectTimer);
    this.o.clearTimer(this.watchdog);
    const socket = this.socket;
    this.socket = null;
    this.authenticated = false;
    if (socket) {
      socket.onclose = null;
      socket.close(1000, "signed out");
    }
    this.setState("idle");
  }

  /** Subscriptions are counted: two views of one account keep one subscription. */
  subscribe(logins: readonly string[]): void {
    const fresh = logins.filter((login) => {
      const count = this.accounts.get(login) ?? 0;
      this.accounts.set(login, count + 1);
      return count === 0;
    });
    if (fresh.length) this.send({ type: "subscribe", accounts: fresh });
  }

  unsubscribe(logins: readonly string[]): void {
    const gone = logins.filter((login) => {
      const count = (this.accounts.get(login) ?? 0) - 1;
      if (count <= 0) this.accounts.delete(login);
      else this.accounts.set(login, count);
      return count <= 0;
    });
    if (gone.length) this.send({ type: "unsubscribe", accounts: gone });
  }

  subscribeRisk(): void {
    this.riskFeed += 1;
    if (this.riskFeed === 1) this.send({ type: "subscribe", feed: "risk" });
  }

  unsubscribeRisk(): void {
    this.riskFeed = Math.max(0, this.riskFeed - 1);
    if (this.riskFeed === 0) this.send({ type: "unsubscribe", feed: "risk" });
  }

  /** The delay before reconnect attempt `n` (0-based): full jitter over 0.5 s · 2ⁿ, ≤ 30 s. */
  delay(n: number): number {
    const ceiling = Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** n);
    return Math.round(ceiling / 2 + (ceiling / 2) * this.o.random());
  }

  private send(message: object): void {
    if (this.socket && this.authenticated && this.socket.readyState === OPEN) {
      this.socket.send(JSON.stringify(message));
    }
  }

  private setState(state: LinkState): void {
    if (state === this.state) return;
    this.state = state;
    this.o.events.onState(state);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    this.setState(this.attempts === 0 && this.state === "idle" ? "connecting" : "reconnecting");
    const token = await this.o.token(this.forceRefresh);
    this.forceRefresh = false;
    if (this.stopped) return;
    if (token === null) {
      this.stop();
      return;
    }
    const socket = this.o.create(this.o.url());
    this.socket = socket;
    this.authenticated = false;
    socket.onopen = () => {
      this.lastFrame = this.o.now();
      socket.send(JSON.stringify({ type: "auth", token }));
      this.arm();
    };
    socket.onmessage = (event) => this.receive(event.data);
    socket.onerror = () => undefined; // a close follows
    socket.onclose = (event) => this.closed(socket, event.code);
  }

  private arm(): void {
    this.o.clearTimer(this.watchdog);
    this.watchdog = this.o.setTimer(() => this.check(), PING_MS);
  }

  private check(): void {
    const socket = this.socket;
    if (!socket || this.stopped) return;
    if (this.o.now() - this.lastFrame >= SILENCE_MS) {
      socket.close(4000, "no frame for 40 s");
      this.closed(socket, 1006);
      return;
    }
    if (this.authenticated) socket.send(JSON.stringify({ type: "ping" }));
    this.arm();
  }

  private receive(raw: unknown): void {
    this.lastFrame = this.o.now();
    if (typeof raw !== "string") return;
    let message: { type?: string; [key: string]: unknown };
    try {
      message = JSON.parse(raw) as typeof message;
    } catch {
      return;
    }
    switch (message.type) {
      case "authenticated":
        this.authenticated = true;
        this.attempts = 0;
        this.setState("live");
        if (this.accounts.size) this.send({ type: "subscribe", accounts: [...this.accounts.keys()] });
        if (this.riskFeed > 0) this.send({ type: "subscribe", feed: "risk" });
        break;
      case "metrics":
        this.o.events.onMetrics(String(message.account), message.data as Metrics);
        break;
      case "risk_event":
        this.o.events.onRiskEvent({ id: String(message.id), event: message.event as EngineAnswer });
        break;
      case "error":
        this.o.events.onError(String(message.code), String(message.message ?? ""));
        break;
      default:
        break; // subscribed, pong, heartbeat: the frame itself kept the link alive
    }
  }

  private closed(socket: SocketLike, code: number): void {
    if (socket !== this.socket) return;
    socket.onclose = null;
    this.socket = null;
    this.authenticated = false;
    this.o.clearTimer(this.watchdog);
    if (this.stopped) return;
    if (code === 4001) this.forceRefresh = true; // the token was refused: get a new one
    const wait = this.delay(this.attempts);
    this.attempts += 1;
    this.setState("reconnecting");
    this.reconnectTimer = this.o.setTimer(() => void this.connect(), wait);
  }
}

/** The session: the access token (memory only) and who is signed in. The refresh token
 * lives in an HttpOnly cookie that no page script can read. */
import { create } from "zustand";
import type { components } from "../api/schema";

export type User = components["schemas"]["UserOut"];
export type SessionStatus = "unknown" | "anonymous" | "signed-in";

interface SessionState {
  status: SessionStatus;
  accessToken: string | null;
  /** Epoch milliseconds when the access token expires. */
  expiresAt: number;
  user: User | null;
  signIn(token: string, expiresIn: number): void;
  setUser(user: User): void;
  signOut(): void;
}

export const useSession = create<SessionState>()((set) => ({
  status: "unknown",
  accessToken: null,
  expiresAt: 0,
  user: null,
  signIn: (token, expiresIn) =>
    set({ accessToken: token, expiresAt: Date.now() + expiresIn * 1000, status: "signed-in" }),
  setUser: (user) => set({ user }),
  signOut: () => set({ accessToken: null, expiresAt: 0, user: null, status: "anonymous" }),
}));

/** The roles that work the risk desk (risk, admin, owner). */
export const STAFF_ROLES: readonly User["role"][] = ["risk", "admin", "owner"];

export function isAdmin(user: Pick<User, "role"> | null | undefined): boolean {
  return user?.role === "admin" || user?.role === "owner";
}

export function isStaff(user: Pick<User, "role"> | null | undefined): boolean {
  return user !== null && user !== undefined && STAFF_ROLES.includes(user.role);
}

// Every failure in words: the API's problem documents, a contract's custom error, a wallet refusal.
import type { components } from "../api/schema";

export type Problem = components["schemas"]["Problem"];

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly problem: Problem | null,
  ) {
    super(problem?.detail ?? `request failed (${status})`);
  }
}

/** The API could not be reached at all (down, or the network). */
export class OfflineError extends Error {}

export type ErrorKind = "cancelled" | "session" | "offline" | "revert" | "invalid" | "conflict" | "other";

export interface Described {
  kind: ErrorKind;
  /** The server's or the contract's own words, when there are any. */
  detail: string | null;
}

/** Wallets report a user's "reject" as EIP-1193 code 4001 (viem wraps it, keeping the code). */
function isUserRejection(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e && depth < 6; depth += 1) {
    const o = e as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown };
    if (o.code === 4001 || o.name === "UserRejectedRequestError") return true;
    if (typeof o.message === "string" && /user (rejected|denied)|rejected the request/i.test(o.message)) return true;
    e = o.cause;
  }
  return false;
}

export function describeError(error: unknown): Described {
  if (isUserRejection(error)) return { kind: "cancelled", detail: null };
  if (error instanceof OfflineError) return { kind: "offline", detail: null };
  if (error instanceof ApiError) {
    const p = error.problem;
    if (error.status === 401) return { kind: "session", detail: p?.detail ?? null };
    if (p?.code === "transaction_would_revert") {
      return { kind: "revert", detail: p.detail };
    }
    if (error.status === 422 || error.status === 400) {
      const first = p?.errors?.slice(0, 3).map((e) => `${e.loc ?? ""}: ${e.msg ?? ""}`.replace(/^: /, ""));
      return { kind: "invalid", detail: first && first.length ? first.join("; ") : (p?.detail ?? null) };
    }
    if (error.status === 409) return { kind: "conflict", detail: p?.detail ?? null };
    if (error.status >= 500) return { kind: "offline", detail: p?.detail ?? null };
    return { kind: "other", detail: p?.detail ?? error.message };
  }
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) return { kind: "offline", detail: null };
  const message = error instanceof Error ? (error as { shortMessage?: string }).shortMessage ?? error.message : String(error);
  return { kind: "other", detail: message };
}

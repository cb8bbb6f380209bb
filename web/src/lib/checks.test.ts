import { describe, expect, it } from "vitest";
import type { Verification } from "../api/client";
import { checksOf } from "./checks";

const base = {
  chain_id: 31337,
  token_id: "1",
  exists: true,
  valid: true,
  reasons: [],
  revoked: false,
  issuer_accredited: true,
  expires_at: null,
  engagement_id: null,
} as unknown as Verification;

const result = (v: Verification, now?: number) => Object.fromEntries(checksOf(v, now).map((c) => [c.key, c.ok]));

describe("the verify page's checks", () => {
  it("a valid credential passes each check it can make", () => {
    expect(result(base)).toEqual({
      exists: true,
      revoked: true,
      expired: true,
      metadata: true,
      accreditedAtIssue: true, // the contract mints only for accredited issuers
      accredited: true,
      engagement: null,
    });
  });
  it("a missing credential fails existence and makes no other check", () => {
    const checks = result({ ...base, exists: false, valid: false, reasons: ["not found"], issuer_accredited: null } as Verification);
    expect(checks.exists).toBe(false);
    expect([checks.revoked, checks.expired, checks.metadata, checks.accreditedAtIssue, checks.accredited]).toEqual([null, null, null, null, null]);
  });
  it("revoked, expired, a bad document and a de-accredited issuer each fail on their own line", () => {
    const v = { ...base, valid: false, revoked: true, expires_at: 100, reasons: ["revoked", "metadata digest mismatch"], issuer_accredited: false } as Verification;
    const checks = checksOf(v, 200);
    expect(Object.fromEntries(checks.map((c) => [c.key, c.ok]))).toMatchObject({ revoked: false, expired: false, metadata: false, accredited: false, accreditedAtIssue: true });
    expect(checks.find((c) => c.key === "metadata")?.detail).toBe("metadata digest mismatch");
  });
});

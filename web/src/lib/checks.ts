// The checks the Verify page lists, each with its result: true (passed), false (failed), null (not
// made, e.g. revocation of a credential that does not exist).
import type { Verification } from "../api/client";

export type Check = { key: string; ok: boolean | null; detail?: string };

export function checksOf(v: Verification, now = Date.now() / 1000): Check[] {
  const reasons = v.reasons;
  const metadataProblem = reasons.find((r) => r !== "revoked" && r !== "expired" && r !== "not found");
  return [
    { key: "exists", ok: v.exists },
    { key: "revoked", ok: v.exists ? !v.revoked : null },
    { key: "expired", ok: v.exists ? !(v.expires_at && v.expires_at <= now) : null },
    { key: "metadata", ok: v.exists ? !metadataProblem : null, detail: metadataProblem },
    // The contract mints only for an accredited issuer: a credential that exists was issued by one.
    { key: "accreditedAtIssue", ok: v.exists ? true : null },
    { key: "accredited", ok: v.issuer_accredited ?? null },
    { key: "engagement", ok: v.engagement_id ? true : null },
  ];
}

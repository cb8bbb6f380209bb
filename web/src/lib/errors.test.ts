import { describe, expect, it } from "vitest";
import { ApiError, describeError, OfflineError } from "./errors";

describe("errors in words", () => {
  it("a wallet rejection is 'you cancelled', however deeply it is wrapped", () => {
    expect(describeError({ code: 4001, message: "User rejected the request." }).kind).toBe("cancelled");
    const wrapped = Object.assign(new Error("Transaction failed"), { cause: { cause: { code: 4001 } } });
    expect(describeError(wrapped).kind).toBe("cancelled");
    expect(describeError(Object.assign(new Error("x"), { name: "UserRejectedRequestError" })).kind).toBe("cancelled");
  });
  it("a doomed transaction shows the contract's decoded error", () => {
    const e = new ApiError(409, {
      type: "urn:skillchain:problem:transaction_would_revert",
      title: "Conflict",
      status: 409,
      detail: "SkillEscrow refuses: MilestoneNotOpen (engagement 3, milestone 0 is released)",
      code: "transaction_would_revert",
      contract: "SkillEscrow",
      error: "MilestoneNotOpen",
    });
    expect(describeError(e)).toEqual({ kind: "revert", detail: "SkillEscrow refuses: MilestoneNotOpen (engagement 3, milestone 0 is released)" });
  });
  it("validation errors name the fields", () => {
    const e = new ApiError(422, {
      type: "x", title: "Unprocessable", status: 422, detail: "1 error", code: "invalid",
      errors: [{ loc: "milestones.0.amount", msg: "must be a positive integer", type: "value_error" }],
    });
    expect(describeError(e)).toEqual({ kind: "invalid", detail: "milestones.0.amount: must be a positive integer" });
  });
  it("an expired session, an API that is down", () => {
    expect(describeError(new ApiError(401, null)).kind).toBe("session");
    expect(describeError(new OfflineError("down")).kind).toBe("offline");
    expect(describeError(new TypeError("Failed to fetch")).kind).toBe("offline");
    expect(describeError(new ApiError(503, null)).kind).toBe("offline");
  });
});

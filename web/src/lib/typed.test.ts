import { describe, expect, it } from "vitest";
import { parseSse } from "./live";
import { toViemTypedData } from "./typed";

describe("typed data from the API", () => {
  it("turns decimal-string uint256 into bigint without losing a digit", () => {
    const nonce = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    const out = toViemTypedData({
      types: {
        EIP712Domain: [{ name: "chainId", type: "uint256" }],
        Voucher: [
          { name: "nonce", type: "uint256" },
          { name: "holder", type: "address" },
          { name: "amounts", type: "uint64[]" },
        ],
      },
      primaryType: "Voucher",
      domain: { chainId: "31337", name: "SkillCredential" },
      message: { nonce, holder: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", amounts: ["1", "2"] },
    });
    expect(out.message.nonce).toBe(BigInt(nonce));
    expect(out.message.amounts).toEqual([1n, 2n]);
    expect(out.domain.chainId).toBe(31337);
    expect("EIP712Domain" in out.types).toBe(false);
  });
});

describe("server-sent events", () => {
  it("splits frames, keeps a partial one, skips comments", () => {
    const { items, rest } = parseSse(': ping\n\nid: 7\nevent: chain_event\ndata: {"engagement_id":3}\n\nid: 8\nevent: ret');
    expect(items).toEqual([{ id: "7", event: "chain_event", data: { engagement_id: 3 } }]);
    expect(rest).toBe("id: 8\nevent: ret");
  });
});

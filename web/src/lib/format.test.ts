import { describe, expect, it } from "vitest";
import { AmountError, endOfDay, feeOf, formatDateTime, formatPrice, formatTokenAmount, parseTokenAmount, quoteOf, shortAddress, zoneOffsetMinutes } from "./format";

describe("amounts in human units", () => {
  it("shows wei as ETH and keeps precision beyond 2^53", () => {
    expect(formatTokenAmount("10000000000000000", 18, "ETH", "en")).toBe("0.01 ETH");
    expect(formatTokenAmount(123456789012345678901234567n, 18, "ETH", "en")).toBe("123,456,789.012345 ETH");
    expect(formatTokenAmount("25000000", 6, "tUSD", "en")).toBe("25 tUSD");
  });
  it("uses the locale's separators", () => {
    expect(formatTokenAmount("1500500000000000000000", 18, "ETH", "es")).toBe("1500,5 ETH");
    expect(formatTokenAmount("1250000", 6, "tUSD", "de")).toBe("1,25 tUSD");
    expect(formatTokenAmount("100000000000000000000000", 18, "ETH", "hi")).toBe("1,00,000 ETH");
  });
  it("parses what people type, in either decimal convention", () => {
    expect(parseTokenAmount("0.01", 18)).toBe(10_000_000_000_000_000n);
    expect(parseTokenAmount("0,01", 18)).toBe(10_000_000_000_000_000n);
    expect(parseTokenAmount(" 1 000.5 ", 6)).toBe(1_000_500_000n);
    expect(parseTokenAmount(".5", 6)).toBe(500_000n);
  });
  it("refuses in words what it cannot read", () => {
    const reason = (text: string, decimals = 6) => {
      try {
        parseTokenAmount(text, decimals);
        return "ok";
      } catch (e) {
        return (e as AmountError).reason;
      }
    };
    expect(reason("")).toBe("empty");
    expect(reason("abc")).toBe("format");
    expect(reason("1e18")).toBe("format");
    expect(reason("-1")).toBe("format");
    expect(reason("0.0000001")).toBe("precision");
    expect(reason("0")).toBe("zero");
  });
});

describe("fees and the quote", () => {
  it("rounds the fee down per milestone, as the contract does", () => {
    expect(feeOf(39n, 250)).toBe(0n);
    const q = quoteOf(Array(16).fill(39n), 250);
    expect(q).toEqual({ total: 624n, fee: 0n, provider: 624n });
    expect(quoteOf([1_000_000n, 3_000_000n], 250)).toEqual({ total: 4_000_000n, fee: 100_000n, provider: 3_900_000n });
  });
});

describe("prices and dates", () => {
  it("formats fiat by ISO code and tokens by symbol", () => {
    expect(formatPrice("18", "USD", "en")).toBe("$18.00");
    expect(formatPrice("18", "EUR", "es")).toMatch(/18,00\s€/);
    expect(formatPrice("1500", "INR", "hi")).toMatch(/₹\s?1,500\.00/);
    expect(formatPrice("0.5", "tUSD", "en")).toBe("0.5 tUSD");
  });
  it("shows one instant in each viewer's time zone", () => {
    const t = Date.UTC(2026, 2, 29, 1, 30) / 1000; // the night Europe moves its clocks
    expect(formatDateTime(t, "en-GB", "Europe/Madrid")).toContain("03:30");
    expect(formatDateTime(t, "en-GB", "Asia/Kolkata")).toContain("07:00");
    expect(formatDateTime(t, "en-GB", "America/New_York")).toContain("21:30");
  });
  it("ends a calendar day in the chooser's zone, across daylight-saving changes", () => {
    expect(endOfDay("2026-03-29", "Europe/Madrid")).toBe(Date.UTC(2026, 2, 29, 21, 59, 59) / 1000);
    expect(endOfDay("2026-03-28", "Europe/Madrid")).toBe(Date.UTC(2026, 2, 28, 22, 59, 59) / 1000);
    expect(endOfDay("2026-06-01", "Asia/Kolkata")).toBe(Date.UTC(2026, 5, 1, 18, 29, 59) / 1000);
    expect(zoneOffsetMinutes(Date.UTC(2026, 0, 1), "America/New_York")).toBe(-300);
  });
  it("shortens addresses", () => {
    expect(shortAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")).toBe("0x7099…79C8");
  });
});

// Money, addresses and dates as people read them: human units, the viewer's locale and time zone.
import { formatUnits, parseUnits } from "viem";

export const ETH_ADDRESS = "0x0000000000000000000000000000000000000000";

export function shortAddress(address: string): string {
  return address.length > 12 ? `${address.slice(0, 6)}…${address.slice(-4)}` : address;
}

/** An on-chain amount (smallest unit, decimal string) in human units: "0.01 ETH", "25 tUSD". */
export function formatTokenAmount(raw: string | bigint, decimals: number, symbol: string, locale: string): string {
  const human = formatUnits(typeof raw === "bigint" ? raw : BigInt(raw), decimals);
  const [whole = "0", fraction = ""] = human.split(".");
  const digits = Math.min(fraction.length, 6);
  const number = new Intl.NumberFormat(locale, { minimumFractionDigits: 0, maximumFractionDigits: digits });
  // Format the whole part exactly (BigInt) and append the fraction with the locale's separator.
  const wholeText = number.format(BigInt(whole));
  const kept = fraction.slice(0, digits).replace(/0+$/, "");
  const separator = new Intl.NumberFormat(locale).formatToParts(1.5).find((p) => p.type === "decimal")?.value ?? ".";
  return `${wholeText}${kept ? separator + kept : ""} ${symbol}`;
}

export class AmountError extends Error {
  constructor(public readonly reason: "empty" | "format" | "precision" | "zero") {
    super(reason);
  }
}

/** What a person typed ("0.01", "0,01", "1 000.5") into the smallest unit; refused in words. */
export function parseTokenAmount(text: string, decimals: number): bigint {
  const cleaned = text.trim().replace(/[\s\u00a0_]/g, "");
  if (!cleaned) throw new AmountError("empty");
  // Accept one decimal separator, "." or ","; a number with both uses the last one as decimal.
  const lastDot = cleaned.lastIndexOf(".");
  const lastComma = cleaned.lastIndexOf(",");
  const decimalAt = Math.max(lastDot, lastComma);
  let normal = cleaned;
  if (decimalAt >= 0) {
    const before = cleaned.slice(0, decimalAt).replace(/[.,]/g, "");
    normal = `${before}.${cleaned.slice(decimalAt + 1)}`;
  }
  if (!/^\d*\.?\d*$/.test(normal) || normal === "." ) throw new AmountError("format");
  const fraction = normal.split(".")[1] ?? "";
  if (fraction.length > decimals) throw new AmountError("precision");
  const value = parseUnits(normal.startsWith(".") ? `0${normal}` : normal, decimals);
  if (value === 0n) throw new AmountError("zero");
  return value;
}

/** A listing's price in its own currency: a fiat code through Intl, a token by its symbol. */
export function formatPrice(amount: string, currency: string, locale: string): string {
  const value = Number(amount);
  if (/^[A-Z]{3}$/.test(currency) && Number.isFinite(value)) {
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency }).format(value);
    } catch {
      /* not an ISO 4217 code: fall through */
    }
  }
  return `${Number.isFinite(value) ? new Intl.NumberFormat(locale).format(value) : amount} ${currency}`;
}

/** Unix seconds as a date and time in the viewer's (or a given) IANA time zone. */
export function formatDateTime(unixSeconds: number, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone }).format(
    new Date(unixSeconds * 1000),
  );
}

export function formatDate(unixSeconds: number, locale: string, timeZone?: string): string {
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone }).format(new Date(unixSeconds * 1000));
}

/** The escrow's fee on an amount, as the contract rounds it (down, per milestone). */
export function feeOf(amount: bigint, feeBps: number): bigint {
  return (amount * BigInt(feeBps)) / 10_000n;
}

export interface Quote {
  total: bigint;
  fee: bigint;
  provider: bigint;
}

/** What the wallet pays (every milestone) and what reaches the mentor after the fee. */
export function quoteOf(milestones: bigint[], feeBps: number): Quote {
  const total = milestones.reduce((a, b) => a + b, 0n);
  const fee = milestones.reduce((a, m) => a + feeOf(m, feeBps), 0n);
  return { total, fee, provider: total - fee };
}

/** The end of a local calendar day (yyyy-mm-dd) in a time zone, as unix seconds. */
export function endOfDay(isoDate: string, timeZone: string): number {
  const [y, m, d] = isoDate.split("-").map(Number) as [number, number, number];
  // Start from UTC midnight of the next day and correct by the zone's offset at that instant.
  const guess = Date.UTC(y, m - 1, d + 1, 0, 0, 0);
  const offset = zoneOffsetMinutes(guess, timeZone);
  return Math.floor((guess - offset * 60_000) / 1000) - 1;
}

/** Minutes the zone is ahead of UTC at an instant (e.g. +330 for Asia/Kolkata). */
export function zoneOffsetMinutes(instantMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instantMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((asUtc - Math.floor(instantMs / 1000) * 1000) / 60_000);
}

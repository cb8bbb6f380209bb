// The mentor's desk: weekly hours in their own time zone (with days off and a daily cap), and the
// bookings that came in.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { client, unwrap, type Schemas } from "../api/client";
import { Address, ConfirmAction, CopyButton, ErrorNote, Loading, Page } from "../components/ui";
import { Link } from "react-router";
import { useSend } from "../lib/send";
import { describeError } from "../lib/errors";
import { AmountError, formatDateTime, formatPrice, formatTokenAmount, parseTokenAmount } from "../lib/format";
import { useListingPrices } from "../lib/prices";
import { formatUnits } from "viem";
import { toViemTypedData, type ApiTypedData } from "../lib/typed";
import { useSignTypedData } from "wagmi";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";
import { ListingsEditor, ProfileEditor } from "./MentorListings";

interface Day {
  on: boolean;
  start: string;
  end: string;
}

const ZONES: string[] = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? ["UTC"];

export function Mentor() {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  if (!signedIn || !session) return <SignInFirst title={t("mentor.title")} />;
  return (
    <Page title={t("mentor.title")}>
      <ProfileEditor />
      <ListingsEditor />
      <AvailabilityEditor address={session.address} />
      <StandingOffers address={session.address} />
      <Bookings />
      <Outside />
      <CalendarFeed />
    </Page>
  );
}

function AvailabilityEditor({ address }: { address: string }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const current = useQuery({
    queryKey: ["mine", "availability", address],
    queryFn: async () => {
      const got = await client.GET("/users/{address}/availability", { params: { path: { address } } });
      return got.response.status === 404 ? null : unwrap(got);
    },
  });
  const [zone, setZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone);
  const [cap, setCap] = useState("");
  const [days, setDays] = useState<Day[]>(() => Array.from({ length: 7 }, (_, d) => ({ on: d < 5, start: "09:00", end: "17:00" })));
  const [off, setOff] = useState<string[]>([]);
  const [newOff, setNewOff] = useState("");
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    // Fill the form once from what is published; later refetches never overwrite what is being typed.
    if (loaded || current.data === undefined) return;
    setLoaded(true);
    const a = current.data;
    if (!a) return;
    setZone(a.timezone);
    setCap(a.daily_cap ? String(a.daily_cap) : "");
    setDays(
      Array.from({ length: 7 }, (_, d) => {
        const rule = a.rules.find((r) => r.weekday === d);
        return rule ? { on: true, start: rule.start, end: rule.end } : { on: false, start: "09:00", end: "17:00" };
      }),
    );
    setOff(a.exceptions.filter((x) => x.kind === "off" && !x.start).map((x) => x.date));
  }, [current.data, loaded]);

  const weekday = (d: number) => new Intl.DateTimeFormat(i18n.language, { weekday: "long", timeZone: "UTC" }).format(new Date(Date.UTC(2024, 0, 1 + d)));

  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      unwrap(
        await client.PUT("/me/availability", {
          body: {
            timezone: zone,
            daily_cap: cap ? Number(cap) : null,
            rules: days.flatMap((d, weekday) => (d.on ? [{ weekday, start: d.start, end: d.end === "00:00" ? "24:00" : d.end }] : [])),
            exceptions: off.map((date) => ({ date, kind: "off" as const })),
          },
        }),
      );
      status.say(t("mentor.saved"), "success");
      await queries.invalidateQueries({ queryKey: ["slots"] });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };

  if (current.isLoading) return <Loading />;
  if (current.error) return <ErrorNote error={current.error} />;
  return (
    <form className="stack" onSubmit={save} aria-labelledby="hours">
      <h2 id="hours">{t("mentor.hours")}</h2>
      <label>
        {t("mentor.zone")}
        <select value={zone} onChange={(e) => setZone(e.target.value)}>
          {ZONES.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      </label>
      {days.map((d, i) => (
        <fieldset key={i} className="row day">
          <legend>{weekday(i)}</legend>
          <label className="inline">
            <input type="checkbox" checked={d.on} onChange={(e) => setDays(days.map((x, j) => (j === i ? { ...x, on: e.target.checked } : x)))} />
            {t("mentor.available")}
          </label>
          <label>
            {t("mentor.from")}
            <input type="time" step={300} value={d.start} disabled={!d.on} onChange={(e) => setDays(days.map((x, j) => (j === i ? { ...x, start: e.target.value } : x)))} />
          </label>
          <label>
            {t("mentor.to")}
            <input type="time" step={300} value={d.end} disabled={!d.on} onChange={(e) => setDays(days.map((x, j) => (j === i ? { ...x, end: e.target.value } : x)))} />
          </label>
        </fieldset>
      ))}
      <label>
        {t("mentor.cap")}
        <input inputMode="numeric" value={cap} onChange={(e) => setCap(e.target.value.replace(/\D/g, ""))} />
      </label>
      <div className="row">
        <label>
          {t("mentor.dayOff")}
          <input type="date" value={newOff} onChange={(e) => setNewOff(e.target.value)} />
        </label>
        <button type="button" disabled={!newOff} onClick={() => { setOff([...new Set([...off, newOff])].sort()); setNewOff(""); }}>
          {t("mentor.addDayOff")}
        </button>
      </div>
      {off.length > 0 && (
        <ul aria-label={t("mentor.daysOff")}>
          {off.map((date) => (
            <li key={date}>
              {date}{" "}
              <button type="button" className="link-button" onClick={() => setOff(off.filter((x) => x !== date))} aria-label={t("mentor.removeDayOff", { date })}>
                {t("mentor.remove")}
              </button>
            </li>
          ))}
        </ul>
      )}
      <button className="primary">{t("mentor.save")}</button>
    </form>
  );
}

function Bookings() {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const list = useQuery({
    queryKey: ["mine", "bookings"],
    queryFn: async () => unwrap(await client.GET("/me/bookings", { params: { query: { limit: 50 } } })),
  });
  const me = session?.address.toLowerCase();
  const rows = (list.data?.data ?? []).filter((b: Schemas["BookingPublic"]) => b.mentor.toLowerCase() === me);
  return (
    <section aria-labelledby="incoming">
      <h2 id="incoming">{t("mentor.bookings")}</h2>
      {list.isLoading && <Loading />}
      {rows.length === 0 && !list.isLoading && <p className="muted">{t("mentor.noBookings")}</p>}
      <ul className="cards">
        {rows.map((b) => (
          <li key={b.id} className="card">
            <p className="big">{formatDateTime(b.starts_at, i18n.language)}</p>
            <p>
              <Address address={b.learner} /> · {t(`booking.${b.state}`, { defaultValue: b.state })}
            </p>
            {b.state === "requested" && b.engagement_id != null && (
              <p>
                {b.respond_by != null && <>{t("mentor.answerBy", { when: formatDateTime(b.respond_by, i18n.language) })} </>}
                <Link to={`/engagements/${b.engagement_id}`}>{t("mentor.answer")}</Link>
              </p>
            )}
            {b.state === "confirmed" && (
              <p>
                <Link to={`/room/${b.id}`}>{t("room.openRoom")}</Link>
              </p>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Instant-booking listings need the mentor's one signature over fixed terms (amount and token per
 * session), which every learner's booking then funds. The dApp prepares it from the listing, suggests
 * the listing's price through the feeds (ETH, or the stablecoin for a fiat price), and asks to sign
 * again once the listing's price changed. */
function StandingOffers({ address }: { address: string }) {
  const { t } = useTranslation();
  const mine = useQuery({
    queryKey: ["mine", "listings", address],
    queryFn: async () => unwrap(await client.GET("/listings", { params: { query: { owner: address, limit: 50 } } })),
  });
  const instant = (mine.data?.data ?? []).filter((l) => l.session?.booking === "instant");
  const prices = useListingPrices(instant.map((l) => l.id));
  if (instant.length === 0) return null;
  return (
    <section aria-labelledby="offers" className="stack">
      <h2 id="offers">{t("mentor.offers")}</h2>
      <p className="muted">{t("mentor.offersExplain")}</p>
      {instant.map((l) => (
        <StandingOffer key={l.id} listing={l} price={prices.get(l.id)} />
      ))}
    </section>
  );
}

function StandingOffer({ listing, price }: { listing: Schemas["ListingPublic"]; price: Schemas["ListingPrice"] | undefined }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const { signTypedDataAsync } = useSignTypedData();
  const queries = useQueryClient();
  const standing = useQuery({
    queryKey: ["standing-offer", listing.id],
    queryFn: async () => {
      const got = await client.GET("/listings/{listing_id}/standing-offer", { params: { path: { listing_id: listing.id } } });
      return got.response.status === 404 ? null : unwrap(got);
    },
  });
  const options = price?.converted ?? [];
  const [token, setToken] = useState<string | null>(null);
  const [amount, setAmount] = useState<string | null>(null);
  // The listing's own kind of money by default: ETH for an ETH price, the stablecoin for a fiat one.
  const preferred = options.find((o) => (listing.currency === "ETH") === /^0x0{40}$/.test(o.token)) ?? options[0];
  const chosen = options.find((o) => o.token === token) ?? preferred;
  const decimals = chosen?.decimals ?? 18;
  const symbol = chosen?.symbol ?? "ETH";
  const shown = amount ?? (chosen ? formatUnits(BigInt(chosen.amount), chosen.decimals) : "");
  const signed = standing.data;
  const signedToken = signed ? options.find((o) => o.token.toLowerCase() === signed.offer.token.toLowerCase()) : undefined;

  const sign = async () => {
    const s = listing.session!;
    try {
      const units = parseTokenAmount(shown, decimals);
      const tokenAddress = chosen && !/^0x0{40}$/.test(chosen.token) ? chosen.token : "ETH";
      const prepared = unwrap(
        await client.POST("/offers/prepare", {
          body: {
            title: listing.title,
            skill: listing.skill,
            token: tokenAddress,
            session: { amount: units.toString(), length: s.duration_minutes * 60, min_notice: Math.min(s.notice_minutes ?? 0, 90 * 1440) * 60, horizon: (s.horizon_days ?? 60) * 86400 },
            uses: 1000,
            valid_for: 365 * 86400,
          },
        }),
      );
      const signature = await signTypedDataAsync(toViemTypedData(prepared.typed_data as unknown as ApiTypedData) as Parameters<typeof signTypedDataAsync>[0]);
      unwrap(await client.PUT("/listings/{listing_id}/standing-offer", { params: { path: { listing_id: listing.id } }, body: { offer: prepared.offer, signature } }));
      status.say(t("mentor.offerSigned", { title: listing.title }), "success");
      await queries.invalidateQueries({ queryKey: ["standing-offer", listing.id] });
      await queries.invalidateQueries({ queryKey: ["prices"] });
    } catch (error) {
      status.say(error instanceof AmountError ? t(`amount.${error.reason}`, { decimals }) : words(describeError(error)), "error");
    }
  };

  return (
    <div className="card stack">
      {signed && !signed.matches_listing && (
        <p className="notice">{t("mentor.offerStale", { price: formatPrice(signed.signed_for_price ?? "", signed.signed_for_currency ?? "", i18n.language) })}</p>
      )}
      {signed && signed.matches_listing && (
        <p className="muted">
          {t("mentor.offerCurrent", {
            amount: formatTokenAmount(signed.offer.amounts[0] ?? "0", signedToken?.decimals ?? 18, signedToken?.symbol ?? "ETH", i18n.language),
          })}
        </p>
      )}
      {chosen && (
        <p className="muted">
          {t("mentor.offerSuggested", {
            price: formatPrice(listing.price, listing.currency, i18n.language),
            amount: formatTokenAmount(chosen.amount, chosen.decimals, chosen.symbol, i18n.language),
          })}
        </p>
      )}
      <div className="row">
        {options.length > 1 && (
          <label>
            {t("mentor.offerToken")}
            <select
              value={chosen?.token}
              onChange={(e) => {
                setToken(e.target.value);
                setAmount(null);
              }}
            >
              {options.map((o) => (
                <option key={o.token} value={o.token}>
                  {o.symbol}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          {t("mentor.offerAmount", { title: listing.title, symbol })}
          <input inputMode="decimal" value={shown} onChange={(e) => setAmount(e.target.value)} />
        </label>
        <button type="button" className="primary" onClick={sign}>
          {t("mentor.signOffer")}
        </button>
      </div>
    </div>
  );
}

/** Sessions funded on-chain from a standing offer at a time the app never held. */
function Outside() {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const list = useQuery({
    queryKey: ["mine", "outside"],
    queryFn: async () => unwrap(await client.GET("/me/outside-bookings")),
  });
  const rows = list.data?.data ?? [];
  if (rows.length === 0) return null;
  return (
    <section aria-labelledby="outside">
      <h2 id="outside">{t("mentor.outside")}</h2>
      <p className="muted">{t("mentor.outsideExplain")}</p>
      <ul className="cards">
        {rows.map((e) => (
          <li key={e.id} className="card">
            <p>
              <Link to={`/engagements/${e.id}`}>{t("engagement.title", { id: e.id })}</Link>
              {e.starts_at ? ` · ${formatDateTime(e.starts_at, i18n.language)}` : ""}
            </p>
            <p>
              <Address address={e.client} />
            </p>
            <ConfirmAction
              label={t("mentor.declineOutside")}
              explain={t("engagement.declineExplain")}
              onConfirm={async () => {
                try {
                  await send(unwrap(await client.POST("/engagements/{engagement_id}/cancel", { params: { path: { engagement_id: e.id } } })));
                } catch (error) {
                  status.say(words(describeError(error)), "error");
                }
              }}
            />
          </li>
        ))}
      </ul>
    </section>
  );
}

/** A private calendar feed of upcoming sessions, to subscribe to from any calendar app. */
function CalendarFeed() {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const [url, setUrl] = useState<string | null>(null);
  const make = async () => {
    try {
      setUrl(unwrap(await client.POST("/me/calendar-feed")).url);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const revoke = async () => {
    try {
      await client.DELETE("/me/calendar-feed");
      setUrl(null);
      status.say(t("mentor.feedRevoked"), "success");
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <section aria-labelledby="feed" className="stack">
      <h2 id="feed">{t("mentor.feed")}</h2>
      <p className="muted">{t("mentor.feedExplain")}</p>
      {url && (
        <p>
          <code className="digest">{url}</code> <CopyButton text={url} label={t("mentor.copyFeed")} />
        </p>
      )}
      <div className="row">
        <button type="button" onClick={make}>
          {url ? t("mentor.rotateFeed") : t("mentor.makeFeed")}
        </button>
        <button type="button" onClick={revoke}>
          {t("mentor.revokeFeed")}
        </button>
      </div>
    </section>
  );
}

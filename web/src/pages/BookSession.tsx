// A session listing: pick a slot in your time zone, hold it (the quote says until when), fund it
// with your wallet, then follow the booking until the mentor accepts.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap, type Listing, type Schemas } from "../api/client";
import { describeError } from "../lib/errors";
import { formatDateTime, formatTokenAmount } from "../lib/format";
import { useChainInfo } from "../lib/chain";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";

type Created = Schemas["BookingCreated"];

export function BookSession({ listing }: { listing: Listing }) {
  const { t, i18n } = useTranslation();
  const info = useChainInfo();
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const { signedIn } = useSession();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const [week, setWeek] = useState(0);
  const [held, setHeld] = useState<Created | null>(null);
  const [busy, setBusy] = useState(false);
  const from = Math.floor(Date.now() / 1000) + week * 7 * 86400;
  const slots = useQuery({
    queryKey: ["slots", listing.id, week, zone],
    queryFn: async () => {
      // A busy week has more slots than one page: follow the cursor (a week is bounded).
      const all: Schemas["SlotPublic"][] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 10; page += 1) {
        const got = unwrap(
          await client.GET("/listings/{listing_id}/slots", {
            params: { path: { listing_id: listing.id }, query: { from: String(from), to: String(from + 7 * 86400), tz: zone, limit: 100, cursor } },
          }),
        );
        all.push(...got.data);
        if (!got.next_cursor) break;
        cursor = got.next_cursor;
      }
      return { data: all };
    },
  });
  const booking = useQuery({
    queryKey: ["mine", "booking", held?.booking.id],
    enabled: Boolean(held && signedIn),
    queryFn: async () => unwrap(await client.GET("/bookings/{booking_id}", { params: { path: { booking_id: held!.booking.id } } })),
  });
  const byDay = useMemo(() => {
    const days = new Map<string, Schemas["SlotPublic"][]>();
    for (const s of slots.data?.data ?? []) {
      const day = new Intl.DateTimeFormat(i18n.language, { weekday: "long", day: "numeric", month: "long", timeZone: zone }).format(new Date(s.starts_at * 1000));
      days.set(day, [...(days.get(day) ?? []), s]);
    }
    return [...days];
  }, [slots.data, i18n.language, zone]);

  const pick = async (startsAt: number) => {
    setBusy(true);
    try {
      setHeld(unwrap(await client.POST("/bookings", { body: { listing_id: listing.id, starts_at: startsAt } })));
    } catch (error) {
      status.say(words(describeError(error)), "error");
      await queries.invalidateQueries({ queryKey: ["slots", listing.id] });
    } finally {
      setBusy(false);
    }
  };

  const pay = async () => {
    if (!held) return;
    setBusy(true);
    try {
      // The hold may have run out while the learner read the quote (and someone else may hold the
      // time now): ask first, and send nothing for a time that is no longer ours.
      const now = unwrap(await client.GET("/bookings/{booking_id}", { params: { path: { booking_id: held.booking.id } } }));
      if (now.state !== "held") {
        status.say(t("session.holdLost"), "error");
        await queries.invalidateQueries({ queryKey: ["mine", "booking", held.booking.id] });
        await queries.invalidateQueries({ queryKey: ["slots", listing.id] });
        return;
      }
      await send({ tx: held.tx, approval: held.approval });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };

  const freeHours = listing.session?.free_cancel_hours ?? 24;
  const policy = freeHours === 0 ? t("session.policyStart") : t("session.policy", { hours: freeHours });
  const time = (at: number) => new Intl.DateTimeFormat(i18n.language, { timeStyle: "short", timeZone: zone }).format(new Date(at * 1000));
  const meta = held ? info.tokens.find((x) => x.address.toLowerCase() === held.quote.token.toLowerCase()) : undefined;

  if (held) {
    const state = booking.data?.state ?? held.booking.state;
    return (
      <section aria-labelledby="held" className="stack">
        <h2 id="held">{t("session.held", { when: formatDateTime(held.booking.starts_at, i18n.language, zone) })}</h2>
        <dl className="quote" aria-label={t("book.quote")}>
          <dt>{t("book.walletPays")}</dt>
          <dd>{formatTokenAmount(held.quote.amount, meta?.decimals ?? 18, meta?.symbol ?? held.quote.symbol, i18n.language)}</dd>
          <dt>{t("book.fee", { percent: (held.quote.fee_bps / 100).toLocaleString(i18n.language) })}</dt>
          <dd>{formatTokenAmount((BigInt(held.quote.amount) * BigInt(held.quote.fee_bps)) / 10_000n, meta?.decimals ?? 18, meta?.symbol ?? "", i18n.language)}</dd>
          <dt>{t("session.holdUntil")}</dt>
          <dd>{time(held.quote.expires_at)}</dd>
        </dl>
        <p>
          {t("session.state")} <strong>{t(`booking.${state}`, { defaultValue: state })}</strong>
        </p>
        <p className="muted">{policy}</p>
        {state === "held" && (
          <div className="row">
            <button type="button" className="primary" disabled={busy} onClick={pay}>
              {t("book.fundWallet")}
            </button>
            <button type="button" disabled={busy} onClick={() => setHeld(null)}>
              {t("session.other")}
            </button>
          </div>
        )}
        {state === "confirmed" && (
          <p>
            <Link to={`/room/${held.booking.id}`}>{t("room.openRoom")}</Link>
          </p>
        )}
        {state === "expired" && (
          <button type="button" onClick={() => setHeld(null)}>
            {t("session.other")}
          </button>
        )}
      </section>
    );
  }

  return (
    <section aria-labelledby="slots" className="stack">
      <h2 id="slots">{t("session.pick", { zone })}</h2>
      <p className="muted">
        {t("session.terms", { minutes: listing.session?.duration_minutes ?? 0 })}{" "}
        {listing.session?.booking === "request" ? t("session.request") : t("session.instant")}
      </p>
      <p>{policy}</p>
      {!signedIn && <p className="notice">{t("book.signInFirst")}</p>}
      <div className="row">
        <button type="button" disabled={week === 0} onClick={() => setWeek(week - 1)}>
          {t("session.earlier")}
        </button>
        <button type="button" onClick={() => setWeek(week + 1)}>
          {t("session.later")}
        </button>
      </div>
      {slots.isLoading && <p className="muted">{t("common.loading")}</p>}
      {slots.data && slots.data.data.length === 0 && <p>{t("session.none")}</p>}
      {byDay.map(([day, list]) => (
        <div key={day} role="group" aria-label={day}>
          <h3>{day}</h3>
          <ul className="slots">
            {list.map((s) => (
              <li key={s.starts_at}>
                <button type="button" disabled={busy || !signedIn} onClick={() => pick(s.starts_at)} aria-label={t("session.book", { when: `${day} ${time(s.starts_at)}` })}>
                  {time(s.starts_at)}
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

// Your sessions, as learner or mentor: when, with whom, where each stands; propose a new time (a
// slot of the listing inside the reschedule grace) or answer one; cancel under the listing's policy.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap, type Schemas } from "../api/client";
import { Address, ConfirmAction, ErrorNote, Loading, Page } from "../components/ui";
import { describeError } from "../lib/errors";
import { formatDateTime } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

type Booking = Schemas["BookingPublic"];
const DELIVERY_MARGIN = 3600; // a new time ends an hour before the on-chain due date (the API's rule)

export function Sessions() {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  const list = useQuery({
    queryKey: ["mine", "bookings"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/me/bookings", { params: { query: { limit: 50 } } })),
  });
  if (!signedIn || !session) return <SignInFirst title={t("sessions.title")} />;
  const me = session.address.toLowerCase();
  const rows = (list.data?.data ?? []).filter((b) => !["held", "expired"].includes(b.state));
  return (
    <Page title={t("sessions.title")}>
      <p className="muted">{t("sessions.explain")}</p>
      {list.isLoading && <Loading />}
      {list.error && <ErrorNote error={list.error} />}
      {list.data && rows.length === 0 && <p>{t("sessions.none")}</p>}
      <ul className="cards">
        {rows.map((b) => (
          <SessionCard key={b.id} booking={b} me={me} />
        ))}
      </ul>
    </Page>
  );
}

function SessionCard({ booking: b, me }: { booking: Booking; me: string }) {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const mentor = b.mentor.toLowerCase() === me;
  const other = mentor ? b.learner : b.mentor;
  const when = (at: number) => formatDateTime(at, i18n.language);
  const proposal = b.reschedule;
  const refresh = () => queries.invalidateQueries({ queryKey: ["mine", "bookings"] });
  const act = async (work: () => Promise<void>) => {
    try {
      await work();
      await refresh();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const answer = (verdict: "accept" | "decline" | "withdraw") =>
    act(async () => {
      unwrap(
        await client.POST("/bookings/{booking_id}/reschedule/{proposal_id}", {
          params: { path: { booking_id: b.id, proposal_id: proposal!.id } },
          body: { verdict },
        }),
      );
      status.say(t(`sessions.answered.${verdict}`), "success");
    });
  const cancel = () =>
    act(async () => {
      const out = unwrap(await client.POST("/bookings/{booking_id}/cancel", { params: { path: { booking_id: b.id } } }));
      if (out.tx) await send(out.tx);
      else status.say(t("sessions.cancelAsked"), "success");
    });
  const freeUntil = b.free_cancel_until;
  const stillFree = freeUntil != null && Date.now() / 1000 <= freeUntil;
  return (
    <li className="card stack">
      <h2 className="big">{when(b.starts_at)}</h2>
      <p>
        {mentor ? t("sessions.learner") : t("sessions.mentor")} <Address address={other} /> · <strong>{t(`booking.${b.state}`, { defaultValue: b.state })}</strong>
      </p>
      {b.state === "confirmed" && freeUntil != null && (
        <p className="muted">{stillFree ? t("sessions.freeUntil", { when: when(freeUntil) }) : t("sessions.paidNow", { when: when(freeUntil) })}</p>
      )}
      {b.cancel_requested_at != null && b.state === "confirmed" && (
        <p className="notice">{mentor ? t("sessions.learnerCancelled") : t("sessions.cancelAsked")}</p>
      )}
      {proposal && b.state === "confirmed" && (
        <div className="confirm" role="group" aria-label={t("sessions.proposalLabel")}>
          <p>
            {proposal.proposed_by.toLowerCase() === me
              ? t("sessions.youProposed", { when: when(proposal.starts_at) })
              : t("sessions.theyProposed", { when: when(proposal.starts_at) })}
          </p>
          {proposal.proposed_by.toLowerCase() === me ? (
            <button type="button" onClick={() => answer("withdraw")}>
              {t("sessions.withdrawProposal")}
            </button>
          ) : (
            <div className="row">
              <button type="button" className="primary" onClick={() => answer("accept")}>
                {t("sessions.acceptTime")}
              </button>
              <button type="button" onClick={() => answer("decline")}>
                {t("sessions.declineTime")}
              </button>
            </div>
          )}
        </div>
      )}
      {b.state === "confirmed" && (
        <div className="row">
          <Link to={`/room/${b.id}`}>{t("room.openRoom")}</Link>
          <Reschedule booking={b} onDone={refresh} />
          {(mentor || stillFree) && (
            <ConfirmAction
              label={t("sessions.cancel")}
              explain={mentor ? t("sessions.cancelMentor") : t("sessions.cancelFree", { due: when(b.due_date) })}
              onConfirm={cancel}
            />
          )}
        </div>
      )}
      {b.state === "confirmed" && !mentor && !stillFree && b.cancel_requested_at == null && (
        <p className="muted">{t("sessions.cancelLate")}</p>
      )}
      {b.engagement_id != null && (
        <p>
          <Link to={`/engagements/${b.engagement_id}`}>{t("sessions.engagement", { id: b.engagement_id })}</Link>
        </p>
      )}
    </li>
  );
}

/** Free slots of the booking's listing up to the last start the grace allows, to propose one. */
function Reschedule({ booking: b, onDone }: { booking: Booking; onDone: () => Promise<unknown> }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const [open, setOpen] = useState(false);
  const now = Math.floor(Date.now() / 1000);
  const length = b.ends_at - b.starts_at;
  const last = Math.min(b.due_date - DELIVERY_MARGIN - length, now + 62 * 86400 - 1);
  const slots = useQuery({
    queryKey: ["slots", b.listing_id, "reschedule", b.id],
    enabled: open && last > now,
    queryFn: async () =>
      unwrap(
        await client.GET("/listings/{listing_id}/slots", {
          params: { path: { listing_id: b.listing_id }, query: { from: String(now), to: String(last + 1), limit: 30 } },
        }),
      ),
  });
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)}>
        {t("sessions.reschedule")}
      </button>
    );
  const propose = async (startsAt: number) => {
    try {
      unwrap(await client.POST("/bookings/{booking_id}/reschedule", { params: { path: { booking_id: b.id } }, body: { starts_at: startsAt } }));
      status.say(t("sessions.proposedDone", { when: formatDateTime(startsAt, i18n.language) }), "success");
      setOpen(false);
      await onDone();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const choices = (slots.data?.data ?? []).filter((s) => s.starts_at !== b.starts_at);
  return (
    <div className="confirm" role="group" aria-label={t("sessions.pickNew")}>
      <p>{t("sessions.pickNewExplain", { until: formatDateTime(b.due_date - DELIVERY_MARGIN, i18n.language) })}</p>
      {slots.isLoading && <Loading />}
      {slots.data && choices.length === 0 && <p>{t("sessions.noSlots")}</p>}
      <ul className="slots">
        {choices.map((s) => (
          <li key={s.starts_at}>
            <button type="button" onClick={() => propose(s.starts_at)} aria-label={t("sessions.proposeAt", { when: formatDateTime(s.starts_at, i18n.language) })}>
              {formatDateTime(s.starts_at, i18n.language)}
            </button>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => setOpen(false)}>
        {t("common.cancel")}
      </button>
    </div>
  );
}

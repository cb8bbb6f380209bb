// One engagement: parties, milestones in human units with dates, and the actions the signed-in
// party may take now — each prepared and simulated by the API, confirmed, then signed.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useParams } from "react-router";
import { client, unwrap, type Engagement as E, type Milestone } from "../api/client";
import { Address, Amount, ConfirmAction, ErrorNote, Loading, Page, Party } from "../components/ui";
import { describeError } from "../lib/errors";
import { sendForm } from "../lib/upload";
import { useDocument, type DeliverableDocument, type TermsDocument } from "../lib/documents";
import { feeOf, formatDate, formatDateTime, shortAddress } from "../lib/format";
import { useSend, type Funding } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { Shared } from "./Arbiter";

type Role = "client" | "provider" | "arbiter" | null;

export function Engagement() {
  const { id = "" } = useParams();
  const { t, i18n } = useTranslation();
  const { session, signedIn } = useSession();
  const engagement = useQuery({
    queryKey: ["engagement", id],
    queryFn: async () => unwrap(await client.GET("/engagements/{engagement_id}", { params: { path: { engagement_id: Number(id) } } })),
  });
  const terms = useDocument<TermsDocument>(engagement.data?.terms_cid);
  if (engagement.isLoading) return <Loading />;
  if (engagement.error || !engagement.data) return <ErrorNote error={engagement.error} />;
  const e = engagement.data;
  const me = signedIn ? session?.address.toLowerCase() : undefined;
  const role: Role = me === e.client.toLowerCase() ? "client" : me === e.provider.toLowerCase() ? "provider" : me === e.arbiter.toLowerCase() ? "arbiter" : null;
  return (
    <Page title={t("engagement.title", { id: e.id })}>
      <p>
        <span className={`tag ${e.status}`}>{t(`status.${e.status}`, { defaultValue: e.status })}</span>{" "}
        {e.accepted ? t("engagement.accepted") : t("engagement.notAccepted")}
      </p>
      <Terms cid={e.terms_cid} />
      <dl className="facts">
        <dt>{t("engagement.client")}</dt>
        <dd><Party address={e.client} /></dd>
        <dt>{t("engagement.provider")}</dt>
        <dd><Party address={e.provider} /></dd>
        <dt>{t("engagement.arbiter")}</dt>
        <dd><Address address={e.arbiter} /></dd>
        <dt>{t("engagement.total")}</dt>
        <dd><Amount raw={e.total_amount} token={e.token} /></dd>
        <dt>{t("engagement.terms")}</dt>
        <dd><code className="digest">{e.terms_digest.slice(0, 18)}…</code></dd>
      </dl>
      <h2>{t("engagement.milestones")}</h2>
      <ol className="timeline">
        {e.milestones.map((m) => (
          <MilestoneRow key={m.index} e={e} m={m} role={role} terms={terms.data} />
        ))}
      </ol>
      {(role === "client" || role === "provider") && e.booking_id && e.session_starts_at && e.status === "active" && (
        <p>
          <Link to={`/room/${e.booking_id}`}>{t("room.openRoom")}</Link>{" "}
          <span className="muted">{t("engagement.roomOpens", { when: formatDateTime(e.session_starts_at, i18n.language) })}</span>
        </p>
      )}
      {(role === "client" || role === "provider") && <ThreadButton id={e.id} />}
      {(role === "client" || role === "provider") && e.status === "disputed" && <ShareEvidence id={e.id} />}
      {role === "arbiter" && <Shared id={e.id} />}
      <Actions e={e} role={role} />
    </Page>
  );
}

/** The engagement's thread between its two parties (opened on first use). */
function ThreadButton({ id }: { id: number }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const status = useStatus();
  const words = useErrorWords();
  const open = async () => {
    try {
      const thread = unwrap(await client.POST("/engagements/{engagement_id}/thread", { params: { path: { engagement_id: id } } }));
      navigate(`/messages/${thread.id}`);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <p>
      <button type="button" onClick={() => void open()}>
        {t("messages.open")}
      </button>
    </p>
  );
}

/** In a dispute: choose messages of the engagement's thread (and the room's attendance) to show the arbiter. */
function ShareEvidence({ id }: { id: number }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const [chosen, setChosen] = useState<number[]>([]);
  const [attendance, setAttendance] = useState(false);
  const [uploading, setUploading] = useState(false);
  const thread = useQuery({
    queryKey: ["thread", "of-engagement", id],
    queryFn: async () => {
      const th = unwrap(await client.POST("/engagements/{engagement_id}/thread", { params: { path: { engagement_id: id } } }));
      const list = unwrap(await client.GET("/threads/{thread_id}/messages", { params: { path: { thread_id: th.id }, query: { limit: 100 } } }));
      return { ...list, threadId: th.id };
    },
  });
  // A file for the arbiter goes into the engagement's thread (encrypted at rest, never on IPFS), then
  // is shared like any message: the arbiter gets a copy as it is now.
  const upload = async (file: File) => {
    if (!thread.data) return;
    setUploading(true);
    try {
      const form = new FormData();
      form.append("file", file);
      form.append("body", "");
      const res = await sendForm(`/threads/${thread.data.threadId}/attachments`, "POST", form);
      const sent = (await res.json()) as { id: number };
      setChosen((c) => [...c, sent.id]);
      await queries.invalidateQueries({ queryKey: ["thread", "of-engagement", id] });
      status.say(t("evidence.fileAdded", { name: file.name }), "success");
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setUploading(false);
    }
  };
  const share = async () => {
    try {
      const out = unwrap(
        await client.POST("/engagements/{engagement_id}/shared-evidence", {
          params: { path: { engagement_id: id } },
          body: { message_ids: chosen, attendance },
        }),
      );
      status.say(t("evidence.done", { count: out.added }), "success");
      setChosen([]);
      void queries.invalidateQueries({ queryKey: ["engagement", String(id), "shared"] });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const messages = (thread.data?.data ?? []).filter((m) => m.body || m.attachments?.length);
  return (
    <section aria-labelledby="share-evidence" className="stack">
      <h2 id="share-evidence">{t("evidence.title")}</h2>
      <p className="muted">{t("evidence.explain")}</p>
      <fieldset>
        <legend>{t("evidence.pick")}</legend>
        {messages.length === 0 && <p className="muted">{t("evidence.noMessages")}</p>}
        {messages.map((m) => (
          <label key={m.id} className="check">
            <input
              type="checkbox"
              checked={chosen.includes(m.id)}
              onChange={(ev) => setChosen((c) => (ev.target.checked ? [...c, m.id] : c.filter((x) => x !== m.id)))}
            />
            {shortAddress(m.sender)} · {formatDate(m.created_at, i18n.language)}: {m.body}
            {m.attachments?.map((a) => (
              <span key={a.id}> 📎 {a.filename}</span>
            ))}
          </label>
        ))}
        <label className="file">
          {t("evidence.addFile")}
          <input
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"
            disabled={uploading || !thread.data}
            onChange={(ev) => {
              const file = ev.target.files?.[0];
              if (file) void upload(file);
              ev.target.value = "";
            }}
          />
        </label>
        <label className="check">
          <input type="checkbox" checked={attendance} onChange={(ev) => setAttendance(ev.target.checked)} />
          {t("evidence.attendance")}
        </label>
      </fieldset>
      <button type="button" disabled={!chosen.length && !attendance} onClick={() => void share()}>
        {t("evidence.share")}
      </button>
      <Shared id={id} />
    </section>
  );
}

function MilestoneRow({ e, m, role, terms }: { e: E; m: Milestone; role: Role; terms: TermsDocument | undefined }) {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const prepare = usePrepare();
  const [summary, setSummary] = useState("");
  const n = m.index + 1;
  const canSubmit = role === "provider" && e.accepted && !m.frozen && m.state === "funded";
  const canApprove = role === "client" && e.accepted && !m.frozen && (m.state === "funded" || m.state === "submitted");
  // The review window is over and the client did not answer: the contract lets anyone release it.
  const canAutoRelease = role === "provider" && !m.frozen && m.state === "submitted" && m.releasable_at != null && Date.now() / 1000 >= m.releasable_at;
  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    const out = await prepare(() => client.POST("/engagements/{engagement_id}/milestones/{index}/submit", {
      params: { path: { engagement_id: e.id, index: m.index } },
      body: { summary: summary || t("engagement.delivered") },
    }));
    if (out && (await send(out.tx))) setSummary("");
  };
  return (
    <li>
      <p>
        <strong>{t("engagement.milestone", { n })}</strong>
        {terms?.milestones[m.index]?.title && <> · {terms.milestones[m.index]?.title}</>} · <Amount raw={m.amount} token={e.token} /> ·{" "}
        {t("engagement.due", { date: formatDate(m.due_date, i18n.language) })} ·{" "}
        <span className={`tag ${m.state}`}>{t(`milestone.${m.state}`, { defaultValue: m.state })}</span>
        {m.frozen && <> · {t("engagement.frozen")}</>}
        {m.releasable_at && m.state === "submitted" && <> · {t("engagement.autoRelease", { date: formatDate(m.releasable_at, i18n.language) })}</>}
      </p>
      {m.deliverable_cid && <Delivered cid={m.deliverable_cid} />}
      {m.state === "resolved" && m.provider_share_bps != null && <Split e={e} m={m} bps={m.provider_share_bps} />}
      {canSubmit && (
        <form className="stack" onSubmit={submit}>
          <label>
            {t("engagement.deliverable", { n })}
            <textarea value={summary} maxLength={5000} onChange={(ev) => setSummary(ev.target.value)} />
          </label>
          <button className="primary">{t("engagement.submit", { n })}</button>
        </form>
      )}
      {canAutoRelease && (
        <ConfirmAction
          label={t("engagement.autoReleaseNow", { n })}
          explain={t("engagement.autoReleaseExplain", { n })}
          onConfirm={async () => {
            const tx = await prepare(() => client.POST("/engagements/{engagement_id}/milestones/{index}/release", { params: { path: { engagement_id: e.id, index: m.index } } }));
            if (tx) await send(tx);
          }}
        />
      )}
      {canApprove && (
        <ConfirmAction
          label={t("engagement.approve", { n })}
          explain={t("engagement.approveExplain")}
          onConfirm={async () => {
            const tx = await prepare(() => client.POST("/engagements/{engagement_id}/milestones/{index}/approve", { params: { path: { engagement_id: e.id, index: m.index } } }));
            if (tx) await send(tx);
          }}
        />
      )}
    </li>
  );
}

/** The engagement's title and description, from its terms document. */
function Terms({ cid }: { cid: string | null | undefined }) {
  const doc = useDocument<TermsDocument>(cid);
  if (!doc.data) return null;
  return (
    <div>
      <p className="big">{doc.data.title}</p>
      {doc.data.description && <p>{doc.data.description}</p>}
    </div>
  );
}

/** What the provider delivered for a milestone: its summary, with the document itself on IPFS. */
function Delivered({ cid }: { cid: string }) {
  const { t } = useTranslation();
  const doc = useDocument<DeliverableDocument>(cid);
  return (
    <p>
      {t("engagement.deliveredLabel")} {doc.data ? <q>{doc.data.summary}</q> : null}{" "}
      <a href={`/ipfs/${cid}`} target="_blank" rel="noreferrer">
        {t("engagement.deliveredDocument")}
      </a>
    </p>
  );
}

/** A resolved milestone: what the arbiter's split gave each side, as the contract computes it (the fee
 * is a share of the provider's part; the payer gets the rest back, fee-free). */
function Split({ e, m, bps }: { e: E; m: Milestone; bps: number }) {
  const { t, i18n } = useTranslation();
  const amount = BigInt(m.amount);
  const gross = (amount * BigInt(bps)) / 10_000n;
  const fee = feeOf(gross, e.fee_bps);
  const percent = new Intl.NumberFormat(i18n.language, { maximumFractionDigits: 2 }).format(bps / 100);
  return (
    <p>
      {t("engagement.split", { percent })} {t("engagement.mentorGot")} <Amount raw={(gross - fee).toString()} token={e.token} /> ·{" "}
      {t("engagement.payerGot")} <Amount raw={(amount - gross).toString()} token={e.token} /> · {t("engagement.feeTaken")}{" "}
      <Amount raw={fee.toString()} token={e.token} />
    </p>
  );
}

/** Ask the API for a prepared transaction; refusals (a doomed transaction, a 409) become the status line. */
function usePrepare() {
  const status = useStatus();
  const words = useErrorWords();
  return async <T,>(call: () => Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T | null> => {
    try {
      return unwrap(await call());
    } catch (error) {
      status.say(words(describeError(error)), "error");
      return null;
    }
  };
}

function Actions({ e, role }: { e: E; role: Role }) {
  const { t } = useTranslation();
  const send = useSend();
  const prepare = usePrepare();
  const [statement, setStatement] = useState("");
  const path = { params: { path: { engagement_id: e.id } } };
  const go = async (call: () => Promise<{ data?: Funding["tx"] | { tx: Funding["tx"] }; error?: unknown; response: Response }>) => {
    const out = await prepare(call);
    if (out) await send("tx" in out ? out.tx : out);
  };
  const party = role === "client" || role === "provider";
  return (
    <section aria-labelledby="actions" className="stack">
      <h2 id="actions">{t("engagement.actions")}</h2>
      {role === "provider" && e.status === "requested" && (
        <div className="row">
          <button type="button" className="primary" onClick={() => go(() => client.POST("/engagements/{engagement_id}/accept", path))}>
            {t("engagement.accept")}
          </button>
          <ConfirmAction label={t("engagement.decline")} explain={t("engagement.declineExplain")} onConfirm={() => go(() => client.POST("/engagements/{engagement_id}/cancel", path))} />
        </div>
      )}
      {role === "client" && e.status === "requested" && (
        <ConfirmAction label={t("engagement.withdrawRequest")} explain={t("engagement.withdrawExplain")} onConfirm={() => go(() => client.POST("/engagements/{engagement_id}/withdraw-request", path))} />
      )}
      {party && e.status === "active" && e.accepted && (
        <ConfirmAction
          label={t("engagement.dispute")}
          explain={t("engagement.disputeExplain")}
          confirmDisabled={!statement.trim()}
          onConfirm={() => go(() => client.POST("/engagements/{engagement_id}/dispute", { ...path, body: { statement: statement.trim() } }))}
        >
          <label>
            {t("engagement.statement")}
            <textarea
              required
              aria-describedby="statement-needed"
              value={statement}
              maxLength={5000}
              onChange={(ev) => setStatement(ev.target.value)}
            />
          </label>
          <p id="statement-needed" className="muted">
            {t("engagement.statementNeeded")}
          </p>
        </ConfirmAction>
      )}
      {party && e.status === "settled" && <Review e={e} />}
      {!role && <p className="muted">{t("engagement.readOnly")}</p>}
    </section>
  );
}

function Review({ e }: { e: E }) {
  const { t } = useTranslation();
  const me = useSession().session?.address.toLowerCase();
  const send = useSend();
  const prepare = usePrepare();
  const [rating, setRating] = useState(5);
  const [comment, setComment] = useState("");
  const [sent, setSent] = useState(false);
  const post = async (ev: FormEvent) => {
    ev.preventDefault();
    const out = await prepare(() => client.POST("/reviews/prepare", { body: { engagement_id: e.id, rating, comment } }));
    if (out && (await send(out.tx))) setSent(true);
  };
  if (sent) return <p className="success">{t("review.thanks")}</p>;
  if ((e.reviewed_by ?? []).some((a) => a.toLowerCase() === me)) return <p className="muted">{t("review.done")}</p>;
  return (
    <form className="stack" onSubmit={post} aria-labelledby="review">
      <h3 id="review">{t("review.title")}</h3>
      <label>
        {t("review.rating")}
        <select value={rating} onChange={(ev) => setRating(Number(ev.target.value))}>
          {[5, 4, 3, 2, 1].map((r) => (
            <option key={r} value={r}>
              {t("review.stars", { count: r })}
            </option>
          ))}
        </select>
      </label>
      <label>
        {t("review.comment")}
        <textarea value={comment} maxLength={5000} onChange={(ev) => setComment(ev.target.value)} />
      </label>
      <button className="primary">{t("review.post")}</button>
    </form>
  );
}

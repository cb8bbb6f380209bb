// What concerns the signed-in wallet: each step of their engagements, reviews and credentials, in
// words, newest first, with read state. New ones arrive on the live stream (lib/live.ts).
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap } from "../api/client";
import { ErrorNote, Loading, Page } from "../components/ui";
import { formatDateTime, shortAddress } from "../lib/format";
import { useSession } from "../lib/session";
import { SignInFirst } from "./SignInFirst";

export function Notifications() {
  const { t, i18n } = useTranslation();
  const { signedIn } = useSession();
  const queries = useQueryClient();
  const list = useQuery({
    queryKey: ["notifications"],
    queryFn: async () => unwrap(await client.GET("/me/notifications", { params: { query: { limit: 50 } } })),
    enabled: signedIn,
  });
  if (!signedIn) return <SignInFirst title={t("notifications.title")} />;
  if (list.isLoading) return <Loading />;
  if (list.error || !list.data) return <ErrorNote error={list.error} />;
  const markAll = async () => {
    unwrap(await client.POST("/me/notifications/read", { body: {} }));
    void queries.invalidateQueries({ queryKey: ["notifications"] });
  };
  return (
    <Page title={t("notifications.title")}>
      {list.data.unread > 0 && (
        <button type="button" onClick={() => void markAll()}>
          {t("notifications.markAll")}
        </button>
      )}
      <EmailSettings />
      {list.data.data.length === 0 && <p className="muted">{t("notifications.none")}</p>}
      <ul className="thread">
        {list.data.data.map((n) => (
          <li key={n.id} className={n.read ? "message" : "message mine"}>
            <p className="muted">
              {formatDateTime(n.created_at, i18n.language)}
              {!n.read && ` · ${t("notifications.new")}`}
            </p>
            <p>
              {t(`notifications.kinds.${n.kind}`, {
                id: n.engagement_id ?? "",
                n: (n.milestone ?? 0) + 1,
                who: n.by ? shortAddress(n.by) : "",
              })}{" "}
              {n.engagement_id !== null && n.kind !== "credential_issued" && (
                <Link to={`/engagements/${n.engagement_id}`}>{t("notifications.open", { id: n.engagement_id })}</Link>
              )}
              {n.kind === "credential_issued" && <Link to="/credentials">{t("nav.credentials")}</Link>}
            </p>
          </li>
        ))}
      </ul>
    </Page>
  );
}

/** The address these notifications are mailed to: add it (a confirmation link is mailed), see
 * whether it was confirmed, remove it. */
function EmailSettings() {
  const { t } = useTranslation();
  const queries = useQueryClient();
  const [draft, setDraft] = useState("");
  const [editing, setEditing] = useState(false);
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const current = useQuery({
    queryKey: ["me-email"],
    queryFn: async () => {
      const answer = await client.GET("/me/email");
      return answer.response.status === 404 ? null : unwrap(answer);
    },
  });
  const refresh = () => void queries.invalidateQueries({ queryKey: ["me-email"] });
  const add = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      unwrap(await client.PUT("/me/email", { body: { email: draft.trim() } }));
      setSentTo(draft.trim());
      setEditing(false);
      refresh();
    } catch (e) {
      setError(e);
    }
  };
  const remove = async () => {
    setError(null);
    const answer = await client.DELETE("/me/email");
    if (!answer.response.ok && answer.response.status !== 404) setError(new Error(String(answer.response.status)));
    setSentTo(null);
    refresh();
  };
  const address = current.data;
  const showForm = editing || (!current.isLoading && !address);
  return (
    <section className="card" aria-label={t("notifications.email.title")}>
      <h2>{t("notifications.email.title")}</h2>
      {address && !editing && (
        <p data-testid="email-status">
          {address.confirmed
            ? address.subscribed
              ? t("notifications.email.confirmed", { email: address.email })
              : t("notifications.email.unsubscribed", { email: address.email })
            : t("notifications.email.waiting", { email: address.email })}{" "}
          <button type="button" onClick={() => setEditing(true)}>
            {t("notifications.email.change")}
          </button>{" "}
          <button type="button" onClick={() => void remove()}>
            {t("notifications.email.remove")}
          </button>
        </p>
      )}
      {sentTo && !editing && <p className="muted">{t("notifications.email.sent", { email: sentTo })}</p>}
      {showForm && (
        <form onSubmit={(e) => void add(e)}>
          <label>
            {t("notifications.email.label")}{" "}
            <input type="email" required maxLength={254} value={draft} onChange={(e) => setDraft(e.target.value)} />
          </label>{" "}
          <button type="submit">{t("notifications.email.send")}</button>
        </form>
      )}
      {error !== null && <ErrorNote error={error} />}
    </section>
  );
}

// What concerns the signed-in wallet: each step of their engagements, reviews and credentials, in
// words, newest first, with read state. New ones arrive on the live stream (lib/live.ts).
import { useQuery, useQueryClient } from "@tanstack/react-query";
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

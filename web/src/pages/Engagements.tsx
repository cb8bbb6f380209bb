import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap } from "../api/client";
import { Address, Amount, ErrorNote, Loading, Page } from "../components/ui";
import { useSession } from "../lib/session";
import { SignInFirst } from "./SignInFirst";

export function Engagements() {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  const mine = useQuery({
    queryKey: ["mine", "engagements"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/me/engagements", { params: { query: { limit: 50 } } })),
  });
  if (!signedIn) return <SignInFirst title={t("engagements.title")} />;
  return (
    <Page title={t("engagements.title")}>
      {mine.isLoading && <Loading />}
      {mine.error && <ErrorNote error={mine.error} />}
      {mine.data && mine.data.data.length === 0 && <p>{t("engagements.empty")}</p>}
      <ul className="cards">
        {mine.data?.data.map((e) => {
          const client_ = e.client.toLowerCase() === session?.address.toLowerCase();
          return (
            <li key={e.id} className="card">
              <h2 className="h3">
                <Link to={`/engagements/${e.id}`}>{t("engagement.title", { id: e.id })}</Link>
              </h2>
              <p>
                <span className={`tag ${e.status}`}>{t(`status.${e.status}`, { defaultValue: e.status })}</span>{" "}
                {client_ ? t("engagements.asClient") : t("engagements.asProvider")}
              </p>
              <p>
                {t("engagements.with")} <Address address={client_ ? e.provider : e.client} /> · <Amount raw={e.total_amount} token={e.token} />
              </p>
            </li>
          );
        })}
      </ul>
    </Page>
  );
}

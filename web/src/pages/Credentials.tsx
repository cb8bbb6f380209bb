import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap } from "../api/client";
import { Address, CopyButton, ErrorNote, Loading, Page } from "../components/ui";
import { formatDate } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { SignInFirst } from "./SignInFirst";
import { SignPresentation } from "./Presentation";

export function Credentials() {
  const { t, i18n } = useTranslation();
  const { signedIn, session } = useSession();
  const send = useSend();
  const address = session?.address ?? "";
  const user = useQuery({
    queryKey: ["mine", "user", address],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/users/{address}", { params: { path: { address } } })),
  });
  const vouchers = useQuery({
    queryKey: ["mine", "vouchers"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/me/vouchers")),
  });
  if (!signedIn) return <SignInFirst title={t("credentials.title")} />;
  const mine = (vouchers.data?.data ?? []).filter((v) => v.recipient.toLowerCase() === address.toLowerCase() && v.redeem_tx);
  return (
    <Page title={t("credentials.title")}>
      {(user.isLoading || vouchers.isLoading) && <Loading />}
      {user.error && <ErrorNote error={user.error} />}
      {user.data && user.data.credentials.length === 0 && <p>{t("credentials.none")}</p>}
      <ul className="cards">
        {user.data?.credentials.map((c) => {
          const link = `${window.location.origin}/#/verify/${c.chain_id}/${c.token_id}`;
          return (
            <li key={c.token_id} className="card">
              <h2 className="h3">{c.skill ?? c.skill_id}</h2>
              <p>
                {t("credentials.issuedBy")} <Address address={c.issuer} /> · {formatDate(c.issued_at, i18n.language)}
                {c.revoked && <strong className="error"> · {t("credentials.revoked")}</strong>}
              </p>
              <p>
                <Link to={`/verify/${c.chain_id}/${c.token_id}`}>{t("credentials.verifyLink")}</Link>{" "}
                <CopyButton text={link} label={t("credentials.copyLink")} />
              </p>
            </li>
          );
        })}
      </ul>
      {mine.length > 0 && (
        <section aria-labelledby="vouchers">
          <h2 id="vouchers">{t("credentials.vouchers")}</h2>
          <ul className="cards">
            {mine.map((v) => (
              <li key={v.id} className="card">
                <p>
                  {t("credentials.voucherFrom")} <Address address={v.issuer} />
                </p>
                <button type="button" className="primary" onClick={() => v.redeem_tx && send(v.redeem_tx)}>
                  {t("credentials.redeem")}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
      <SignPresentation />
    </Page>
  );
}

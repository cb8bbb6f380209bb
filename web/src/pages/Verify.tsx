// The employer's page (no wallet, no account): one large verdict, then every check it made.
import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useChainInfo } from "../lib/chain";
import { useNavigate, useParams } from "react-router";
import { client, unwrap } from "../api/client";
import { Address, CopyButton, ErrorNote, Loading, Page } from "../components/ui";
import { formatDate } from "../lib/format";
import { checksOf } from "../lib/checks";
import { CheckPresentation } from "./Presentation";

export function Verify() {
  const { chainId, tokenId } = useParams();
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [query, setQuery] = useState(chainId && tokenId ? `${chainId}:${tokenId}` : "");
  const lookup = (e: FormEvent) => {
    e.preventDefault();
    const [c, tok] = query.trim().split(":");
    if (c && tok && /^\d+$/.test(c) && /^\d+$/.test(tok)) navigate(`/verify/${c}/${tok}`);
  };
  return (
    <Page title={t("verify.title")}>
      <form className="row" onSubmit={lookup} role="search">
        <label>
          {t("verify.what")}
          <input value={query} placeholder="31337:1234…" onChange={(e) => setQuery(e.target.value)} />
        </label>
        <button className="primary">{t("verify.go")}</button>
      </form>
      {chainId && tokenId && <Result chainId={Number(chainId)} tokenId={tokenId} />}
      <CheckPresentation />
    </Page>
  );
}

function Result({ chainId, tokenId }: { chainId: number; tokenId: string }) {
  const { t, i18n } = useTranslation();
  const verdict = useQuery({
    queryKey: ["verify", chainId, tokenId],
    queryFn: async () =>
      unwrap(await client.GET("/verify/credential/{chain_id}/{token_id}", { params: { path: { chain_id: chainId, token_id: tokenId } } })),
  });
  const issuerAddress = verdict.data?.issuer ?? null;
  const issuer = useQuery({
    queryKey: ["issuer", issuerAddress],
    enabled: Boolean(issuerAddress),
    queryFn: async () => unwrap(await client.GET("/issuers/{address}", { params: { path: { address: issuerAddress ?? "" } } })),
  });
  const explorer = useChainInfo().explorer_url;
  if (verdict.isLoading) return <Loading />;
  if (verdict.error || !verdict.data) return <ErrorNote error={verdict.error} />;
  const v = verdict.data;
  const name = typeof v.metadata?.name === "string" ? v.metadata.name : null;
  return (
    <section aria-labelledby="verdict" className="verdict-box">
      <h2 id="verdict" className={`verdict ${v.valid ? "valid" : "invalid"}`}>
        {v.valid ? t("verify.valid") : t("verify.invalid")}
      </h2>
      {name && <p className="big">{name}</p>}
      <ul className="checks" aria-label={t("verify.checks")}>
        {checksOf(v).map((c) => (
          <li key={c.key} className={c.ok === null ? "unknown" : c.ok ? "pass" : "fail"}>
            <span aria-hidden="true">{c.ok === null ? "–" : c.ok ? "✓" : "✗"}</span>{" "}
            {t(`verify.check.${c.key}.${c.ok === null ? "na" : c.ok ? "pass" : "fail"}`)}
            {c.detail && <> ({c.detail})</>}
          </li>
        ))}
      </ul>
      {v.exists && (
        <dl className="facts">
          <dt>{t("verify.holder")}</dt>
          <dd>{v.holder && <Address address={v.holder} />}</dd>
          <dt>{t("verify.issuer")}</dt>
          <dd>
            {issuer.data?.name && (
              <>
                <strong>{issuer.data.name}</strong> ({issuer.data.name_verified ? t("verify.nameVerified") : t("verify.nameSelf")}){" "}
              </>
            )}
            {v.issuer && <Address address={v.issuer} />}
            {v.issuer && explorer && (
              <>
                {" "}
                <a href={`${explorer}/address/${v.issuer}`} target="_blank" rel="noreferrer">
                  {t("verify.onExplorer")}
                </a>
              </>
            )}
          </dd>
          <dt>{t("verify.skill")}</dt>
          <dd>{v.skill ?? v.skill_id}</dd>
          {v.issued_at && (
            <>
              <dt>{t("verify.issued")}</dt>
              <dd>{formatDate(v.issued_at, i18n.language)}</dd>
            </>
          )}
          {v.expires_at ? (
            <>
              <dt>{t("verify.expires")}</dt>
              <dd>{formatDate(v.expires_at, i18n.language)}</dd>
            </>
          ) : null}
          {v.engagement_id ? (
            <>
              <dt>{t("verify.engagement")}</dt>
              <dd>
                {t("engagement.title", { id: v.engagement_id })}
                {(v.engagement_reviews?.length ?? 0) > 0 &&
                  ` · ${t("verify.reviews", { count: v.engagement_reviews?.length ?? 0 })}`}
                {(v.engagement_reviews ?? []).map((r, i) => (
                  <span key={i} className="tag">
                    ★ {String(r.rating)} {String(r.role) === "provider" ? t("verify.byClient") : t("verify.byMentor")}
                  </span>
                ))}
              </dd>
            </>
          ) : null}
          {v.metadata_cid && (
            <>
              <dt>{t("verify.metadata")}</dt>
              <dd>
                <a href={`/ipfs/${v.metadata_cid}`}>{v.metadata_cid.slice(0, 16)}…</a>
              </dd>
            </>
          )}
          {v.proof?.transaction && (
            <>
              <dt>{t("verify.proof")}</dt>
              <dd>
                {t("verify.block", { block: v.proof.block_number })} · <code>{v.proof.transaction.slice(0, 14)}…</code>{" "}
                <CopyButton text={v.proof.transaction} label={t("verify.copyTx")} />
                {explorer && (
                  <>
                    {" "}
                    <a href={`${explorer}/tx/${v.proof.transaction}`} target="_blank" rel="noreferrer">
                      {t("verify.txOnExplorer")}
                    </a>
                  </>
                )}
              </dd>
            </>
          )}
        </dl>
      )}
      {v.caip19 && (
        <p>
          <code className="digest">{v.caip19}</code> <CopyButton text={v.caip19} label={t("verify.copyId")} />
        </p>
      )}
      <p className="muted">{t("verify.trust")}</p>
    </section>
  );
}

import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { isAddress } from "viem";
import { useSignTypedData } from "wagmi";
import { client, unwrap } from "../api/client";
import { Address, ConfirmAction, Page } from "../components/ui";
import { useChainInfo } from "../lib/chain";
import { formatDate } from "../lib/format";
import { describeError } from "../lib/errors";
import { useSend } from "../lib/send";
import { toViemTypedData, type ApiTypedData } from "../lib/typed";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

export function Issuer() {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const { signTypedDataAsync } = useSignTypedData();
  const skills = useQuery({ queryKey: ["skills"], queryFn: async () => unwrap(await client.GET("/skills")), staleTime: Infinity });
  const [holder, setHolder] = useState("");
  const [skill, setSkill] = useState("");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [engagement, setEngagement] = useState("");
  const [issued, setIssued] = useState<{ chainId: number; tokenId: string } | null>(null);
  if (!signedIn) return <SignInFirst title={t("issuer.title")} />;
  const holderOk = isAddress(holder, { strict: false });
  const body = () => ({
    holder,
    skill: skill || skills.data?.[0]?.slug || "",
    name,
    description,
    engagement_id: engagement ? Number(engagement) : 0,
  });

  const issue = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const prepared = unwrap(await client.POST("/credentials/prepare", { body: body() }));
      if (await send(prepared.tx)) setIssued({ chainId: prepared.tx.chainId, tokenId: prepared.token_id });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };

  const voucher = async () => {
    try {
      const v = unwrap(await client.POST("/credentials/vouchers", { body: body() }));
      const typed = toViemTypedData(v.typed_data as unknown as ApiTypedData);
      const signature = await signTypedDataAsync(typed as Parameters<typeof signTypedDataAsync>[0]);
      unwrap(await client.PUT("/credentials/vouchers/{voucher_id}/signature", { params: { path: { voucher_id: v.id } }, body: { signature } }));
      status.say(t("issuer.voucherSigned"), "success");
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };

  return (
    <Page title={t("issuer.title")}>
      <form className="stack" onSubmit={issue}>
        <label>
          {t("issuer.holder")}
          <input required value={holder} spellCheck={false} aria-invalid={holder !== "" && !holderOk} onChange={(e) => setHolder(e.target.value.trim())} />
        </label>
        {holder !== "" && !holderOk && <p className="error">{t("issuer.badAddress")}</p>}
        <label>
          {t("issuer.skill")}
          <select value={skill} onChange={(e) => setSkill(e.target.value)}>
            {skills.data?.map((s) => (
              <option key={s.slug} value={s.slug}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("issuer.name")}
          <input required value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          {t("issuer.description")}
          <textarea value={description} maxLength={5000} onChange={(e) => setDescription(e.target.value)} />
        </label>
        <label>
          {t("issuer.engagement")}
          <input inputMode="numeric" value={engagement} onChange={(e) => setEngagement(e.target.value.replace(/\D/g, ""))} />
        </label>
        <div className="row">
          <button className="primary" disabled={!holderOk || !name}>
            {t("issuer.issue")}
          </button>
          <button type="button" disabled={!holderOk || !name} onClick={voucher}>
            {t("issuer.voucher")}
          </button>
        </div>
      </form>
      {issued && (
        <p className="success">
          {t("issuer.issued")} <Link to={`/verify/${issued.chainId}/${issued.tokenId}`}>{t("issuer.shareLink")}</Link>
        </p>
      )}
      <Cohort skill={skill || skills.data?.[0]?.slug || ""} description={description} />
      {session && <Issued address={session.address} />}
    </Page>
  );
}

/** Many holders at once: one line each ("address, name"); the API prepares every transaction (and
 * says which lines it refuses, in words), then the wallet sends them one by one. */
function Cohort({ skill, description }: { skill: string; description: string }) {
  const { t } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const [lines, setLines] = useState("");
  const [progress, setProgress] = useState<string | null>(null);
  const [problems, setProblems] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const run = async (e: FormEvent) => {
    e.preventDefault();
    const rows = lines.split("\n").map((l) => l.trim()).filter(Boolean);
    const bad = rows.map((l, i) => ({ l, i })).filter(({ l }) => { const [a, ...n] = l.split(","); return !isAddress((a ?? "").trim(), { strict: false }) || !n.join(",").trim(); });
    if (bad.length) {
      setProblems(bad.map(({ i }) => t("issuer.cohortBadLine", { line: i + 1 })));
      return;
    }
    setBusy(true);
    setProblems([]);
    try {
      const items = rows.map((l) => {
        const [address, ...name] = l.split(",");
        return { holder: address!.trim(), skill, name: name.join(",").trim(), description };
      });
      const results = unwrap(await client.POST("/credentials/batch", { body: { items } }));
      const refused = results.filter((r) => !r.ok).map((r) => t("issuer.cohortLineError", { line: r.index + 1, error: r.error ?? "" }));
      setProblems(refused);
      const ready = results.filter((r) => r.ok && r.result);
      let done = 0;
      for (const r of ready) {
        if (!(await send(r.result!.tx))) break;
        done += 1;
        setProgress(t("issuer.cohortProgress", { done, total: ready.length }));
      }
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <section aria-labelledby="cohort">
      <h2 id="cohort">{t("issuer.cohort")}</h2>
      <p className="muted">{t("issuer.cohortExplain")}</p>
      <form className="stack" onSubmit={run}>
        <label>
          {t("issuer.cohortLines")}
          <textarea rows={5} value={lines} spellCheck={false} onChange={(e) => setLines(e.target.value)} placeholder={"0x…, Solidity Developer"} />
        </label>
        <button className="primary" disabled={busy || !lines.trim()}>
          {t("issuer.cohortPrepare")}
        </button>
      </form>
      {progress && <p className="success">{progress}</p>}
      {problems.length > 0 && (
        <ul className="error" role="alert">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** What this issuer issued, newest first, each with its share link and a revoke with a reason. */
function Issued({ address }: { address: string }) {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const info = useChainInfo();
  const [reasons, setReasons] = useState<Record<string, string>>({});
  const list = useQuery({
    queryKey: ["issued", address],
    queryFn: async () => unwrap(await client.GET("/issuers/{address}/credentials", { params: { path: { address }, query: { limit: 50 } } })),
  });
  const revoke = async (tokenId: string) => {
    try {
      const prepared = unwrap(
        await client.POST("/credentials/{token_id}/revoke", { params: { path: { token_id: tokenId } }, body: { reason: reasons[tokenId] ?? "" } }),
      );
      await send(prepared.tx);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <section aria-labelledby="issued">
      <h2 id="issued">{t("issuer.issuedList")}</h2>
      {list.data && list.data.data.length === 0 && <p className="muted">{t("issuer.noneIssued")}</p>}
      <ul className="cards wide">
        {list.data?.data.map((c) => (
          <li key={c.token_id} className="card stack">
            <p>
              {t("issuer.tokenOf", { token: `${c.token_id.slice(0, 6)}…` })} <Address address={c.holder} /> · {c.skill ?? ""} · {formatDate(c.issued_at, i18n.language)}
              {c.revoked && <> · <strong>{t("issuer.revoked")}</strong></>}
            </p>
            <Link to={`/verify/${info.chain_id}/${c.token_id}`}>{t("issuer.shareLink")}</Link>
            {!c.revoked && (
              <ConfirmAction label={t("issuer.revoke")} explain={t("issuer.revokeExplain")} disabled={false} onConfirm={() => revoke(c.token_id)}>
                <label>
                  {t("issuer.reason")}
                  <textarea value={reasons[c.token_id] ?? ""} maxLength={5000} onChange={(e) => setReasons({ ...reasons, [c.token_id]: e.target.value })} />
                </label>
              </ConfirmAction>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

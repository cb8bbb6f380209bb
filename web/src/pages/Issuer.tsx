import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { isAddress } from "viem";
import { useSignTypedData } from "wagmi";
import { client, unwrap } from "../api/client";
import { Page } from "../components/ui";
import { describeError } from "../lib/errors";
import { useSend } from "../lib/send";
import { toViemTypedData, type ApiTypedData } from "../lib/typed";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

export function Issuer() {
  const { t } = useTranslation();
  const { signedIn } = useSession();
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
    </Page>
  );
}

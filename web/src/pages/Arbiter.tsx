import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap, type Engagement } from "../api/client";
import { Address, Amount, ConfirmAction, ErrorNote, Loading, Page, Party } from "../components/ui";
import { describeError } from "../lib/errors";
import { sendForm } from "../lib/upload";
import { formatDateTime, shortAddress, feeOf } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

export function Arbiter() {
  const { t } = useTranslation();
  const { signedIn } = useSession();
  const queue = useQuery({
    queryKey: ["mine", "arbiter"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/arbiter/queue")),
  });
  if (!signedIn) return <SignInFirst title={t("arbiter.title")} />;
  return (
    <Page title={t("arbiter.title")}>
      {queue.isLoading && <Loading />}
      {queue.error && <ErrorNote error={queue.error} />}
      {queue.data && queue.data.data.length === 0 && <p>{t("arbiter.empty")}</p>}
      {queue.data?.data.map((e) => <Dispute key={e.id} e={e} />)}
    </Page>
  );
}

function Dispute({ e }: { e: Engagement }) {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const [percent, setPercent] = useState(50);
  const evidence = useQuery({
    queryKey: ["engagement", String(e.id), "evidence"],
    queryFn: async () => unwrap(await client.GET("/engagements/{engagement_id}/evidence", { params: { path: { engagement_id: e.id } } })),
  });
  // As the contract splits: per frozen milestone, the mentor's share less the fee on that share; the
  // payer gets the rest back, fee-free.
  const frozen = e.milestones.filter((m) => m.frozen).map((m) => BigInt(m.amount));
  const open = frozen.reduce((a, x) => a + x, 0n);
  const gross = frozen.reduce((a, x) => a + (x * BigInt(percent * 100)) / 10_000n, 0n);
  const fee = frozen.reduce((a, x) => a + feeOf((x * BigInt(percent * 100)) / 10_000n, e.fee_bps), 0n);
  return (
    <section className="card" aria-labelledby={`d-${e.id}`}>
      <h2 id={`d-${e.id}`} className="h3">
        <Link to={`/engagements/${e.id}`}>{t("engagement.title", { id: e.id })}</Link>
      </h2>
      <p>
        {t("engagement.client")} <Party address={e.client} /> · {t("engagement.provider")} <Party address={e.provider} />
      </p>
      <h3>{t("arbiter.evidence")}</h3>
      {evidence.data && evidence.data.data.length === 0 && <p className="muted">{t("arbiter.noEvidence")}</p>}
      <ul>
        {evidence.data?.data.map((x) => (
          <li key={x.id}>
            <Address address={x.author} /> · {formatDateTime(x.created_at, i18n.language)} ·{" "}
            <a href={`/ipfs/${x.cid}`}>{t("arbiter.document")}</a>
          </li>
        ))}
      </ul>
      <Shared id={e.id} />
      <label>
        {t("arbiter.split", { percent })}
        <input type="range" min={0} max={100} step={5} value={percent} onChange={(ev) => setPercent(Number(ev.target.value))} />
      </label>
      <p>
        {t("arbiter.providerGets")} <Amount raw={gross - fee} token={e.token} /> · {t("arbiter.clientGets")} <Amount raw={open - gross} token={e.token} /> ·{" "}
        {t("engagement.feeTaken")} <Amount raw={fee} token={e.token} />
      </p>
      <ConfirmAction
        label={t("arbiter.resolve")}
        explain={t("arbiter.resolveExplain", { percent })}
        onConfirm={async () => {
          try {
            const tx = unwrap(await client.POST("/engagements/{engagement_id}/resolve", { params: { path: { engagement_id: e.id } }, body: { provider_share_bps: percent * 100 } }));
            await send(tx);
          } catch (error) {
            status.say(words(describeError(error)), "error");
          }
        }}
      />
    </section>
  );
}

/** What the parties chose to share from their conversations: each with who shared it and when. */
export function Shared({ id }: { id: number }) {
  const { t, i18n } = useTranslation();
  const shared = useQuery({
    queryKey: ["engagement", String(id), "shared"],
    queryFn: async () =>
      unwrap(await client.GET("/engagements/{engagement_id}/shared-evidence", { params: { path: { engagement_id: id } } })),
  });
  const when = (at: number) => formatDateTime(at, i18n.language);
  return (
    <>
      <h3>{t("evidence.shared")}</h3>
      {shared.data && shared.data.data.length === 0 && <p className="muted">{t("evidence.noneShared")}</p>}
      <ul className="thread">
        {shared.data?.data.map((x) => (
          <li key={x.id} className="message">
            <p className="muted">
              {t("evidence.sharedBy", { who: shortAddress(x.shared_by), time: when(x.shared_at) })}
            </p>
            {x.kind === "message" ? (
              <>
                <p className="muted">
                  {t("evidence.wrote", { who: shortAddress(x.sender ?? ""), time: when(x.sent_at ?? 0) })}
                </p>
                <p className="body">{x.body}</p>
                {x.file && <SharedFileButton engagement={id} shared={x.id} file={x.file} />}
              </>
            ) : (
              <ul>
                {(x.attendance ?? []).map((a, i) => (
                  <li key={i}>
                    {shortAddress(String(a.address))} · {t("room.joinedAt", { time: when(Number(a.joined_at)) })} ·{" "}
                    {a.left_at ? t("room.leftAt", { time: when(Number(a.left_at)) }) : t("room.here")}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** Downloads a shared file with the signed-in session (the route needs it, so not a plain link). */
function SharedFileButton({ engagement, shared, file }: { engagement: number; shared: number; file: { name: string; size: number } }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const download = async () => {
    try {
      const res = await sendForm(`/engagements/${engagement}/shared-evidence/${shared}/file`, "GET");
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = file.name;
      a.click();
      URL.revokeObjectURL(url);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <button type="button" className="link-button" onClick={() => void download()}>
      {t("evidence.download", { name: file.name, size: new Intl.NumberFormat(i18n.language, { style: "unit", unit: "kilobyte", maximumFractionDigits: 0 }).format(Math.max(1, file.size / 1024)) })}
    </button>
  );
}

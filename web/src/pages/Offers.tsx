// Custom offers for one learner: a mentor drafts milestones priced in a currency (the API converts
// them into the paying token), signs the offer once in the wallet, and may withdraw it; the learner
// sees what each milestone costs and funds it, and the engagement starts accepted.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useSignTypedData } from "wagmi";
import { client, unwrap, type Schemas } from "../api/client";
import { Address, Amount, ConfirmAction, ErrorNote, Loading, Page } from "../components/ui";
import { describeError } from "../lib/errors";
import { formatDate, formatPrice } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { toViemTypedData, type ApiTypedData } from "../lib/typed";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

type Offer = Schemas["CustomOfferPublic"];
type Currency = Schemas["CustomOfferIn"]["currency"];
const CURRENCIES: NonNullable<Currency>[] = ["USD", "EUR", "GBP", "INR", "ETH"];

interface MilestoneDraft {
  title: string;
  price: string;
  due: string; // yyyy-mm-dd, the end of that day in the viewer's zone
}

function useSignOffer() {
  const { signTypedDataAsync } = useSignTypedData();
  return async (offer: Offer) => {
    const signature = await signTypedDataAsync(toViemTypedData(offer.typed_data as unknown as ApiTypedData) as Parameters<typeof signTypedDataAsync>[0]);
    return unwrap(await client.PUT("/offers/{offer_id}/signature", { params: { path: { offer_id: offer.id } }, body: { signature } }));
  };
}

export function Offers() {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  const list = useQuery({
    queryKey: ["mine", "offers"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/me/offers", { params: { query: { limit: 50 } } })),
  });
  if (!signedIn || !session) return <SignInFirst title={t("offers.title")} />;
  const me = session.address.toLowerCase();
  const all = list.data?.data ?? [];
  const received = all.filter((o) => o.client.toLowerCase() === me);
  const made = all.filter((o) => o.provider.toLowerCase() === me);
  return (
    <Page title={t("offers.title")}>
      <p className="muted">{t("offers.explain")}</p>
      {list.isLoading && <Loading />}
      {list.error && <ErrorNote error={list.error} />}
      <section aria-labelledby="offers-received" className="stack">
        <h2 id="offers-received">{t("offers.received")}</h2>
        {list.data && received.length === 0 && <p className="muted">{t("offers.noneReceived")}</p>}
        <ul className="cards wide">
          {received.map((o) => (
            <OfferCard key={o.id} offer={o} mine={false} />
          ))}
        </ul>
      </section>
      <section aria-labelledby="offers-made" className="stack">
        <h2 id="offers-made">{t("offers.made")}</h2>
        {list.data && made.length === 0 && <p className="muted">{t("offers.noneMade")}</p>}
        <ul className="cards wide">
          {made.map((o) => (
            <OfferCard key={o.id} offer={o} mine />
          ))}
        </ul>
      </section>
      <MakeOffer />
    </Page>
  );
}

function OfferCard({ offer: o, mine }: { offer: Offer; mine: boolean }) {
  const { t, i18n } = useTranslation();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const signOffer = useSignOffer();
  const refresh = () => queries.invalidateQueries({ queryKey: ["mine", "offers"] });
  const act = async (work: () => Promise<unknown>) => {
    try {
      await work();
      await refresh();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const total = o.offer.amounts.reduce((sum, a) => sum + BigInt(a), 0n);
  return (
    <li className="card stack">
      <h3>{o.title}</h3>
      <p>
        {mine ? t("offers.to") : t("offers.from")} <Address address={mine ? o.client : o.provider} /> · <strong>{t(`offers.state.${o.state}`)}</strong>
      </p>
      <div className="table-scroll">
      <table className="milestones-table">
        <caption className="sr-only">{t("offers.milestonesOf", { title: o.title })}</caption>
        <thead>
          <tr>
            <th scope="col">#</th>
            <th scope="col">{t("offers.price")}</th>
            <th scope="col">{t("offers.pays")}</th>
            <th scope="col">{t("offers.due")}</th>
          </tr>
        </thead>
        <tbody>
          {o.offer.amounts.map((amount, i) => (
            <tr key={i}>
              <td>{i + 1}</td>
              <td>{formatPrice(o.prices[i] ?? "0", o.currency, i18n.language)}</td>
              <td>
                <Amount raw={amount} token={o.offer.token} />
              </td>
              <td>{formatDate(Number(o.offer.dueDates?.[i] ?? 0), i18n.language)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
      <p>
        {t("offers.total")} <Amount raw={total} token={o.offer.token} /> · {t("offers.validUntil", { when: formatDate(o.valid_until, i18n.language) })}
      </p>
      <div className="row">
        {mine && o.state === "draft" && (
          <button type="button" className="primary" onClick={() => act(async () => { await signOffer(o); status.say(t("offers.signed"), "success"); })}>
            {t("offers.sign")}
          </button>
        )}
        {mine && (o.state === "draft" || o.state === "open") && (
          <ConfirmAction
            label={t("offers.withdraw")}
            explain={o.state === "open" ? t("offers.withdrawSigned") : t("offers.withdrawDraft")}
            onConfirm={() =>
              act(async () => {
                const out = unwrap(await client.POST("/offers/{offer_id}/cancel", { params: { path: { offer_id: o.id } } }));
                if (out.tx) await send(out.tx);
                else status.say(t("offers.withdrawn"), "success");
              })
            }
          />
        )}
        {!mine && o.state === "open" && (
          <ConfirmAction
            label={t("offers.fund")}
            explain={t("offers.fundExplain", { count: o.offer.amounts.length })}
            onConfirm={() =>
              act(async () => {
                await send(unwrap(await client.POST("/offers/{offer_id}/fund", { params: { path: { offer_id: o.id } } })));
              })
            }
          />
        )}
        {o.engagement_id != null && <Link to={`/engagements/${o.engagement_id}`}>{t("offers.openEngagement", { id: o.engagement_id })}</Link>}
      </div>
    </li>
  );
}

const emptyMilestone = (): MilestoneDraft => ({ title: "", price: "", due: "" });

function MakeOffer() {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const signOffer = useSignOffer();
  const skills = useQuery({ queryKey: ["skills"], queryFn: async () => unwrap(await client.GET("/skills")), staleTime: Infinity });
  const [learner, setLearner] = useState("");
  const [title, setTitle] = useState("");
  const [skill, setSkill] = useState("");
  const [currency, setCurrency] = useState<NonNullable<Currency>>("USD");
  const [payIn, setPayIn] = useState<"ETH" | "stablecoin">("ETH");
  const [days, setDays] = useState("7");
  const [milestones, setMilestones] = useState<MilestoneDraft[]>([emptyMilestone()]);
  const [busy, setBusy] = useState(false);
  const edit = (i: number, change: Partial<MilestoneDraft>) => setMilestones(milestones.map((m, k) => (k === i ? { ...m, ...change } : m)));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!/^0x[0-9a-fA-F]{40}$/.test(learner.trim())) {
      status.say(t("offers.badLearner"), "error");
      return;
    }
    setBusy(true);
    try {
      const made = unwrap(
        await client.POST("/offers", {
          body: {
            client: learner.trim(),
            title,
            skill,
            currency,
            pay_in: payIn,
            valid_for: Math.max(1, Number(days) || 7) * 86400,
            milestones: milestones.map((m) => ({
              title: m.title,
              price: m.price.replace(",", "."),
              // The end of the chosen day, where the mentor is.
              due_date: Math.floor(new Date(`${m.due}T23:59:59`).getTime() / 1000),
            })),
          },
        }),
      );
      await queries.invalidateQueries({ queryKey: ["mine", "offers"] });
      await signOffer(made);
      status.say(t("offers.sent"), "success");
      setMilestones([emptyMilestone()]);
      setTitle("");
      await queries.invalidateQueries({ queryKey: ["mine", "offers"] });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="make-offer">
      <h2 id="make-offer">{t("offers.make")}</h2>
      <p className="muted">{t("offers.makeExplain")}</p>
      <form className="stack" onSubmit={submit}>
        <label>
          {t("offers.learnerWallet")}
          <input value={learner} onChange={(e) => setLearner(e.target.value)} placeholder="0x…" spellCheck={false} required />
        </label>
        <label>
          {t("offers.offerTitle")}
          <input value={title} onChange={(e) => setTitle(e.target.value)} maxLength={120} required />
        </label>
        <label>
          {t("offers.skill")}
          <select value={skill} onChange={(e) => setSkill(e.target.value)} required>
            <option value="">{t("offers.pickSkill")}</option>
            {skills.data?.map((s) => (
              <option key={s.slug} value={s.slug}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <div className="row">
          <label>
            {t("offers.currency")}
            <select value={currency} onChange={(e) => setCurrency(e.target.value as NonNullable<Currency>)}>
              {CURRENCIES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t("offers.payIn")}
            <select value={payIn} onChange={(e) => setPayIn(e.target.value as "ETH" | "stablecoin")}>
              <option value="ETH">ETH</option>
              <option value="stablecoin">{t("offers.stablecoin")}</option>
            </select>
          </label>
          <label>
            {t("offers.validDays")}
            <input type="number" min={1} max={90} value={days} onChange={(e) => setDays(e.target.value)} />
          </label>
        </div>
        {milestones.map((m, i) => (
          <fieldset key={i} className="milestone-draft">
            <legend>{t("offers.milestone", { n: i + 1 })}</legend>
            <label>
              {t("offers.milestoneTitle")}
              <input value={m.title} onChange={(e) => edit(i, { title: e.target.value })} required />
            </label>
            <label>
              {t("offers.milestonePrice", { currency })}
              <input inputMode="decimal" value={m.price} onChange={(e) => edit(i, { price: e.target.value.replace(/[^0-9.,]/g, "") })} required />
            </label>
            <label>
              {t("offers.milestoneDue")}
              <input type="date" value={m.due} onChange={(e) => edit(i, { due: e.target.value })} required />
            </label>
            {milestones.length > 1 && (
              <button type="button" className="link-button" onClick={() => setMilestones(milestones.filter((_, k) => k !== i))} aria-label={t("offers.removeMilestone", { n: i + 1 })}>
                {t("mentor.remove")}
              </button>
            )}
          </fieldset>
        ))}
        <div className="row">
          <button type="button" onClick={() => setMilestones([...milestones, emptyMilestone()])} disabled={milestones.length >= 16}>
            {t("offers.addMilestone")}
          </button>
          <button className="primary" disabled={busy}>
            {t("offers.createAndSign")}
          </button>
        </div>
      </form>
    </section>
  );
}

// A listing to a funded engagement: terms in human units, the quote (price, fee, what the wallet
// pays), then the wallet or a card. After sending, wait until indexed and open the engagement.
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate, useParams } from "react-router";
import { client, unwrap } from "../api/client";
import { Address, ErrorNote, Loading, Page } from "../components/ui";
import { useChainInfo } from "../lib/chain";
import { describeError } from "../lib/errors";
import { AmountError, endOfDay, formatPrice, formatTokenAmount, parseTokenAmount, quoteOf } from "../lib/format";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { BookSession } from "./BookSession";
import { useErrorWords } from "../lib/useErrorWords";
import { Pays, useListingPrices } from "../lib/prices";

export function Book() {
  const { listingId = "" } = useParams();
  const { t, i18n } = useTranslation();
  const info = useChainInfo();
  const navigate = useNavigate();
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const { signedIn } = useSession();
  const cardMethods = useQuery({
    queryKey: ["card-methods"],
    queryFn: async () => unwrap(await client.GET("/payments/methods")).methods,
    staleTime: 300_000,
  });
  const listing = useQuery({
    queryKey: ["listing", listingId],
    queryFn: async () => unwrap(await client.GET("/listings/{listing_id}", { params: { path: { listing_id: Number(listingId) } } })),
  });
  const prices = useListingPrices(listing.data ? [listing.data.id] : []);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const inAWeek = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  const [title, setTitle] = useState("");
  const [token, setToken] = useState(info.tokens[0]?.address ?? "");
  const [amount, setAmount] = useState("");
  const [due, setDue] = useState(inAWeek);
  const [busy, setBusy] = useState(false);
  const meta = info.tokens.find((x) => x.address === token) ?? info.tokens[0];

  const parsed = useMemo(() => {
    if (!meta) return { error: "format" as const };
    try {
      return { value: parseTokenAmount(amount, meta.decimals) };
    } catch (e) {
      return { error: e instanceof AmountError ? e.reason : ("format" as const) };
    }
  }, [amount, meta]);
  const quote = parsed.value !== undefined ? quoteOf([parsed.value], info.fee_bps) : null;

  if (listing.isLoading) return <Loading />;
  if (listing.error || !listing.data) return <ErrorNote error={listing.error} />;
  const l = listing.data;
  if (l.session)
    return (
      <Page title={t("book.title", { title: l.title })}>
        <p>
          <Address address={l.owner} /> · {formatPrice(l.price, l.currency, i18n.language)} <Pays price={prices.get(l.id)} />
        </p>
        <Inquiry listingId={l.id} owner={l.owner} />
        <BookSession listing={l} />
      </Page>
    );
  const body = () => ({
    provider: l.owner,
    title: title || l.title,
    skill: l.skill,
    token: meta && meta.symbol !== "ETH" ? meta.address : "ETH",
    milestones: [{ title: title || l.title, amount: String(parsed.value ?? 0n), due_date: endOfDay(due, zone) }],
  });

  const fund = async (e: FormEvent) => {
    e.preventDefault();
    if (!quote) return;
    setBusy(true);
    try {
      const prepared = unwrap(await client.POST("/engagements/prepare", { body: body() }));
      const created = await send(prepared);
      if (created) navigate("/engagements");
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };

  const card = async (method: "stripe" | "razorpay") => {
    setBusy(true);
    try {
      const b = body();
      const out = unwrap(
        await client.POST("/payments/checkout", {
          body: { provider: b.provider, title: b.title, skill: b.skill, milestones: b.milestones, method },
        }),
      );
      window.location.assign(out.checkout_url);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <Page title={t("book.title", { title: l.title })}>
      <p>
        <Address address={l.owner} /> · {formatPrice(l.price, l.currency, i18n.language)} <Pays price={prices.get(l.id)} />
      </p>
      <form className="stack" onSubmit={fund}>
        <label>
          {t("book.what")}
          <input value={title} placeholder={l.title} maxLength={200} onChange={(e) => setTitle(e.target.value)} />
        </label>
        <label>
          {t("book.token")}
          <select value={token} onChange={(e) => setToken(e.target.value)}>
            {info.tokens.map((x) => (
              <option key={x.address} value={x.address}>
                {x.symbol}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("book.amount", { symbol: meta?.symbol ?? "" })}
          <input
            inputMode="decimal"
            required
            value={amount}
            aria-invalid={amount !== "" && parsed.error !== undefined}
            aria-describedby="amount-help"
            onChange={(e) => setAmount(e.target.value)}
          />
        </label>
        <p id="amount-help" className={amount && parsed.error ? "error" : "muted"}>
          {amount && parsed.error ? t(`amount.${parsed.error}`, { decimals: meta?.decimals }) : t("book.amountHelp", { symbol: meta?.symbol })}
        </p>
        <label>
          {t("book.due", { zone })}
          <input type="date" required value={due} min={new Date().toISOString().slice(0, 10)} onChange={(e) => setDue(e.target.value)} />
        </label>
        {quote && meta && (
          <dl className="quote" aria-label={t("book.quote")}>
            <dt>{t("book.walletPays")}</dt>
            <dd>{formatTokenAmount(quote.total, meta.decimals, meta.symbol, i18n.language)}</dd>
            <dt>{t("book.fee", { percent: (info.fee_bps / 100).toLocaleString(i18n.language) })}</dt>
            <dd>{formatTokenAmount(quote.fee, meta.decimals, meta.symbol, i18n.language)}</dd>
            <dt>{t("book.mentorGets")}</dt>
            <dd>{formatTokenAmount(quote.provider, meta.decimals, meta.symbol, i18n.language)}</dd>
          </dl>
        )}
        {!signedIn && <p className="notice">{t("book.signInFirst")}</p>}
        <p className="muted">{t("book.consent")}</p>
        <div className="row">
          <button className="primary" disabled={busy || !quote || !signedIn}>
            {t("book.fundWallet")}
          </button>
          {(cardMethods.data ?? []).map((m) => (
            <button
              key={m.method}
              type="button"
              disabled={busy || !quote || !signedIn || meta?.symbol === "ETH"}
              onClick={() => void card(m.method === "razorpay" ? "razorpay" : "stripe")}
            >
              {t(m.method === "razorpay" ? "book.payRazorpay" : "book.payCard", { currency: m.currency.toUpperCase() })}
            </button>
          ))}
        </div>
      </form>
      <Inquiry listingId={l.id} owner={l.owner} />
    </Page>
  );
}

/** "Message the mentor first": the first message of the learner's thread with the listing's owner. */
function Inquiry({ listingId, owner }: { listingId: number; owner: string }) {
  const { t } = useTranslation();
  const { signedIn, session } = useSession();
  const navigate = useNavigate();
  const status = useStatus();
  const words = useErrorWords();
  const [open, setOpen] = useState(false);
  const [body, setBody] = useState("");
  if (!signedIn || session?.address === owner) return null;
  if (!open)
    return (
      <p>
        <button type="button" onClick={() => setOpen(true)}>
          {t("messages.inquire")}
        </button>
      </p>
    );
  const send = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const out = unwrap(await client.POST("/listings/{listing_id}/inquiries", { params: { path: { listing_id: listingId } }, body: { body } }));
      navigate(`/messages/${out.thread.id}`);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <form className="stack" onSubmit={send}>
      <label htmlFor="inquiry">{t("messages.inquiryLabel")}</label>
      <textarea id="inquiry" value={body} onChange={(e) => setBody(e.target.value)} maxLength={10000} rows={3} required />
      <button type="submit" className="primary" disabled={!body.trim()}>
        {t("messages.inquirySend")}
      </button>
    </form>
  );
}

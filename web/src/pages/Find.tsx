import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { client, unwrap, type Listing } from "../api/client";
import { Address, ErrorNote, Loading, Page } from "../components/ui";
import { formatDateTime, formatPrice } from "../lib/format";
import { Pays, useListingPrices } from "../lib/prices";
import { useSession } from "../lib/session";

interface Filters {
  skill: string;
  kind: "" | "offer" | "request";
  min_price: string;
  nearMe: boolean;
  max_price: string;
  language: string;
  thisWeek: boolean;
  currency: "" | "USD" | "EUR" | "GBP" | "INR" | "ETH";
}

const EMPTY: Filters = { skill: "", kind: "", min_price: "", nearMe: false, max_price: "", language: "", thisWeek: false, currency: "" };
const CURRENCIES = ["USD", "EUR", "GBP", "INR", "ETH"] as const;
const LANGS = ["en", "es", "hi", "fr", "de", "pt", "zh", "ja"];

export function Find() {
  const { t, i18n } = useTranslation();
  const { signedIn } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const skills = useQuery({ queryKey: ["skills"], queryFn: async () => unwrap(await client.GET("/skills")), staleTime: Infinity });
  const results = useQuery({
    queryKey: ["listings", filters],
    queryFn: async () =>
      unwrap(
        await client.GET("/listings", {
          params: {
            query: {
              skill: filters.skill || undefined,
              kind: filters.kind || undefined,
              min_price: filters.min_price ? Number(filters.min_price) : undefined,
              max_price: filters.max_price ? Number(filters.max_price) : undefined,
              language: filters.language || undefined,
              available_days: filters.thisWeek ? 7 : undefined,
              near_timezone: filters.nearMe ? Intl.DateTimeFormat().resolvedOptions().timeZone : undefined,
              price_currency: filters.currency || undefined,
              limit: 24,
            },
          },
        }),
      ),
  });
  const recs = useQuery({
    queryKey: ["mine", "recommendations"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/recommendations")),
    retry: false,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilters(draft);
  };
  const prices = useListingPrices((results.data?.data ?? []).filter((l) => l.kind === "offer").map((l) => l.id));
  const skillName = (slug: string) => skills.data?.find((s) => s.slug === slug)?.name ?? slug;

  return (
    <Page title={t("find.title")}>
      <form className="filters" onSubmit={submit} aria-label={t("find.filters")}>
        <label>
          {t("find.skill")}
          <select value={draft.skill} onChange={(e) => setDraft({ ...draft, skill: e.target.value })}>
            <option value="">{t("find.anySkill")}</option>
            {skills.data?.map((s) => (
              <option key={s.slug} value={s.slug}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("find.kind")}
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as Filters["kind"] })}>
            <option value="">{t("find.anyKind")}</option>
            <option value="offer">{t("find.offers")}</option>
            <option value="request">{t("find.requests")}</option>
          </select>
        </label>
        <label>
          {t("find.minPrice")}
          <input inputMode="decimal" value={draft.min_price} onChange={(e) => setDraft({ ...draft, min_price: e.target.value.replace(/[^0-9.]/g, "") })} />
        </label>
        <label>
          {t("find.maxPrice")}
          <input inputMode="decimal" value={draft.max_price} onChange={(e) => setDraft({ ...draft, max_price: e.target.value.replace(/[^0-9.]/g, "") })} />
        </label>
        <label>
          {t("find.priceCurrency")}
          <select value={draft.currency} onChange={(e) => setDraft({ ...draft, currency: e.target.value as Filters["currency"] })}>
            <option value="">{t("find.ownCurrency")}</option>
            {CURRENCIES.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("find.language")}
          <select value={draft.language} onChange={(e) => setDraft({ ...draft, language: e.target.value })}>
            <option value="">{t("find.anyLanguage")}</option>
            {LANGS.map((code) => (
              <option key={code} value={code}>
                {new Intl.DisplayNames([i18n.language], { type: "language" }).of(code) ?? code}
              </option>
            ))}
          </select>
        </label>
        <label className="inline">
          <input type="checkbox" checked={draft.nearMe} onChange={(e) => setDraft({ ...draft, nearMe: e.target.checked })} />
          {t("find.nearMe")}
        </label>
        <label className="inline">
          <input type="checkbox" checked={draft.thisWeek} onChange={(e) => setDraft({ ...draft, thisWeek: e.target.checked })} />
          {t("find.thisWeek")}
        </label>
        <button className="primary">{t("find.search")}</button>
      </form>

      {signedIn && recs.data && recs.data.length > 0 && (
        <section aria-labelledby="recs">
          <h2 id="recs">{t("find.recommended")}</h2>
          <ul className="cards">
            {recs.data.map((r) => (
              <li key={r.listing_id} className="card">
                <Address address={r.owner} />
                <p className="muted">{r.reasons.join(" · ")}</p>
                <Link to={`/book/${r.listing_id}`}>{t("find.seeListing")}</Link>
              </li>
            ))}
          </ul>
        </section>
      )}

      <section aria-labelledby="results" aria-busy={results.isLoading}>
        <h2 id="results">{t("find.results")}</h2>
        {results.isLoading && <Loading />}
        {results.error && <ErrorNote error={results.error} />}
        {results.data && results.data.data.length === 0 && <p>{t("find.empty")}</p>}
        <ul className="cards">
          {results.data?.data.map((l: Listing) => (
            <li key={l.id} className="card">
              <p className={`tag ${l.kind}`}>{l.kind === "offer" ? t("find.offer") : t("find.request")}</p>
              <h3>{l.title}</h3>
              <Address address={l.owner} name={l.owner_name} avatar={l.owner_avatar} />
              <p>{l.description}</p>
              <p>
                {skillName(l.skill)} · <strong>{formatPrice(l.price, l.currency, i18n.language)}</strong>
                {l.languages.length > 0 && <> · {l.languages.join(", ")}</>}
              </p>
              {l.kind === "offer" && (
                <p>
                  <Pays price={prices.get(l.id)} />
                </p>
              )}
              {l.next_free_at != null && <p className="muted">{t("find.nextFree", { when: formatDateTime(l.next_free_at, i18n.language) })}</p>}
              <p className="muted">
                {l.owner_rating
                  ? t("find.ratingCount", {
                      rating: new Intl.NumberFormat(i18n.language, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(l.owner_rating),
                      count: l.owner_rating_count,
                    })
                  : t("find.noRating")}
              </p>
              {l.kind === "offer" && (
                <Link className="button" to={`/book/${l.id}`} aria-label={t("find.bookLabel", { title: l.title })}>
                  {t("find.book")}
                </Link>
              )}
            </li>
          ))}
        </ul>
      </section>
    </Page>
  );
}

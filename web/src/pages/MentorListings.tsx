// The mentor desk's own marketplace presence: the public profile (name, bio, skills from the
// catalogue, languages, time zone) and the listings (create, pause, resume, delete). Paused listings
// stay here (GET /me/listings) while search no longer shows them.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { client, unwrap, type Schemas } from "../api/client";
import { ConfirmAction, ErrorNote, Loading } from "../components/ui";
import { describeError } from "../lib/errors";
import { formatPrice } from "../lib/format";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";

export const LANGS = ["en", "es", "hi", "fr", "de", "pt", "zh", "ja"];
const CURRENCIES = ["USD", "EUR", "GBP", "INR", "ETH"] as const;
const DURATIONS = [30, 45, 60, 90, 120];
const ZONES: string[] = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? ["UTC"];

function useSkills() {
  return useQuery({ queryKey: ["skills"], queryFn: async () => unwrap(await client.GET("/skills")), staleTime: Infinity });
}

function LanguagePicker({ legend, value, onChange }: { legend: string; value: string[]; onChange: (v: string[]) => void }) {
  const { i18n } = useTranslation();
  const names = new Intl.DisplayNames([i18n.language], { type: "language" });
  return (
    <fieldset>
      <legend>{legend}</legend>
      {LANGS.map((code) => (
        <label key={code} className="check">
          <input
            type="checkbox"
            checked={value.includes(code)}
            onChange={(e) => onChange(e.target.checked ? [...value, code] : value.filter((c) => c !== code))}
          />
          {names.of(code) ?? code}
        </label>
      ))}
    </fieldset>
  );
}

export function ProfileEditor() {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const skills = useSkills();
  const current = useQuery({
    queryKey: ["mine", "profile"],
    queryFn: async () => {
      const got = await client.GET("/me/profile");
      return got.response.status === 404 ? null : unwrap(got);
    },
  });
  const [name, setName] = useState("");
  const [bio, setBio] = useState("");
  const [mine, setMine] = useState<string[]>([]);
  const [languages, setLanguages] = useState<string[]>(["en"]);
  const [zone, setZone] = useState(Intl.DateTimeFormat().resolvedOptions().timeZone);
  useEffect(() => {
    const p = current.data;
    if (!p) return;
    setName(p.display_name);
    setBio(p.bio);
    setMine(p.skills);
    setLanguages(p.languages);
    if (p.timezone) setZone(p.timezone);
  }, [current.data]);
  const save = async (ev: FormEvent) => {
    ev.preventDefault();
    try {
      unwrap(
        await client.PUT("/me/profile", {
          body: {
            display_name: name.trim(),
            bio,
            skills: mine,
            languages,
            timezone: zone,
            hourly_rate: current.data?.hourly_rate ?? null,
            avatar_cid: current.data?.avatar_cid ?? null,
          },
        }),
      );
      status.say(t("desk.profileSaved"), "success");
      await queries.invalidateQueries({ queryKey: ["mine", "profile"] });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  if (current.isLoading) return <Loading />;
  return (
    <section aria-labelledby="desk-profile" className="stack">
      <h2 id="desk-profile">{t("desk.profile")}</h2>
      {current.error && <ErrorNote error={current.error} />}
      {current.data === null && <p className="muted">{t("desk.noProfile")}</p>}
      <form className="stack" onSubmit={save}>
        <label>
          {t("desk.name")}
          <input value={name} required maxLength={80} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          {t("desk.bio")}
          <textarea value={bio} maxLength={5000} onChange={(e) => setBio(e.target.value)} />
        </label>
        <label>
          {t("desk.skills")}
          <select
            multiple
            value={mine}
            size={Math.min(8, skills.data?.length ?? 4)}
            onChange={(e) => setMine(Array.from(e.target.selectedOptions, (o) => o.value))}
          >
            {skills.data?.map((s) => (
              <option key={s.slug} value={s.slug}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <LanguagePicker legend={t("desk.languages")} value={languages} onChange={setLanguages} />
        <label>
          {t("desk.zone")}
          <select value={zone} onChange={(e) => setZone(e.target.value)}>
            {ZONES.map((z) => (
              <option key={z} value={z}>
                {z}
              </option>
            ))}
          </select>
        </label>
        <button className="primary" disabled={!name.trim()}>
          {t("desk.saveProfile")}
        </button>
      </form>
    </section>
  );
}

interface Draft {
  kind: "offer" | "request";
  skill: string;
  title: string;
  description: string;
  price: string;
  currency: (typeof CURRENCIES)[number];
  languages: string[];
  sessions: boolean;
  duration: number;
  booking: "instant" | "request";
  freeCancelHours: string;
}

const EMPTY: Draft = {
  kind: "offer",
  skill: "",
  title: "",
  description: "",
  price: "",
  currency: "USD",
  languages: ["en"],
  sessions: true,
  duration: 60,
  booking: "request",
  freeCancelHours: "24",
};

export function ListingsEditor() {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const skills = useSkills();
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const mine = useQuery({
    queryKey: ["mine", "listings", "desk"],
    queryFn: async () => unwrap(await client.GET("/me/listings", { params: { query: { limit: 100 } } })),
  });
  const refresh = () => queries.invalidateQueries({ queryKey: ["mine", "listings"] });
  const attempt = async (work: () => Promise<unknown>, done: string) => {
    try {
      await work();
      status.say(done, "success");
      await refresh();
      return true;
    } catch (error) {
      status.say(words(describeError(error)), "error");
      return false;
    }
  };
  const priceOk = /^\d{1,9}(\.\d{1,2})?$/.test(draft.price.trim());
  const create = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!priceOk) {
      status.say(t("desk.badPrice"), "error");
      return;
    }
    const body: Schemas["ListingCreate"] = {
      kind: draft.kind,
      skill: draft.skill,
      title: draft.title.trim(),
      description: draft.description,
      price: draft.price.trim(),
      currency: draft.currency,
      languages: draft.languages.length ? draft.languages : ["en"],
      timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,
      session:
        draft.kind === "offer" && draft.sessions
          ? { duration_minutes: draft.duration, booking: draft.booking, free_cancel_hours: Number(draft.freeCancelHours) || 0 }
          : null,
    };
    const ok = await attempt(async () => unwrap(await client.POST("/listings", { body })), t("desk.created", { title: body.title }));
    if (ok) setDraft(EMPTY);
  };
  const listings = mine.data?.data ?? [];
  return (
    <section aria-labelledby="desk-listings" className="stack">
      <h2 id="desk-listings">{t("desk.listings")}</h2>
      {mine.isLoading && <Loading />}
      {mine.error && <ErrorNote error={mine.error} />}
      {mine.data && listings.length === 0 && <p className="muted">{t("desk.noListings")}</p>}
      {listings.length > 0 && (
        <ul className="history" aria-label={t("desk.listings")}>
          {listings.map((l) => (
            <li key={l.id}>
              <strong>{l.title}</strong> · {formatPrice(String(l.price), l.currency, i18n.language)} ·{" "}
              <span className="tag">{l.active ? t("desk.active") : t("desk.paused")}</span>{" "}
              <button
                type="button"
                onClick={() =>
                  void attempt(
                    async () =>
                      unwrap(await client.PATCH("/listings/{listing_id}", { params: { path: { listing_id: l.id } }, body: { active: !l.active } })),
                    l.active ? t("desk.pausedDone", { title: l.title }) : t("desk.resumedDone", { title: l.title }),
                  )
                }
              >
                {l.active ? t("desk.pause", { title: l.title }) : t("desk.resume", { title: l.title })}
              </button>{" "}
              <ConfirmAction
                label={t("desk.delete", { title: l.title })}
                explain={t("desk.deleteExplain")}
                onConfirm={() =>
                  attempt(async () => {
                    const got = await client.DELETE("/listings/{listing_id}", { params: { path: { listing_id: l.id } } });
                    if (!got.response.ok) unwrap(got);
                  }, t("desk.deleted", { title: l.title }))
                }
              />
            </li>
          ))}
        </ul>
      )}
      <form className="stack" onSubmit={create} aria-labelledby="desk-new">
        <h3 id="desk-new">{t("desk.newListing")}</h3>
        <label>
          {t("desk.kind")}
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.target.value as Draft["kind"] })}>
            <option value="offer">{t("desk.kindOffer")}</option>
            <option value="request">{t("desk.kindRequest")}</option>
          </select>
        </label>
        <label>
          {t("desk.skill")}
          <select value={draft.skill} required onChange={(e) => setDraft({ ...draft, skill: e.target.value })}>
            <option value="">{t("desk.pickSkill")}</option>
            {skills.data?.map((s) => (
              <option key={s.slug} value={s.slug}>
                {s.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("desk.title")}
          <input value={draft.title} required minLength={3} maxLength={120} onChange={(e) => setDraft({ ...draft, title: e.target.value })} />
        </label>
        <label>
          {t("desk.description")}
          <textarea value={draft.description} maxLength={5000} onChange={(e) => setDraft({ ...draft, description: e.target.value })} />
        </label>
        <div className="row">
          <label>
            {t("desk.price")}
            <input inputMode="decimal" value={draft.price} required placeholder="40" onChange={(e) => setDraft({ ...draft, price: e.target.value })} />
          </label>
          <label>
            {t("desk.currency")}
            <select value={draft.currency} onChange={(e) => setDraft({ ...draft, currency: e.target.value as Draft["currency"] })}>
              {CURRENCIES.map((c) => (
                <option key={c} value={c}>
                  {c}
                </option>
              ))}
            </select>
          </label>
        </div>
        <LanguagePicker legend={t("desk.listingLanguages")} value={draft.languages} onChange={(languages) => setDraft({ ...draft, languages })} />
        {draft.kind === "offer" && (
          <fieldset>
            <legend>{t("desk.sessions")}</legend>
            <label className="check">
              <input type="checkbox" checked={draft.sessions} onChange={(e) => setDraft({ ...draft, sessions: e.target.checked })} />
              {t("desk.bookable")}
            </label>
            {draft.sessions && (
              <div className="row">
                <label>
                  {t("desk.duration")}
                  <select value={draft.duration} onChange={(e) => setDraft({ ...draft, duration: Number(e.target.value) })}>
                    {DURATIONS.map((d) => (
                      <option key={d} value={d}>
                        {t("desk.minutes", { count: d })}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  {t("desk.booking")}
                  <select value={draft.booking} onChange={(e) => setDraft({ ...draft, booking: e.target.value as Draft["booking"] })}>
                    <option value="request">{t("desk.bookingRequest")}</option>
                    <option value="instant">{t("desk.bookingInstant")}</option>
                  </select>
                </label>
                <label>
                  {t("desk.freeCancel")}
                  <input
                    type="number"
                    min={0}
                    max={720}
                    value={draft.freeCancelHours}
                    onChange={(e) => setDraft({ ...draft, freeCancelHours: e.target.value })}
                  />
                </label>
              </div>
            )}
          </fieldset>
        )}
        <button className="primary" disabled={!draft.skill || draft.title.trim().length < 3}>
          {t("desk.publish")}
        </button>
      </form>
    </section>
  );
}

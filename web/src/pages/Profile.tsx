import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { client, unwrap, type Schemas } from "../api/client";
import { describeError } from "../lib/errors";
import { sendForm } from "../lib/upload";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { Avatar, CopyButton, ErrorNote, Loading, Page } from "../components/ui";
import { formatDateTime, formatPrice, shortAddress } from "../lib/format";

export function Profile() {
  const { address = "" } = useParams();
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const user = useQuery({
    queryKey: ["user", address],
    queryFn: async () => unwrap(await client.GET("/users/{address}", { params: { path: { address } } })),
  });
  const skills = useQuery({ queryKey: ["skills"], queryFn: async () => unwrap(await client.GET("/skills")), staleTime: Infinity });
  const reviews = useQuery({
    queryKey: ["user", address, "reviews"],
    queryFn: async () => unwrap(await client.GET("/users/{address}/reviews", { params: { path: { address } } })),
  });
  const listings = useQuery({
    queryKey: ["user", address, "listings"],
    queryFn: async () => unwrap(await client.GET("/listings", { params: { query: { owner: address } } })),
  });
  // When each session listing is next free (the free-time index), for the availability section.
  const free = useQuery({
    queryKey: ["user", address, "free"],
    queryFn: async () => unwrap(await client.GET("/listings", { params: { query: { owner: address, available_days: 7 } } })),
  });
  const hours = useQuery({
    queryKey: ["user", address, "hours"],
    retry: false,
    queryFn: async () => {
      const got = await client.GET("/users/{address}/availability", { params: { path: { address } } });
      return got.response.status === 404 ? null : unwrap(got);
    },
  });
  if (user.isLoading) return <Loading />;
  if (user.error || !user.data) return <ErrorNote error={user.error} />;
  const u = user.data;
  const rep = u.reputation;
  return (
    <Page title={u.profile?.display_name || shortAddress(u.address)}>
      <div className="profile-head">
        <Avatar address={u.address} size={72} src={u.avatar_url} label={t("profile.pictureOf", { name: u.profile?.display_name || shortAddress(u.address) })} />
        <div>
          <p>
            <code>{shortAddress(u.address)}</code> <CopyButton text={u.address} label={t("common.copyAddress", { address: shortAddress(u.address) })} />
          </p>
          <p>
            {rep.as_provider_average
              ? t("profile.rating", { rating: rep.as_provider_average.toFixed(1), count: rep.as_provider_count })
              : t("find.noRating")}
          </p>
          {u.profile?.languages.length ? <p>{u.profile.languages.join(", ")}</p> : null}
          {u.profile?.timezone && <p className="muted">{u.profile.timezone}</p>}
        </div>
      </div>
      {session?.address.toLowerCase() === u.address.toLowerCase() && <Picture hasOne={Boolean(u.avatar_url)} address={u.address} />}
      {u.profile?.bio && <p>{u.profile.bio}</p>}
      {u.profile?.skills.length ? (
        <ul className="badges" aria-label={t("profile.skills")}>
          {u.profile.skills.map((slug) => (
            <li key={slug} className="tag">
              {skills.data?.find((s) => s.slug === slug)?.name ?? slug}
            </li>
          ))}
        </ul>
      ) : null}
      <h2>{t("profile.credentials")}</h2>
      {u.credentials.length === 0 && <p className="muted">{t("profile.noCredentials")}</p>}
      <ul className="badges">
        {u.credentials.map((c) => (
          <li key={c.token_id}>
            <Link to={`/verify/${c.chain_id}/${c.token_id}`} className={c.revoked ? "badge revoked" : "badge"}>
              {c.skill ?? c.skill_id} {c.revoked ? `(${t("credentials.revoked")})` : "✓"}
            </Link>
          </li>
        ))}
      </ul>
      <h2>{t("profile.listings")}</h2>
      {listings.data?.data.length === 0 && <p className="muted">{t("profile.noListings")}</p>}
      <ul className="cards">
        {listings.data?.data.map((l) => (
          <li key={l.id} className="card">
            <h3>{l.title}</h3>
            <p>{formatPrice(l.price, l.currency, i18n.language)}</p>
            {l.kind === "offer" && <Link to={`/book/${l.id}`} aria-label={t("find.bookLabel", { title: l.title })}>{t("find.book")}</Link>}
          </li>
        ))}
      </ul>
      {hours.data && <Hours hours={hours.data} free={free.data?.data ?? []} />}
      <h2>{t("profile.reviews")}</h2>
      {reviews.data?.data.length === 0 && <p className="muted">{t("profile.noReviews")}</p>}
      <ul>
        {reviews.data?.data.map((r) => (
          <li key={`${r.engagement_id}-${r.reviewer}`}>
            {"★".repeat(r.rating)}
            <span className="sr-only">{t("review.stars", { count: r.rating })}</span> {r.comment ?? ""}
          </li>
        ))}
      </ul>
    </Page>
  );
}

/** Your own picture: upload (PNG, JPEG, GIF or WebP, up to 1 MiB, checked by the API from the content) or remove. */
function Picture({ hasOne, address }: { hasOne: boolean; address: string }) {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const queries = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  const call = async (method: "PUT" | "DELETE", file?: File) => {
    setBusy(true);
    try {
      const form = new FormData();
      if (file) form.append("file", file);
      await sendForm("/me/avatar", method, file ? form : undefined);
      status.say(method === "PUT" ? t("profile.pictureSaved") : t("profile.pictureRemoved"), "success");
      await queries.invalidateQueries({ queryKey: ["user", address] });
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
      if (input.current) input.current.value = "";
    }
  };
  return (
    <div className="row">
      <label className="file">
        {t("profile.picture")}
        <input
          ref={input}
          type="file"
          accept="image/png,image/jpeg,image/gif,image/webp"
          disabled={busy}
          onChange={(e) => {
            const file = e.target.files?.[0];
            if (file) void call("PUT", file);
          }}
        />
      </label>
      {hasOne && (
        <button type="button" disabled={busy} onClick={() => void call("DELETE")}>
          {t("profile.removePicture")}
        </button>
      )}
    </div>
  );
}

/** The mentor's weekly hours (in their own zone, said so) and, per session listing, the next free time
 * in the viewer's zone — a calendar at a glance; the booking page has every slot. */
function Hours({ hours, free }: { hours: Schemas["AvailabilityPublic"]; free: Schemas["ListingPublic"][] }) {
  const { t, i18n } = useTranslation();
  const days = new Intl.DateTimeFormat(i18n.language, { weekday: "long", timeZone: "UTC" });
  // 2024-01-01 was a Monday: weekday 0 in the API.
  const dayName = (weekday: number) => days.format(new Date(Date.UTC(2024, 0, 1 + weekday)));
  const byDay = new Map<number, string[]>();
  for (const r of hours.rules) byDay.set(r.weekday, [...(byDay.get(r.weekday) ?? []), `${r.start}–${r.end}`]);
  return (
    <section aria-labelledby="hours">
      <h2 id="hours">{t("profile.hours")}</h2>
      <p className="muted">{t("profile.hoursZone", { zone: hours.timezone })}</p>
      {byDay.size === 0 && <p className="muted">{t("profile.noHours")}</p>}
      <table className="milestones-table">
        <caption className="sr-only">{t("profile.hours")}</caption>
        <tbody>
          {[...byDay.keys()].sort().map((d) => (
            <tr key={d}>
              <th scope="row">{dayName(d)}</th>
              <td>{(byDay.get(d) ?? []).join(", ")}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {free.map((l) =>
        l.next_free_at != null ? (
          <p key={l.id}>
            <Link to={`/book/${l.id}`}>{t("profile.nextFree", { title: l.title, when: formatDateTime(l.next_free_at, i18n.language) })}</Link>
          </p>
        ) : null,
      )}
    </section>
  );
}

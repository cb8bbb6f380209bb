import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { client, loadSession, unwrap } from "../api/client";
import { ApiError, describeError, type Problem } from "../lib/errors";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { Avatar, CopyButton, ErrorNote, Loading, Page } from "../components/ui";
import { formatPrice, shortAddress } from "../lib/format";

export function Profile() {
  const { address = "" } = useParams();
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const user = useQuery({
    queryKey: ["user", address],
    queryFn: async () => unwrap(await client.GET("/users/{address}", { params: { path: { address } } })),
  });
  const reviews = useQuery({
    queryKey: ["user", address, "reviews"],
    queryFn: async () => unwrap(await client.GET("/users/{address}/reviews", { params: { path: { address } } })),
  });
  const listings = useQuery({
    queryKey: ["user", address, "listings"],
    queryFn: async () => unwrap(await client.GET("/listings", { params: { query: { owner: address } } })),
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
      const stored = loadSession();
      const res = await fetch("/me/avatar", {
        method,
        body: file ? form : undefined,
        headers: stored ? { Authorization: `Bearer ${stored.token}` } : {},
      });
      if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null)) as Problem | null);
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

import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { NavLink, Outlet } from "react-router";
import { client, unwrap } from "../api/client";
import { LANGUAGES } from "../i18n";
import { useLiveStream } from "../lib/live";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { WalletButton } from "./WalletButton";

export function Layout() {
  const { t, i18n } = useTranslation();
  const { expired, signedIn } = useSession();
  const { message, clear } = useStatus();
  useLiveStream();
  const unread = useQuery({
    queryKey: ["unread"],
    queryFn: async () => unwrap(await client.GET("/me/unread")),
    enabled: signedIn,
  });
  const count = signedIn ? (unread.data?.messages ?? 0) : 0;
  const notes = useQuery({
    queryKey: ["notifications"],
    queryFn: async () => unwrap(await client.GET("/me/notifications", { params: { query: { limit: 50 } } })),
    enabled: signedIn,
  });
  const fresh = signedIn ? (notes.data?.unread ?? 0) : 0;
  const links: [string, string][] = [
    ["/", t("nav.find")],
    ["/messages", t("nav.messages")],
    ["/notifications", t("nav.notifications")],
    ["/sessions", t("nav.sessions")],
    ["/engagements", t("nav.engagements")],
    ["/offers", t("nav.offers")],
    ["/earnings", t("nav.earnings")],
    ["/credentials", t("nav.credentials")],
    ["/mentor", t("nav.mentorDesk")],
    ["/issuer", t("nav.issuer")],
    ["/arbiter", t("nav.arbiter")],
    ["/verify", t("nav.verify")],
  ];
  return (
    <>
      <a className="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        {t("nav.skip")}
      </a>
      <header className="top">
        <a className="brand" href="#/">Skillchain</a>
        <nav aria-label={t("nav.label")}>
          <ul>
            {links.map(([to, label]) => (
              <li key={to}>
                <NavLink to={to} end={to === "/"}>
                  {label}
                  {to === "/notifications" && fresh > 0 && (
                    <>
                      {" "}
                      <span className="tag badge">{t("nav.unread", { count: fresh })}</span>
                    </>
                  )}
                  {to === "/messages" && count > 0 && (
                    <>
                      {" "}
                      <span className="tag badge">{t("nav.unread", { count })}</span>
                    </>
                  )}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="tools">
          <div className="language">
            <label htmlFor="site-language">{t("nav.language")}</label>
            <select id="site-language" value={i18n.resolvedLanguage} onChange={(e) => void i18n.changeLanguage(e.target.value)}>
              {LANGUAGES.map(([code, name]) => (
                <option key={code} value={code} lang={code}>
                  {name}
                </option>
              ))}
            </select>
          </div>
          <WalletButton />
        </div>
      </header>
      {expired && !signedIn && (
        <div className="notice" role="alert">
          {t("wallet.expired")}
        </div>
      )}
      <div className={`status ${message ? message.tone : ""}`} role="status" aria-live="polite">
        {message && (
          <>
            <span>{message.text}</span>{" "}
            <button type="button" className="link-button" onClick={clear} aria-label={t("common.dismiss")}>
              ×
            </button>
          </>
        )}
      </div>
      <main id="main" tabIndex={-1}>
        <Outlet />
      </main>
      <footer className="muted">
        <a href="/docs">{t("nav.api")}</a>
      </footer>
    </>
  );
}

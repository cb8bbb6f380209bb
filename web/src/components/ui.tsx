// Small shared pieces: page titles, addresses with copy, amounts, avatars, confirmation steps.
import { useEffect, useId, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { client, unwrap, type Token } from "../api/client";
import { formatTokenAmount, shortAddress } from "../lib/format";
import { identicon } from "../lib/ids";
import { useChainInfo } from "../lib/chain";

/** Sets the document title for a route ("… · Skillchain") and gives the page its one h1. */
export function Page({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Skillchain`;
  }, [title]);
  return (
    <>
      <h1>{title}</h1>
      {children}
    </>
  );
}

export function CopyButton({ text, label }: { text: string; label: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="link-button"
      aria-label={label}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1500);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? t("common.copied") : t("common.copy")}
    </button>
  );
}

/** The uploaded picture when there is one (`src`), else an identicon drawn from the address. */
export function Avatar({ address, size = 40, src, label }: { address: string; size?: number; src?: string | null; label?: string }) {
  // Decorative beside a name, unless given a label (a profile's own picture).
  return <img className="avatar" src={src || identicon(address)} width={size} height={size} alt={label ?? ""} />;
}

/** An address short, linked to its profile, with a copy button. */
export function Address({ address, name, avatar }: { address: string; name?: string | null; avatar?: string | null }) {
  const { t } = useTranslation();
  return (
    <span className="address">
      <Avatar address={address} size={24} src={avatar} />
      <Link to={`/users/${address}`} title={address}>
        {name || shortAddress(address)}
      </Link>
      <CopyButton text={address} label={t("common.copyAddress", { address: shortAddress(address) })} />
    </span>
  );
}

/** A party of an engagement: their profile's name and picture when they have them (one cached read
 * per person), else the short address and an identicon. */
export function Party({ address }: { address: string }) {
  const user = useQuery({
    queryKey: ["user", address],
    staleTime: 60_000,
    queryFn: async () => unwrap(await client.GET("/users/{address}", { params: { path: { address } } })),
  });
  return <Address address={address} name={user.data?.profile?.display_name} avatar={user.data?.avatar_url} />;
}

export function useToken(address: string): Token {
  const info = useChainInfo();
  const known = info.tokens.find((t) => t.address.toLowerCase() === address.toLowerCase());
  return known ?? { address, symbol: shortAddress(address), decimals: 18 };
}

export function Amount({ raw, token }: { raw: string | bigint; token: string }) {
  const { i18n } = useTranslation();
  const meta = useToken(token);
  return <span className="amount">{formatTokenAmount(raw, meta.decimals, meta.symbol, i18n.language)}</span>;
}

/** A button whose action happens only after a second, explicit confirmation saying what it does. */
export function ConfirmAction({
  label,
  explain,
  onConfirm,
  disabled,
  confirmDisabled,
  children,
}: {
  label: string;
  explain: string;
  onConfirm: () => Promise<unknown> | void;
  disabled?: boolean;
  /** The confirmation cannot go ahead yet (what the children ask for is missing). */
  confirmDisabled?: boolean;
  children?: ReactNode;
}) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const id = useId();
  if (!open)
    return (
      <button type="button" onClick={() => setOpen(true)} disabled={disabled}>
        {label}
      </button>
    );
  return (
    <div className="confirm" role="group" aria-labelledby={id}>
      <p id={id}>{explain}</p>
      {children}
      <button
        type="button"
        className="primary"
        disabled={busy || confirmDisabled}
        onClick={async () => {
          setBusy(true);
          try {
            await onConfirm();
          } finally {
            setBusy(false);
            setOpen(false);
          }
        }}
      >
        {t("common.confirm", { action: label })}
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        {t("common.cancel")}
      </button>
    </div>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="muted" role="status">
      {t("common.loading")}
    </p>
  );
}

export function ErrorNote({ error }: { error: unknown }) {
  const { t } = useTranslation();
  const detail = error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {t("errors.load")} {detail}
    </p>
  );
}

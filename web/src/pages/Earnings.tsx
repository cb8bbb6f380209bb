import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { isAddress } from "viem";
import { useTranslation } from "react-i18next";
import { client, unwrap } from "../api/client";
import { ConfirmAction, ErrorNote, Loading, Page } from "../components/ui";
import { formatTokenAmount, shortAddress } from "../lib/format";
import { useChainInfo } from "../lib/chain";
import { useSend } from "../lib/send";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { describeError } from "../lib/errors";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";

export function Earnings() {
  const { t, i18n } = useTranslation();
  const { signedIn, session } = useSession();
  const explorer = useChainInfo().explorer_url;
  const send = useSend();
  const status = useStatus();
  const words = useErrorWords();
  const [targets, setTargets] = useState<Record<string, string>>({});
  const balances = useQuery({
    queryKey: ["mine", "balances"],
    enabled: signedIn,
    queryFn: async () => unwrap(await client.GET("/me/balances")),
  });
  const history = useInfiniteQuery({
    queryKey: ["mine", "withdrawals"],
    enabled: signedIn,
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) =>
      unwrap(await client.GET("/me/withdrawals", { params: { query: { cursor: pageParam ?? undefined } } })),
    getNextPageParam: (last) => last.next_cursor,
  });
  const withdrawals = history.data?.pages.flatMap((p) => p.data) ?? [];
  if (!signedIn) return <SignInFirst title={t("earnings.title")} />;
  return (
    <Page title={t("earnings.title")}>
      <p className="muted">{t("earnings.explain")}</p>
      {balances.isLoading && <Loading />}
      {balances.error && <ErrorNote error={balances.error} />}
      {balances.data && balances.data.data.length === 0 && <p>{t("earnings.nothing")}</p>}
      <ul className="cards">
        {balances.data?.data.map((b) => {
          const amount = formatTokenAmount(b.amount, b.token.decimals, b.token.symbol, i18n.language);
          return (
            <li key={b.token.address} className="card">
              <p className="big">{amount}</p>
              <ConfirmAction
                label={t("earnings.withdraw", { symbol: b.token.symbol })}
                explain={
                  (targets[b.token.address] ?? "").trim()
                    ? t("earnings.withdrawExplainTo", { amount, to: (targets[b.token.address] ?? "").trim() })
                    : t("earnings.withdrawExplain", { amount })
                }
                onConfirm={async () => {
                  const to = (targets[b.token.address] ?? "").trim();
                  if (to && !isAddress(to, { strict: false })) {
                    status.say(t("earnings.badAddress"), "error");
                    return;
                  }
                  try {
                    const token = b.token.symbol === "ETH" && /^0x0{40}$/.test(b.token.address) ? "ETH" : b.token.address;
                    await send(unwrap(await client.POST("/withdraw", { body: { token, to: to || null } })));
                  } catch (error) {
                    status.say(words(describeError(error)), "error");
                  }
                }}
              >
                <label>
                  {t("earnings.to")}
                  <input
                    value={targets[b.token.address] ?? ""}
                    placeholder={t("earnings.toPlaceholder")}
                    spellCheck={false}
                    onChange={(e) => setTargets({ ...targets, [b.token.address]: e.target.value })}
                  />
                </label>
              </ConfirmAction>
            </li>
          );
        })}
      </ul>
      <section aria-labelledby="withdrawals-heading">
        <h2 id="withdrawals-heading">{t("earnings.history")}</h2>
        {history.isLoading && <Loading />}
        {history.error && <ErrorNote error={history.error} />}
        {history.data && withdrawals.length === 0 && <p className="muted">{t("earnings.noHistory")}</p>}
        {withdrawals.length > 0 && (
          <ul className="history" aria-label={t("earnings.history")}>
            {withdrawals.map((w) => (
              <li key={w.tx_hash + w.block_number}>
                <strong>{formatTokenAmount(w.amount, w.token.decimals, w.token.symbol, i18n.language)}</strong>{" "}
                {w.to.toLowerCase() === session?.address.toLowerCase()
                  ? t("earnings.toSelf")
                  : t("earnings.toOther", { address: shortAddress(w.to) })}{" "}
                <span className="muted">
                  {t("earnings.inBlock", { block: w.block_number.toLocaleString(i18n.language) })} ·{" "}
                  {explorer ? (
                    <a href={`${explorer}/tx/${w.tx_hash}`} rel="noreferrer" target="_blank">
                      {t("earnings.tx", { hash: shortAddress(w.tx_hash) })}
                    </a>
                  ) : (
                    t("earnings.tx", { hash: shortAddress(w.tx_hash) })
                  )}
                </span>
              </li>
            ))}
          </ul>
        )}
        {history.hasNextPage && (
          <button type="button" onClick={() => void history.fetchNextPage()} disabled={history.isFetchingNextPage}>
            {t("earnings.more")}
          </button>
        )}
      </section>
    </Page>
  );
}

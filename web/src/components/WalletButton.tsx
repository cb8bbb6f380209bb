// Connect, switch chain, sign in, sign out — whichever the wallet needs next, in one place.
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { useAccount, useChainId, useConnect, useSwitchChain } from "wagmi";
import { describeError } from "../lib/errors";
import { useChainInfo } from "../lib/chain";
import { shortAddress } from "../lib/format";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";

export function WalletButton() {
  const { t } = useTranslation();
  const info = useChainInfo();
  const { address, isConnected, chainId: walletChain } = useAccount();
  const chainId = useChainId();
  const { connectors, connectAsync } = useConnect();
  const { switchChainAsync } = useSwitchChain();
  const { signedIn, signIn, signOut } = useSession();
  const status = useStatus();
  const words = useErrorWords();
  const [noWallet, setNoWallet] = useState(false);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<unknown>, done?: string) => {
    setBusy(true);
    try {
      await action();
      if (done) status.say(done, "success");
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };

  const connect = () =>
    run(async () => {
      // Prefer a wallet that announced itself (EIP-6963); fall back to window.ethereum.
      const announced = connectors.filter((c) => c.id !== "injected");
      const plain = connectors.find((c) => c.id === "injected");
      const hasInjected = typeof window !== "undefined" && "ethereum" in window && Boolean((window as { ethereum?: unknown }).ethereum);
      const connector = announced[0] ?? (hasInjected ? plain : undefined);
      if (!connector) {
        setNoWallet(true);
        return;
      }
      await connectAsync({ connector });
    });

  if (!isConnected || !address)
    return (
      <div className="wallet">
        <button type="button" className="primary" onClick={connect} disabled={busy}>
          {t("wallet.connect")}
        </button>
        {noWallet && (
          <div className="notice" role="alert">
            <p>{t("wallet.none")}</p>
            <p>{t("wallet.noneHow")}</p>
          </div>
        )}
      </div>
    );

  const wrongChain = (walletChain ?? chainId) !== info.chain_id;
  return (
    <div className="wallet">
      <span className="muted" title={address}>
        {shortAddress(address)}
      </span>
      {wrongChain ? (
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => run(() => switchChainAsync({ chainId: info.chain_id }), t("wallet.switched", { chain: info.name }))}
        >
          {t("wallet.switch", { chain: info.name })}
        </button>
      ) : signedIn ? (
        <button type="button" disabled={busy} onClick={() => run(signOut, t("wallet.signedOut"))}>
          {t("wallet.signOut")}
        </button>
      ) : (
        <button type="button" className="primary" disabled={busy} onClick={() => run(signIn, t("wallet.signedIn"))}>
          {t("wallet.signIn")}
        </button>
      )}
    </div>
  );
}

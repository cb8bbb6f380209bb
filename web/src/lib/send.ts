// Send a transaction the API prepared (and simulated): on the right chain, through the connected
// wallet, then wait until the indexer has it so the page shows the new state.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import { useAccount, useChainId, useSendTransaction, useSwitchChain } from "wagmi";
import { client, unwrap, type PreparedTx } from "../api/client";
import { describeError } from "./errors";
import { useErrorWords } from "./useErrorWords";
import { useStatus } from "./status";

export interface Funding {
  tx: PreparedTx;
  approval?: PreparedTx | null;
}

async function settled(hash: string): Promise<"indexed" | "reverted" | "mined"> {
  for (let attempt = 0; attempt < 12; attempt += 1) {
    const status = unwrap(await client.GET("/tx/{tx_hash}", { params: { path: { tx_hash: hash }, query: { wait: 10 } } }));
    if (status.status === "indexed" || status.status === "reverted") return status.status;
  }
  return "mined";
}

export function useSend() {
  const { t } = useTranslation();
  const words = useErrorWords();
  const status = useStatus();
  const queries = useQueryClient();
  const { isConnected } = useAccount();
  const chainId = useChainId();
  const { switchChainAsync } = useSwitchChain();
  const { sendTransactionAsync } = useSendTransaction();

  return useCallback(
    async (funding: Funding | PreparedTx): Promise<boolean> => {
      const steps = "tx" in funding ? [funding.approval, funding.tx].filter((x): x is PreparedTx => Boolean(x)) : [funding];
      try {
        if (!isConnected) throw new Error(t("wallet.notConnected"));
        for (const tx of steps) {
          if (chainId !== tx.chainId) {
            status.say(t("wallet.switching"));
            await switchChainAsync({ chainId: tx.chainId });
          }
          status.say(t("tx.confirmInWallet", { what: tx.description }));
          const hash = await sendTransactionAsync({
            to: tx.to as `0x${string}`,
            data: tx.data as `0x${string}`,
            value: BigInt(tx.value),
            chainId: tx.chainId,
          });
          status.say(t("tx.waiting", { what: tx.description }));
          const outcome = await settled(hash);
          if (outcome === "reverted") {
            status.say(t("tx.reverted", { what: tx.description }), "error");
            return false;
          }
        }
        status.say(t("tx.done", { what: steps[steps.length - 1]?.description ?? "" }), "success");
        await queries.invalidateQueries();
        return true;
      } catch (error) {
        status.say(words(describeError(error)), "error");
        return false;
      }
    },
    [t, words, status, queries, isConnected, chainId, switchChainAsync, sendTransactionAsync],
  );
}

// The chain the API serves (GET /chain), loaded once before the app renders.
import { createContext, useContext, type ReactNode } from "react";
import type { ChainInfo } from "../api/client";

const Ctx = createContext<ChainInfo | null>(null);

export function ChainInfoProvider({ info, children }: { info: ChainInfo; children: ReactNode }) {
  return <Ctx.Provider value={info}>{children}</Ctx.Provider>;
}

export function useChainInfo(): ChainInfo {
  const value = useContext(Ctx);
  if (!value) throw new Error("useChainInfo outside ChainInfoProvider");
  return value;
}

// wagmi for the chain the API serves: injected wallets found through EIP-6963 (and a plain
// window.ethereum), chain switching with an add-chain fallback, account and chain changes.
import { createConfig, http, injected, type Config } from "wagmi";
import { defineChain } from "viem";
import type { ChainInfo } from "../api/client";

export function chainOf(info: ChainInfo) {
  return defineChain({
    id: info.chain_id,
    name: info.name,
    nativeCurrency: { name: "Ether", symbol: info.native_symbol ?? "ETH", decimals: 18 },
    rpcUrls: { default: { http: [info.rpc_url] } },
    blockExplorers: info.explorer_url ? { default: { name: "Explorer", url: info.explorer_url } } : undefined,
  });
}

export function wagmiConfig(info: ChainInfo): Config {
  const chain = chainOf(info);
  return createConfig({
    chains: [chain],
    // EIP-6963 announcements become connectors of their own; injected() covers a bare window.ethereum.
    multiInjectedProviderDiscovery: true,
    connectors: [injected({ shimDisconnect: true })],
    transports: { [chain.id]: http(info.rpc_url) },
  });
}

// What listings cost in the tokens a wallet pays with (GET /prices, one call for a page of listings):
// the listing's own price is shown beside it, converted through the on-chain feeds.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { client, unwrap, type Schemas } from "../api/client";
import { formatTokenAmount } from "./format";

type ListingPrice = Schemas["ListingPrice"];

export function useListingPrices(ids: number[]): Map<number, ListingPrice> {
  const sorted = [...new Set(ids)].sort((a, b) => a - b).slice(0, 50);
  const got = useQuery({
    queryKey: ["prices", sorted],
    enabled: sorted.length > 0,
    staleTime: 60_000,
    retry: false, // a display goes on without conversions
    queryFn: async () => unwrap(await client.GET("/prices", { params: { query: { listing: sorted } } })),
  });
  return new Map((got.data?.data ?? []).map((p) => [p.listing_id, p]));
}

/** "≈ 0.0072 ETH or 18 tUSD" — what the wallet pays, or nothing while unknown. */
export function Pays({ price }: { price: ListingPrice | undefined }) {
  const { t, i18n } = useTranslation();
  if (!price || price.pays.length === 0) return null;
  const amounts = price.pays.map((o) => formatTokenAmount(o.amount, o.decimals, o.symbol, i18n.language));
  return <span className="muted">{t(price.fixed ? "prices.fixed" : "prices.about", { amounts: amounts.join(t("prices.or")) })}</span>;
}

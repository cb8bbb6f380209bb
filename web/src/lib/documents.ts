// Public documents the contracts name by digest (terms, deliverables), read from the API's IPFS
// gateway. Content-addressed: a CID's bytes never change, so each is fetched once per tab.
import { useQuery } from "@tanstack/react-query";

export interface TermsDocument {
  title: string;
  description: string;
  skill: string;
  milestones: { title: string; description?: string }[];
}

export interface DeliverableDocument {
  summary: string;
  files?: string[];
}

export function useDocument<T>(cid: string | null | undefined) {
  return useQuery({
    queryKey: ["ipfs", cid],
    enabled: Boolean(cid),
    staleTime: Infinity,
    retry: 1,
    queryFn: async (): Promise<T> => {
      const answer = await fetch(`/ipfs/${cid}`);
      if (!answer.ok) throw new Error(`the document ${cid} could not be read (${answer.status})`);
      return (await answer.json()) as T;
    },
  });
}

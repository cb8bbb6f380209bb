// The live stream (GET /events/stream, server-sent events): read through fetch so the session's
// header goes along (EventSource cannot send one). Each item refreshes the queries it concerns;
// nothing re-renders a form the user is typing in (their state lives in the form, not the query).
import { useQueryClient } from "@tanstack/react-query";
import { useEffect } from "react";
import { useSession } from "./session";

interface StreamItem {
  id: string;
  event: string;
  data: {
    engagement_id?: number | string;
    name?: string;
    op?: string;
    thread_id?: number;
    message?: { thread_id: number };
  } | null;
}

/** Every stream item is also dispatched on `window` as this event (detail: the item), for pages
 * that react to what carries no query (the typing indicator). */
export const LIVE_EVENT = "sc-live";
export type LiveItem = StreamItem;

export function parseSse(buffer: string): { items: StreamItem[]; rest: string } {
  const items: StreamItem[] = [];
  let rest = buffer.replace(/\r\n/g, "\n");
  let cut: number;
  while ((cut = rest.indexOf("\n\n")) >= 0) {
    const block = rest.slice(0, cut);
    rest = rest.slice(cut + 2);
    let id = "";
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "id") id = value;
      else if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (!data.length && !id) continue;
    let parsed: StreamItem["data"] = null;
    try {
      parsed = data.length ? (JSON.parse(data.join("\n")) as StreamItem["data"]) : null;
    } catch {
      parsed = null;
    }
    items.push({ id, event, data: parsed });
  }
  return { items, rest };
}

export function useLiveStream(): void {
  const { session, signedIn } = useSession();
  const queries = useQueryClient();
  const token = signedIn ? session?.token : undefined;

  useEffect(() => {
    if (!token) return;
    const abort = new AbortController();
    let lastId = "";
    let delay = 1000;
    const refresh = (item: StreamItem) => {
      const eid = item.data?.engagement_id;
      if (item.event === "resync") void queries.invalidateQueries();
      window.dispatchEvent(new CustomEvent<LiveItem>(LIVE_EVENT, { detail: item }));
      if (item.event === "typing" || item.event === "signal") return;
      if (item.event === "notification") {
        void queries.invalidateQueries({ queryKey: ["notifications"] });
        return;
      }
      if (item.event === "message") {
        const thread = item.data?.message?.thread_id ?? item.data?.thread_id;
        if (thread !== undefined) void queries.invalidateQueries({ queryKey: ["thread", Number(thread)] });
        void queries.invalidateQueries({ queryKey: ["threads"] });
        void queries.invalidateQueries({ queryKey: ["unread"] });
        return;
      }
      if (eid !== undefined) void queries.invalidateQueries({ queryKey: ["engagement", String(eid)] });
      void queries.invalidateQueries({ queryKey: ["mine"] });
    };
    const run = async () => {
      while (!abort.signal.aborted) {
        try {
          const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
          if (lastId) headers["Last-Event-ID"] = lastId;
          const res = await fetch("/events/stream", { headers, signal: abort.signal, cache: "no-store" });
          if (res.status === 401 || res.status === 403) return;
          if (!res.ok || !res.body) throw new Error(`stream ${res.status}`);
          delay = 1000;
          const reader = res.body.getReader();
          const decoder = new TextDecoder();
          let buffer = "";
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            const { items, rest } = parseSse(buffer + decoder.decode(value, { stream: true }));
            buffer = rest;
            for (const item of items) {
              if (item.id) lastId = item.id;
              if (item.event === "session_ended") return;
              refresh(item);
            }
          }
        } catch {
          if (abort.signal.aborted) return;
        }
        await new Promise((r) => window.setTimeout(r, delay));
        delay = Math.min(delay * 2, 30_000);
      }
    };
    void run();
    return () => abort.abort();
  }, [token, queries]);
}

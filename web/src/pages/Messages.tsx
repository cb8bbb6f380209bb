// Messages: the wallet's threads (inquiries on listings, one per engagement) and one thread with its
// composer. New messages, edits, read receipts and typing arrive on the live stream (lib/live.ts);
// the text is rendered as text — links are never turned into anchors or fetched.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";
import { client, loadSession, unwrap, type Schemas } from "../api/client";
import { Address, ConfirmAction, ErrorNote, Loading, Page } from "../components/ui";
import { describeError } from "../lib/errors";
import { formatDateTime, shortAddress } from "../lib/format";
import { LIVE_EVENT, type LiveItem } from "../lib/live";
import { useSession } from "../lib/session";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";
import { SignInFirst } from "./SignInFirst";
import { sendForm } from "../lib/upload";

type Thread = Schemas["ThreadPublic"];
type Message = Schemas["MessagePublic"];
type Attachment = Schemas["AttachmentPublic"];

export function Messages() {
  const { threadId } = useParams();
  const { t } = useTranslation();
  const { signedIn } = useSession();
  if (!signedIn) return <SignInFirst title={t("messages.title")} />;
  return threadId ? <ThreadView id={Number(threadId)} /> : <ThreadList />;
}

export function threadTitle(t: (k: string, o?: Record<string, unknown>) => string, thread: Thread): string {
  return thread.listing_title
    ? t("messages.withListing", { title: thread.listing_title })
    : t("messages.withEngagement", { id: thread.engagement_id ?? "" });
}

function ThreadList() {
  const { t, i18n } = useTranslation();
  const threads = useQuery({
    queryKey: ["threads"],
    queryFn: async () => unwrap(await client.GET("/threads", { params: { query: { limit: 50 } } })),
  });
  return (
    <Page title={t("messages.title")}>
      {threads.isLoading && <Loading />}
      {threads.error && <ErrorNote error={threads.error} />}
      {threads.data?.data.length === 0 && <p className="muted">{t("messages.none")}</p>}
      <ul className="cards">
        {threads.data?.data.map((th) => (
          <li key={th.id} className="card">
            <p className="big">
              <Link to={`/messages/${th.id}`}>{threadTitle(t, th)}</Link>{" "}
              {th.unread > 0 && <span className="tag badge">{t("messages.unread", { count: th.unread })}</span>}
            </p>
            <p>
              <Address address={th.other} /> · <span className="muted">{formatDateTime(th.last_message_at, i18n.language)}</span>
            </p>
          </li>
        ))}
      </ul>
    </Page>
  );
}

/** Fetch with the session (attachments are the parties' only) and hand back a blob: URL. */
async function blobUrl(url: string): Promise<string> {
  const session = loadSession();
  const res = await fetch(url, { headers: session ? { Authorization: `Bearer ${session.token}` } : {}, cache: "no-store" });
  if (!res.ok) throw new Error(`${res.status}`);
  return URL.createObjectURL(await res.blob());
}

function AttachmentView({ file }: { file: Attachment }) {
  const { t } = useTranslation();
  const [src, setSrc] = useState<string | null>(null);
  const image = file.media_type.startsWith("image/");
  useEffect(() => {
    if (!image) return;
    let url = "";
    let live = true;
    void blobUrl(file.url).then((u) => {
      url = u;
      if (live) setSrc(u);
      else URL.revokeObjectURL(u);
    }, () => setSrc(null));
    return () => {
      live = false;
      if (url) URL.revokeObjectURL(url);
    };
  }, [file.url, image]);
  const download = async () => {
    const url = await blobUrl(file.url);
    const a = document.createElement("a");
    a.href = url;
    a.download = file.filename;
    a.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };
  return (
    <div className="attachment">
      {image && src && <img src={src} alt={t("messages.image", { name: file.filename })} className="preview" />}
      <button type="button" className="link-button" onClick={() => void download()}>
        {t("messages.download", { name: file.filename })}
      </button>
    </div>
  );
}

function ThreadView({ id }: { id: number }) {
  const { t, i18n } = useTranslation();
  const { session } = useSession();
  const queries = useQueryClient();
  const status = useStatus();
  const words = useErrorWords();
  const me = session?.address ?? "";
  const [older, setOlder] = useState<Message[]>([]);
  const [cursor, setCursor] = useState<string | null | undefined>(undefined);
  const [typing, setTyping] = useState(false);
  const thread = useQuery({
    queryKey: ["thread", id, "info"],
    queryFn: async () => unwrap(await client.GET("/threads/{thread_id}", { params: { path: { thread_id: id } } })),
  });
  const page = useQuery({
    queryKey: ["thread", id, "messages"],
    queryFn: async () =>
      unwrap(await client.GET("/threads/{thread_id}/messages", { params: { path: { thread_id: id }, query: { limit: 50 } } })),
  });
  const newest = page.data?.data[0]?.id;

  // Seen: a read receipt for what is on screen (the other party hears of it).
  useEffect(() => {
    if (!newest || !thread.data) return;
    const mine = thread.data.read_up_to[me] ?? 0;
    if (newest > mine) {
      void client.POST("/threads/{thread_id}/read", { params: { path: { thread_id: id } }, body: {} }).then(() => {
        void queries.invalidateQueries({ queryKey: ["threads"] });
        void queries.invalidateQueries({ queryKey: ["unread"] });
        void queries.invalidateQueries({ queryKey: ["thread", id, "info"] });
      });
    }
  }, [newest, thread.data, me, id, queries]);

  // The other party's typing indicator, from the live stream (shown for a few seconds).
  useEffect(() => {
    let timer = 0;
    const on = (e: Event) => {
      const item = (e as CustomEvent<LiveItem>).detail;
      if (item.event === "typing" && Number(item.data?.thread_id) === id) {
        setTyping(true);
        window.clearTimeout(timer);
        timer = window.setTimeout(() => setTyping(false), 5000);
      }
      if (item.event === "message" && item.data?.op === "new") setTyping(false);
    };
    window.addEventListener(LIVE_EVENT, on);
    return () => {
      window.removeEventListener(LIVE_EVENT, on);
      window.clearTimeout(timer);
    };
  }, [id]);

  if (thread.isLoading || page.isLoading) return <Loading />;
  if (thread.error || !thread.data) return <ErrorNote error={thread.error} />;
  const th = thread.data;
  const listed = [...(page.data?.data ?? []), ...older];
  const shown = [...new Map(listed.map((m) => [m.id, m])).values()].sort((a, b) => a.id - b.id);
  const theirReceipt = th.read_up_to[th.other] ?? 0;
  const lastMine = [...shown].reverse().find((m) => m.sender === me);
  const nextCursor = cursor === undefined ? page.data?.next_cursor : cursor;

  const loadOlder = async () => {
    if (!nextCursor) return;
    const more = unwrap(
      await client.GET("/threads/{thread_id}/messages", { params: { path: { thread_id: id }, query: { limit: 50, cursor: nextCursor } } }),
    );
    setOlder((o) => [...o, ...more.data]);
    setCursor(more.next_cursor);
  };
  const refresh = () => {
    void queries.invalidateQueries({ queryKey: ["thread", id] });
    void queries.invalidateQueries({ queryKey: ["threads"] });
  };
  const block = async (on: boolean) => {
    try {
      const path = { params: { path: { address: th.other } } };
      if (on) unwrap(await client.PUT("/me/blocks/{address}", path));
      else await client.DELETE("/me/blocks/{address}", path);
      refresh();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };

  return (
    <Page title={threadTitle(t, th)}>
      <p>
        <Address address={th.other} />{" "}
        {th.kind === "engagement" && th.engagement_id !== null && <Link to={`/engagements/${th.engagement_id}`}>#{th.engagement_id}</Link>}
      </p>
      <p className="muted">{t("messages.linksAsText")}</p>
      {nextCursor && (
        <button type="button" onClick={() => void loadOlder()}>
          {t("messages.older")}
        </button>
      )}
      <ol className="thread" aria-label={t("messages.title")}>
        {shown.map((m) => (
          <MessageRow key={m.id} m={m} me={me} threadId={id} onChange={refresh} seen={m.id === lastMine?.id && theirReceipt >= m.id} />
        ))}
      </ol>
      <p className="muted" aria-live="polite">
        {typing ? t("messages.typing", { name: shortAddress(th.other) }) : ""}
      </p>
      {th.blocked === "by_you" && <p className="notice">{t("messages.blockedByYou")}</p>}
      {th.blocked === "by_them" && <p className="notice">{t("messages.blockedByThem")}</p>}
      {!th.blocked && <Composer threadId={id} onSent={refresh} />}
      <div className="row">
        {th.blocked === "by_you" ? (
          <button type="button" onClick={() => void block(false)}>
            {t("messages.unblock")}
          </button>
        ) : (
          <ConfirmAction label={t("messages.block")} explain={t("messages.blockExplain")} onConfirm={() => block(true)} />
        )}
      </div>
      <p className="muted">{formatDateTime(th.created_at, i18n.language)}</p>
    </Page>
  );
}

function MessageRow({ m, me, threadId, onChange, seen }: { m: Message; me: string; threadId: number; onChange: () => void; seen: boolean }) {
  const { t, i18n } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const [editing, setEditing] = useState<string | null>(null);
  const [reporting, setReporting] = useState<string | null>(null);
  const mine = m.sender === me;
  const path = { params: { path: { thread_id: threadId, message_id: m.id } } };
  const act = async (work: () => Promise<unknown>) => {
    try {
      await work();
      onChange();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const canEdit = mine && !m.deleted && m.editable_until !== null && m.editable_until * 1000 > Date.now();
  return (
    <li className={mine ? "message mine" : "message"}>
      <p className="muted">
        <strong>{mine ? t("messages.you") : shortAddress(m.sender)}</strong> · {formatDateTime(m.created_at, i18n.language)}
        {m.edited_at && !m.deleted ? ` · ${t("messages.edited")}` : ""}
        {seen ? ` · ${t("messages.seen")}` : ""}
      </p>
      {m.deleted ? (
        <p className="muted">{m.deleted === "erasure" ? t("messages.erased") : t("messages.deleted")}</p>
      ) : editing !== null ? (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              unwrap(await client.PATCH("/threads/{thread_id}/messages/{message_id}", { ...path, body: { body: editing } }));
              setEditing(null);
            });
          }}
        >
          <label htmlFor={`edit-${m.id}`}>{t("messages.body")}</label>
          <textarea id={`edit-${m.id}`} value={editing} onChange={(e) => setEditing(e.target.value)} maxLength={10000} />
          <button type="submit">{t("messages.saveEdit")}</button>
          <button type="button" onClick={() => setEditing(null)}>
            {t("common.cancel")}
          </button>
        </form>
      ) : (
        m.body && <p className="body">{m.body}</p>
      )}
      {(m.attachments ?? []).map((a) => (
        <AttachmentView key={a.id} file={a} />
      ))}
      {!m.deleted && editing === null && (
        <div className="row">
          {canEdit && (
            <button type="button" className="link-button" onClick={() => setEditing(m.body ?? "")}>
              {t("messages.edit")}
            </button>
          )}
          {mine && (
            <ConfirmAction
              label={t("messages.delete")}
              explain={t("messages.deleteExplain")}
              onConfirm={() => act(async () => unwrap(await client.DELETE("/threads/{thread_id}/messages/{message_id}", path)))}
            />
          )}
          {!mine && reporting === null && (
            <button type="button" className="link-button" onClick={() => setReporting("")}>
              {t("messages.report")}
            </button>
          )}
        </div>
      )}
      {reporting !== null && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              unwrap(await client.POST("/threads/{thread_id}/messages/{message_id}/report", { ...path, body: { reason: reporting } }));
              setReporting(null);
              status.say(t("messages.reported"), "success");
            });
          }}
        >
          <label htmlFor={`report-${m.id}`}>{t("messages.reportReason")}</label>
          <textarea id={`report-${m.id}`} value={reporting} onChange={(e) => setReporting(e.target.value)} maxLength={500} required />
          <button type="submit">{t("messages.reportSend")}</button>
          <button type="button" onClick={() => setReporting(null)}>
            {t("common.cancel")}
          </button>
        </form>
      )}
    </li>
  );
}

function Composer({ threadId, onSent }: { threadId: number; onSent: () => void }) {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const [body, setBody] = useState("");
  const [busy, setBusy] = useState(false);
  const lastTyping = useRef(0);
  const fileInput = useRef<HTMLInputElement>(null);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    if (!body.trim()) return;
    setBusy(true);
    try {
      unwrap(await client.POST("/threads/{thread_id}/messages", { params: { path: { thread_id: threadId } }, body: { body } }));
      setBody("");
      onSent();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
    }
  };
  const typed = (text: string) => {
    setBody(text);
    if (Date.now() - lastTyping.current > 3000) {
      lastTyping.current = Date.now();
      void client.POST("/threads/{thread_id}/typing", { params: { path: { thread_id: threadId } } });
    }
  };
  const attach = async (file: File) => {
    setBusy(true);
    try {
      const form = new FormData();
      form.append("file", file);
      form.append("body", body);
      await sendForm(`/threads/${threadId}/attachments`, "POST", form);
      setBody("");
      status.say(t("messages.attached", { name: file.name }), "success");
      onSent();
    } catch (error) {
      status.say(words(describeError(error)), "error");
    } finally {
      setBusy(false);
      if (fileInput.current) fileInput.current.value = "";
    }
  };
  return (
    <form onSubmit={send} className="composer">
      <label htmlFor={`compose-${threadId}`}>{t("messages.body")}</label>
      <textarea id={`compose-${threadId}`} value={body} onChange={(e) => typed(e.target.value)} maxLength={10000} rows={3} />
      <div className="row">
        <button type="submit" className="primary" disabled={busy || !body.trim()}>
          {busy ? t("messages.sending") : t("messages.send")}
        </button>
        <label className="file">
          {t("messages.attach")}
          <input
            ref={fileInput}
            type="file"
            accept="image/png,image/jpeg,image/gif,image/webp,application/pdf"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void attach(file);
            }}
          />
        </label>
      </div>
    </form>
  );
}

// Requests the typed client cannot make (multipart bodies, files to download) with the signed-in session.
import { loadSession } from "../api/client";
import { ApiError, type Problem } from "./errors";

/** Sends `form` (or nothing) to `url` with the session's bearer token; an ApiError in words when refused. */
export async function sendForm(url: string, method: "GET" | "POST" | "PUT" | "DELETE", form?: FormData): Promise<Response> {
  const stored = loadSession();
  const res = await fetch(url, { method, body: form, headers: stored ? { Authorization: `Bearer ${stored.token}` } : {} });
  if (!res.ok) throw new ApiError(res.status, (await res.json().catch(() => null)) as Problem | null);
  return res;
}

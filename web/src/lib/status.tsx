// One live region for what is happening: progress of a wallet action, its result, or an error in
// words. Screen readers hear it (role=status); it never replaces what the user is typing.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";

export type Tone = "info" | "success" | "error";

export interface StatusMessage {
  text: string;
  tone: Tone;
}

interface StatusState {
  message: StatusMessage | null;
  say: (text: string, tone?: Tone) => void;
  clear: () => void;
}

const Ctx = createContext<StatusState | null>(null);

export function StatusProvider({ children }: { children: ReactNode }) {
  const [message, setMessage] = useState<StatusMessage | null>(null);
  const say = useCallback((text: string, tone: Tone = "info") => setMessage({ text, tone }), []);
  const clear = useCallback(() => setMessage(null), []);
  const value = useMemo(() => ({ message, say, clear }), [message, say, clear]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useStatus(): StatusState {
  const value = useContext(Ctx);
  if (!value) throw new Error("useStatus outside StatusProvider");
  return value;
}

// Sign-In with Ethereum: the wallet signs an EIP-4361 message with the API's nonce; the session is
// the API's bearer token, kept for this tab. A session counts only for the wallet account it was
// signed by: switching accounts in the wallet asks to sign in again.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { createSiweMessage } from "viem/siwe";
import { useAccount, useChainId, useSignMessage } from "wagmi";
import { client, loadSession, saveSession, SESSION_EXPIRED, unwrap, type StoredSession } from "../api/client";

interface SessionState {
  session: StoredSession | null;
  /** The session belongs to the connected account (wallet actions may go ahead). */
  signedIn: boolean;
  /** The server refused the stored session (expired); cleared when the user signs in again. */
  expired: boolean;
  signIn: () => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<StoredSession | null>(() => loadSession());
  const [expired, setExpired] = useState(false);
  const { address } = useAccount();
  const chainId = useChainId();
  const { signMessageAsync } = useSignMessage();
  const queries = useQueryClient();

  useEffect(() => {
    const onChange = () => setSession(loadSession());
    const onExpired = () => {
      setExpired(true);
      setSession(null);
    };
    window.addEventListener("sc-session", onChange);
    window.addEventListener(SESSION_EXPIRED, onExpired);
    return () => {
      window.removeEventListener("sc-session", onChange);
      window.removeEventListener(SESSION_EXPIRED, onExpired);
    };
  }, []);

  // A session past its expiry is gone even before the server says so.
  useEffect(() => {
    if (!session) return;
    const ms = session.expiresAt * 1000 - Date.now();
    if (ms <= 0) {
      saveSession(null);
      setExpired(true);
      return;
    }
    const timer = window.setTimeout(() => {
      saveSession(null);
      setExpired(true);
    }, Math.min(ms, 2 ** 31 - 1));
    return () => window.clearTimeout(timer);
  }, [session]);

  const signIn = useCallback(async () => {
    if (!address) throw new Error("connect a wallet first");
    const { nonce } = unwrap(await client.GET("/auth/nonce"));
    const message = createSiweMessage({
      domain: window.location.host,
      address,
      statement: "Sign in to Skillchain",
      uri: window.location.origin,
      version: "1",
      chainId,
      nonce,
      issuedAt: new Date(),
    });
    const signature = await signMessageAsync({ message });
    const out = unwrap(await client.POST("/auth/verify", { body: { message, signature } }));
    saveSession({ token: out.token, address: out.address, expiresAt: out.expires_at });
    setExpired(false);
    await queries.invalidateQueries();
  }, [address, chainId, signMessageAsync, queries]);

  const signOut = useCallback(async () => {
    try {
      await client.POST("/auth/logout");
    } finally {
      saveSession(null);
      await queries.invalidateQueries();
    }
  }, [queries]);

  const value = useMemo<SessionState>(
    () => ({
      session,
      signedIn: Boolean(session && address && session.address.toLowerCase() === address.toLowerCase()),
      expired,
      signIn,
      signOut,
    }),
    [session, address, expired, signIn, signOut],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): SessionState {
  const value = useContext(Ctx);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}

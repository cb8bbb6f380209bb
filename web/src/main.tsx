import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { StrictMode, Suspense, lazy } from "react";
import { createRoot } from "react-dom/client";
import { createHashRouter, RouterProvider } from "react-router";
import { WagmiProvider } from "wagmi";
import { client, unwrap, type ChainInfo } from "./api/client";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import "./i18n";
import i18n from "./i18n";
import { ChainInfoProvider } from "./lib/chain";
import { OfflineError } from "./lib/errors";
import { SessionProvider } from "./lib/session";
import { StatusProvider } from "./lib/status";
import { wagmiConfig } from "./lib/wallet";
import { Find } from "./pages/Find";
import "./styles.css";

// The first page a visitor lands on is in the main bundle; the others load when opened.
const page = <K extends string>(load: () => Promise<Record<K, React.ComponentType>>, name: K) =>
  lazy(async () => ({ default: (await load())[name] }));
const Book = page(() => import("./pages/Book"), "Book");
const Engagements = page(() => import("./pages/Engagements"), "Engagements");
const Engagement = page(() => import("./pages/Engagement"), "Engagement");
const Earnings = page(() => import("./pages/Earnings"), "Earnings");
const Credentials = page(() => import("./pages/Credentials"), "Credentials");
const Mentor = page(() => import("./pages/Mentor"), "Mentor");
const Issuer = page(() => import("./pages/Issuer"), "Issuer");
const Arbiter = page(() => import("./pages/Arbiter"), "Arbiter");
const Verify = page(() => import("./pages/Verify"), "Verify");
const Profile = page(() => import("./pages/Profile"), "Profile");
const NotFound = page(() => import("./pages/NotFound"), "NotFound");
const Messages = page(() => import("./pages/Messages"), "Messages");
const Room = page(() => import("./pages/Room"), "Room");
const Notifications = page(() => import("./pages/Notifications"), "Notifications");
const Sessions = page(() => import("./pages/Sessions"), "Sessions");
const Offers = page(() => import("./pages/Offers"), "Offers");

const wrap = (el: React.ReactNode) => <Suspense fallback={<Loading />}>{el}</Suspense>;

const router = createHashRouter([
  {
    path: "/",
    element: <Layout />,
    children: [
      { index: true, element: <Find /> },
      { path: "book/:listingId", element: wrap(<Book />) },
      { path: "engagements", element: wrap(<Engagements />) },
      { path: "engagements/:id", element: wrap(<Engagement />) },
      { path: "earnings", element: wrap(<Earnings />) },
      { path: "credentials", element: wrap(<Credentials />) },
      { path: "mentor", element: wrap(<Mentor />) },
      { path: "issuer", element: wrap(<Issuer />) },
      { path: "arbiter", element: wrap(<Arbiter />) },
      { path: "verify", element: wrap(<Verify />) },
      { path: "verify/:chainId/:tokenId", element: wrap(<Verify />) },
      { path: "users/:address", element: wrap(<Profile />) },
      { path: "messages", element: wrap(<Messages />) },
      { path: "messages/:threadId", element: wrap(<Messages />) },
      { path: "room/:bookingId", element: wrap(<Room />) },
      { path: "notifications", element: wrap(<Notifications />) },
      { path: "sessions", element: wrap(<Sessions />) },
      { path: "offers", element: wrap(<Offers />) },
      { path: "*", element: wrap(<NotFound />) },
    ],
  },
]);

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 5_000,
      retry: (count, error) => error instanceof OfflineError && count < 3,
      refetchOnWindowFocus: true,
    },
  },
});

function Root({ info }: { info: ChainInfo }) {
  return (
    <StrictMode>
      <WagmiProvider config={wagmiConfig(info)}>
        <QueryClientProvider client={queries}>
          <ChainInfoProvider info={info}>
            <StatusProvider>
              <SessionProvider>
                <RouterProvider router={router} />
              </SessionProvider>
            </StatusProvider>
          </ChainInfoProvider>
        </QueryClientProvider>
      </WagmiProvider>
    </StrictMode>
  );
}

/** Load the chain the API serves, retrying while the API is down (it says so meanwhile). */
async function start(): Promise<void> {
  const root = createRoot(document.getElementById("root")!);
  for (let attempt = 0; ; attempt += 1) {
    try {
      const info = unwrap(await client.GET("/chain"));
      root.render(<Root info={info} />);
      return;
    } catch (error) {
      const words = error instanceof OfflineError ? i18n.t("errors.offline") : `${i18n.t("errors.load")} ${(error as Error).message}`;
      root.render(
        <main id="main">
          <h1>Skillchain</h1>
          <p role="alert">{words}</p>
        </main>,
      );
      await new Promise((r) => window.setTimeout(r, Math.min(2000 * (attempt + 1), 10_000)));
    }
  }
}

void start();

import { useTranslation } from "react-i18next";
import { useAccount } from "wagmi";
import { Page } from "../components/ui";

/** What a wallet page says to someone not signed in: how to get there. */
export function SignInFirst({ title }: { title: string }) {
  const { t } = useTranslation();
  const { isConnected } = useAccount();
  return (
    <Page title={title}>
      <p>{isConnected ? t("signin.connected") : t("signin.needWallet")}</p>
      {!isConnected && <p className="muted">{t("wallet.noneHow")}</p>}
    </Page>
  );
}

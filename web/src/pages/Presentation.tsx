// A signed presentation: the employer asks for a one-time challenge, the candidate signs it with the
// wallet that holds the credentials (personal_sign), and the employer checks the signature — proof
// that the person in front of them controls that address, with its credentials verified on-chain.
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useSignMessage } from "wagmi";
import { client, unwrap, type Schemas } from "../api/client";
import { CopyButton } from "../components/ui";
import { describeError } from "../lib/errors";
import { useStatus } from "../lib/status";
import { useErrorWords } from "../lib/useErrorWords";

/** The exact text the API's challenge names (GET /verify/challenge `message`). */
export function presentationText(challenge: string): string {
  return `I present my Skillchain credentials.\nChallenge: ${challenge}`;
}

/** On the candidate's credentials page: sign the employer's challenge. */
export function SignPresentation() {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const { signMessageAsync } = useSignMessage();
  const [challenge, setChallenge] = useState("");
  const [signature, setSignature] = useState("");
  const valid = /^[0-9a-f]{32}$/.test(challenge.trim());
  const sign = async (ev: FormEvent) => {
    ev.preventDefault();
    try {
      setSignature(await signMessageAsync({ message: presentationText(challenge.trim()) }));
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <section aria-labelledby="present" className="stack">
      <h2 id="present">{t("present.title")}</h2>
      <p className="muted">{t("present.explain")}</p>
      <form className="stack" onSubmit={sign}>
        <label>
          {t("present.challenge")}
          <input value={challenge} spellCheck={false} onChange={(e) => setChallenge(e.target.value)} />
        </label>
        <button className="primary" disabled={!valid}>
          {t("present.sign")}
        </button>
      </form>
      {signature && (
        <div className="row">
          <label>
            {t("present.signed")}
            <input readOnly value={signature} spellCheck={false} onFocus={(e) => e.target.select()} />
          </label>
          <CopyButton text={signature} label={t("present.copySignature")} />
        </div>
      )}
    </section>
  );
}

/** On the employer's verify page: create a challenge, then check what the candidate signed. */
export function CheckPresentation() {
  const { t } = useTranslation();
  const status = useStatus();
  const words = useErrorWords();
  const [challenge, setChallenge] = useState<string | null>(null);
  const [address, setAddress] = useState("");
  const [signature, setSignature] = useState("");
  const [result, setResult] = useState<Schemas["PresentationPublic"] | null>(null);
  const ask = async () => {
    try {
      setChallenge(unwrap(await client.GET("/verify/challenge")).challenge);
      setResult(null);
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  const check = async (ev: FormEvent) => {
    ev.preventDefault();
    if (!challenge) return;
    try {
      setResult(
        unwrap(
          await client.POST("/verify/presentation", {
            body: { address: address.trim(), challenge, signature: signature.trim() },
          }),
        ),
      );
      setChallenge(null); // used once
    } catch (error) {
      status.say(words(describeError(error)), "error");
    }
  };
  return (
    <section aria-labelledby="check-presentation" className="stack">
      <h2 id="check-presentation">{t("present.askTitle")}</h2>
      <p className="muted">{t("present.askExplain")}</p>
      <button type="button" onClick={() => void ask()}>
        {t("present.newChallenge")}
      </button>
      {challenge && (
        <>
          <p>
            {t("present.give")} <code aria-label={t("present.challengeCode")}>{challenge}</code>{" "}
            <CopyButton text={challenge} label={t("present.copyChallenge")} />
          </p>
          <form className="stack" onSubmit={check}>
            <label>
              {t("present.address")}
              <input value={address} spellCheck={false} onChange={(e) => setAddress(e.target.value)} />
            </label>
            <label>
              {t("present.signature")}
              <input value={signature} spellCheck={false} onChange={(e) => setSignature(e.target.value)} />
            </label>
            <button className="primary" disabled={!address.trim() || !signature.trim()}>
              {t("present.check")}
            </button>
          </form>
        </>
      )}
      {result && (
        <div role="region" aria-label={t("present.result")}>
          <p className="big">{t("present.controls", { address: result.holder })}</p>
          {result.credentials.length === 0 && <p>{t("present.noCredentials")}</p>}
          <ul className="checks">
            {result.credentials.map((c) => (
              <li key={c.token_id} className={c.valid ? "pass" : "fail"}>
                <span aria-hidden="true">{c.valid ? "✓" : "✗"}</span>{" "}
                {typeof c.metadata?.name === "string" ? c.metadata.name : c.token_id.slice(0, 12)} ·{" "}
                {c.valid ? t("verify.valid") : t("verify.invalid")}
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}

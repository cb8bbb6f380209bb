import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import type { Described } from "./errors";

/** A described error as a sentence in the reader's language (the server's detail appended). */
export function useErrorWords() {
  const { t } = useTranslation();
  return useCallback(
    (d: Described) => {
      const head = t(`errors.${d.kind}`);
      return d.detail && d.kind !== "cancelled" && d.kind !== "session" ? `${head} ${d.detail}` : head;
    },
    [t],
  );
}

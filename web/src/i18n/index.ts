// i18next with English, Spanish and Hindi bundled (no network). The choice is remembered; the
// first visit follows the browser's languages. Dates, numbers and money format by the same locale.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import { en } from "./en";
import { es } from "./es";
import { hi } from "./hi";

export const LANGUAGES: [string, string][] = [
  ["en", "English"],
  ["es", "Español"],
  ["hi", "हिन्दी"],
];
const STORAGE = "sc-language";

function initial(): string {
  const saved = typeof localStorage !== "undefined" ? localStorage.getItem(STORAGE) : null;
  const wanted = saved ? [saved] : typeof navigator !== "undefined" ? navigator.languages : [];
  for (const tag of wanted) {
    const base = tag.toLowerCase().split("-")[0] ?? "";
    if (LANGUAGES.some(([code]) => code === base)) return base;
  }
  return "en";
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, es: { translation: es }, hi: { translation: hi } },
  lng: initial(),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});

i18n.on("languageChanged", (lng) => {
  localStorage.setItem(STORAGE, lng);
  document.documentElement.lang = lng;
});
document.documentElement.lang = i18n.language;

export default i18n;

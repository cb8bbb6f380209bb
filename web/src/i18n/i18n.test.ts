import { describe, expect, it } from "vitest";
import { en } from "./en";
import { es } from "./es";
import { hi } from "./hi";

function flatten(tree: object, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [k, v] of flatten(value as object, path)) out.set(k, v);
  }
  return out;
}

const placeholders = (text: string) => [...text.matchAll(/{{\s*(\w+)\s*}}/g)].map((m) => m[1]).sort();

describe.each([
  ["es", es],
  ["hi", hi],
])("%s is a complete translation", (_name, messages) => {
  const reference = flatten(en);
  const translated = flatten(messages);
  it("has every key and no other", () => {
    expect([...translated.keys()].sort()).toEqual([...reference.keys()].sort());
  });
  it("keeps each string's placeholders", () => {
    for (const [key, text] of reference) expect(placeholders(translated.get(key) ?? ""), key).toEqual(placeholders(text));
  });
  it("differs from English on at least 95% of the keys (no copied English)", () => {
    const same = [...reference].filter(([key, text]) => translated.get(key) === text).map(([key]) => key);
    expect(same.length / reference.size, `same as English: ${same.join(", ")}`).toBeLessThanOrEqual(0.05);
  });
});

"""Recommendations for a learner: content match (TF-IDF over listings), collaborative signal (ALS on
paid engagements, with fold-in for learners the model has not seen), a quality prior (Bayesian average
of on-chain ratings, flagged reviews discounted), hard constraints (price, language, timezone), and a
bounded share of exposure for new mentors. Every result says why it is there."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from matching.als import ALS
from matching.data import Marketplace
from matching.fraud import flagged_reviews, signals

_TOKEN = re.compile(r"[a-z0-9]+")
PRIOR_WEIGHT = 5.0  # reviews' worth of the global mean in the Bayesian average


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("-", " "))


@dataclass
class Recommendation:
    listing_id: int
    owner: str
    score: float
    reasons: list[str]


def gini(counts: np.ndarray) -> float:
    """Inequality of exposure across mentors: 0 equal, 1 everything to one."""
    x = np.sort(np.asarray(counts, dtype=float))
    if x.sum() == 0:
        return 0.0
    n = len(x)
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


class Recommender:
    def __init__(self) -> None:
        self.listing_ids = np.zeros(0, np.int64)
        self.owners: list[str] = []
        self.skills: list[str] = []
        self.prices = np.zeros(0)
        self.languages: list[tuple[str, ...]] = []
        self.timezones: list[str | None] = []
        self.vocab: dict[str, int] = {}
        self.idf = np.zeros(0)
        self.content: sp.csr_matrix = sp.csr_matrix((0, 0))
        self.provider_index: dict[str, int] = {}
        self.client_index: dict[str, int] = {}
        self.als = ALS()
        self.quality: dict[str, tuple[float, int]] = {}
        self.history: dict[str, list[str]] = {}
        self.new_share = 0.2
        self.flagged: set[tuple[int, str]] = set()  # (engagement id, reviewer) discounted in public averages
        self.careers: dict[str, list[tuple[str, float, int]]] = {}  # skill id -> what holders earned next
        self._cache: dict[str, np.ndarray] = {}

    def _prepare(self) -> None:
        """Per-listing arrays computed once, so a query is a handful of vector operations."""
        mean = self.quality["*"][0]
        self._cache["quality"] = np.array([(self.quality.get(o, (mean, 0))[0] - 1) / 4 for o in self.owners])
        self._cache["new"] = np.array([self.quality.get(o, (0, 0))[1] == 0 for o in self.owners], dtype=bool)
        self._cache["region"] = np.array([(tz or "").split("/")[0] for tz in self.timezones])
        self._cache["owner_index"] = np.array(
            [self.provider_index.get(o, -1) for o in self.owners], dtype=np.int64
        )

    def _language_mask(self, language: str) -> np.ndarray:
        key = f"lang:{language}"
        if key not in self._cache:
            self._cache[key] = np.array([language in langs for langs in self.languages], dtype=bool)
        return self._cache[key]

    # ------------------------------------------------------------ training
    @classmethod
    def train(
        cls, m: Marketplace, *, factors: int = 32, iterations: int = 10, new_share: float = 0.2
    ) -> Recommender:
        r = cls()
        r.new_share = new_share
        offers = [x for x in m.listings]
        r.listing_ids = np.array([x.id for x in offers], np.int64)
        r.owners = [x.owner for x in offers]
        r.skills = [x.skill for x in offers]
        r.prices = np.array([x.price for x in offers])
        r.languages = [x.languages for x in offers]
        r.timezones = [x.timezone for x in offers]
        docs = [tokens(f"{x.skill} {x.skill} {x.title} {x.description}") for x in offers]
        df: Counter[str] = Counter(t for d in docs for t in set(d))
        r.vocab = {t: i for i, t in enumerate(sorted(df))}
        n = max(len(docs), 1)
        r.idf = np.array([math.log((1 + n) / (1 + df[t])) + 1 for t in sorted(df)])
        r.content = r._tfidf(docs)

        r.careers = career_paths(m)
        reports = signals(m)
        discounted = flagged_reviews(m, reports)
        r.flagged = discounted
        ratings: dict[str, list[int]] = defaultdict(list)
        for rv in m.reviews:
            if rv.role == "provider" and (rv.engagement_id, rv.reviewer) not in discounted:
                ratings[rv.subject].append(rv.rating)
        all_ratings = [x for v in ratings.values() for x in v]
        mean = float(np.mean(all_ratings)) if all_ratings else 4.0
        r.quality = {
            p: ((PRIOR_WEIGHT * mean + sum(v)) / (PRIOR_WEIGHT + len(v)), len(v)) for p, v in ratings.items()
        }
        r.quality["*"] = (mean, 0)

        paid = [e for e in m.engagements if e.paid]
        providers = sorted({e.provider for e in paid} | set(r.owners))
        clients = sorted({e.client for e in paid})
        r.provider_index = {p: i for i, p in enumerate(providers)}
        r.client_index = {c: i for i, c in enumerate(clients)}
        for e in sorted(paid, key=lambda e: e.created_block):
            r.history.setdefault(e.client, []).append(e.provider)
        if paid and providers:
            rows = [r.client_index[e.client] for e in paid]
            cols = [r.provider_index[e.provider] for e in paid]
            matrix = sp.csr_matrix(
                (np.ones(len(paid), np.float32), (rows, cols)), shape=(len(clients), len(providers))
            )
            matrix.sum_duplicates()
            r.als = ALS(factors=factors, iterations=iterations, regularization=0.05, alpha=10.0).fit(matrix)
        r._prepare()
        return r

    def _tfidf(self, docs: list[list[str]]) -> sp.csr_matrix:
        rows, cols, vals = [], [], []
        for i, d in enumerate(docs):
            counts = Counter(t for t in d if t in self.vocab)
            for t, c in counts.items():
                rows.append(i)
                cols.append(self.vocab[t])
                vals.append(c * self.idf[self.vocab[t]])
        m = sp.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(self.vocab)), dtype=np.float32)
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sp.csr_matrix(sp.diags(1.0 / norms) @ m)

    # ------------------------------------------------------------ querying
    def recommend(
        self,
        *,
        learner: str | None = None,
        wants: list[str] | None = None,
        text: str = "",
        max_price: float | None = None,
        language: str | None = None,
        timezone: str | None = None,
        k: int = 10,
        exploration: bool = True,
    ) -> list[Recommendation]:
        n = len(self.listing_ids)
        if n == 0:
            return []
        if "quality" not in self._cache:
            self._prepare()
        mask = np.ones(n, bool)
        if max_price is not None:
            mask &= self.prices <= max_price
        if language:
            mask &= self._language_mask(language)
        if timezone:
            regions = self._cache["region"]
            mask &= (regions == timezone.split("/")[0]) | (regions == "")
        wanted = list(wants or [])
        query = self._tfidf([tokens(" ".join(wanted * 2) + " " + text)])
        content = self.content @ query.toarray().ravel()  # sparse matrix x dense vector: one pass
        collab = np.zeros(n)
        history = self.history.get(learner or "", [])
        if self.als.item_factors.size and history:
            counts = Counter(self.provider_index[p] for p in history if p in self.provider_index)
            user = (
                self.als.user_factors[self.client_index[learner]]
                if learner in self.client_index
                else self.als.fold_in(dict(counts))
            )
            provider_scores = self.als.scores(user)
            owners = self._cache["owner_index"]
            collab = np.where(owners >= 0, provider_scores[owners.clip(0)], 0.0)
            if collab.max() > 0:
                collab = collab / collab.max()
        score = 0.55 * content + 0.3 * collab + 0.15 * self._cache["quality"]
        score[~mask] = -np.inf
        candidates = np.flatnonzero(mask)
        if len(candidates) == 0:
            return []
        head = min(len(candidates), 3 * k)  # only the best few need sorting
        best = candidates[np.argpartition(-score[candidates], head - 1)[:head]]
        order = best[np.argsort(-score[best], kind="stable")]
        chosen = list(order[:k])
        if exploration and self.new_share > 0:
            reserve = max(1, round(k * self.new_share))
            eligible = np.flatnonzero(mask & self._cache["new"] & (content > 0))
            keep = set(chosen[: k - reserve])
            new: list[int] = []
            if len(eligible):  # rotate through every matching new mentor: exposure is spread, not piled up
                start = zlib.crc32(f"{learner}|{' '.join(wanted)}|{text}".encode()) % len(eligible)
                for j in range(min(len(eligible), reserve + len(keep))):
                    i = int(eligible[(start + j) % len(eligible)])
                    if i not in keep:
                        new.append(i)
            picks = new[:reserve]
            if picks:
                chosen = chosen[: k - len(picks)] + picks
        return [self._explain(i, float(score[i]), content[i], collab[i], history) for i in chosen]

    def _explain(
        self, i: int, score: float, content: float, collab: float, history: list[str]
    ) -> Recommendation:
        owner = self.owners[i]
        reasons = []
        if content > 0:
            reasons.append(f"teaches {self.skills[i]}")
        avg, count = self.quality.get(owner, (self.quality["*"][0], 0))
        if count:
            reasons.append(f"{avg:.1f} from {count} paid engagement{'s' if count != 1 else ''}")
        else:
            reasons.append("new mentor: no reviews yet")
        if collab > 0.5 and history:
            reasons.append(f"learners who booked {history[-1]} also booked this mentor")
        return Recommendation(int(self.listing_ids[i]), owner, score, reasons)

    def next_skills(self, skill_id: str) -> list[tuple[str, float, int]]:
        """Career path from the snapshot: what holders of `skill_id` earned next."""
        return self.careers.get(skill_id, [])

    # ------------------------------------------------------------ snapshot
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / "arrays.npz",
            listing_ids=self.listing_ids,
            prices=self.prices,
            idf=self.idf,
            content_data=self.content.data,
            content_indices=self.content.indices,
            content_indptr=self.content.indptr,
            content_shape=np.array(self.content.shape),
            user_factors=self.als.user_factors,
            item_factors=self.als.item_factors,
        )
        meta = {
            "owners": self.owners,
            "skills": self.skills,
            "languages": self.languages,
            "timezones": self.timezones,
            "vocab": self.vocab,
            "provider_index": self.provider_index,
            "client_index": self.client_index,
            "quality": self.quality,
            "flagged": sorted(self.flagged),
            "careers": self.careers,
            "history": self.history,
            "new_share": self.new_share,
            "als": {
                "factors": self.als.factors,
                "regularization": self.als.regularization,
                "alpha": self.als.alpha,
            },
        }
        tmp = folder / "meta.json.tmp"
        tmp.write_text(json.dumps(meta))
        tmp.replace(folder / "meta.json")

    @classmethod
    def load(cls, folder: Path) -> Recommender:
        r = cls()
        a = np.load(folder / "arrays.npz")
        meta = json.loads((folder / "meta.json").read_text())
        r.listing_ids, r.prices, r.idf = a["listing_ids"], a["prices"], a["idf"]
        r.content = sp.csr_matrix(
            (a["content_data"], a["content_indices"], a["content_indptr"]), shape=tuple(a["content_shape"])
        )
        r.owners, r.skills = meta["owners"], meta["skills"]
        r.languages = [tuple(x) for x in meta["languages"]]
        r.timezones, r.vocab = meta["timezones"], meta["vocab"]
        r.provider_index, r.client_index, r.history = (
            meta["provider_index"],
            meta["client_index"],
            meta["history"],
        )
        r.quality = {k: (v[0], v[1]) for k, v in meta["quality"].items()}
        r.new_share = meta["new_share"]
        r.flagged = {(int(e), str(a)) for e, a in meta.get("flagged", [])}
        r.careers = {
            skill: [(str(s), float(share), int(c)) for s, share, c in nxt]
            for skill, nxt in meta.get("careers", {}).items()
        }
        r.als = ALS(**meta["als"])
        r.als.user_factors, r.als.item_factors = a["user_factors"], a["item_factors"]
        r._prepare()
        return r


def career_paths(m: Marketplace, k: int = 5) -> dict[str, list[tuple[str, float, int]]]:
    """For every skill: the skills its holders earned next, as (skill id, share of holders, count).

    "Next" means first earned after the holder's first credential in that skill.
    """
    by_holder: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for c in m.credentials:
        by_holder[c.holder].append((c.issued_at, c.skill_id))
    after: dict[str, Counter[str]] = defaultdict(Counter)
    holders: Counter[str] = Counter()
    for items in by_holder.values():
        first: dict[str, int] = {}
        for t, skill in sorted(items):
            first.setdefault(skill, t)
        for skill, t in first.items():
            holders[skill] += 1
            after[skill].update(other for other, t2 in first.items() if t2 > t)
    return {skill: [(s, c / holders[skill], c) for s, c in after[skill].most_common(k)] for skill in holders}


def next_skills(m: Marketplace, skill_id: str, k: int = 5) -> list[tuple[str, float, int]]:
    """Skills that holders of `skill_id` earned next: (skill id, share of those holders, count)."""
    return career_paths(m, k).get(skill_id, [])

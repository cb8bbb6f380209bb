"""Matching benchmark: our numpy ALS against the `implicit` library on a synthetic 100k users x
20k items x ~2M interactions with planted clusters — both held to one thread, 64 factors — plus
NDCG@10 over full ranking (ours, implicit, popularity) and the latency of a top-10 query over 100k
listings. Targets (issue #12): time per ALS iteration <= 2x implicit's; NDCG@10 within 5% of
implicit's and >= 1.5x popularity; top-10 query <= 5 ms p99.

    make bench-matching        (or: .venv/bin/python bench/matching.py)
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # both implementations on one thread
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from matching.als import ALS
from matching.data import Listing, Marketplace
from matching.recommend import Recommender


def synthetic(users: int, items: int, interactions: int, clusters: int = 50, seed: int = 0):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    user_cluster = rng.integers(0, clusters, users)
    per = items // clusters
    popularity = rng.pareto(1.2, per) + 1
    popularity /= popularity.sum()
    n_users = rng.integers(0, users, interactions)
    own = rng.random(interactions) < 0.8
    cluster = np.where(own, user_cluster[n_users], rng.integers(0, clusters, interactions))
    item = cluster * per + rng.choice(per, interactions, p=popularity)
    m = sp.csr_matrix((np.ones(interactions, np.float32), (n_users, item)), shape=(users, items))
    m.sum_duplicates()
    m.data[:] = 1.0
    # hold out one interaction for a sample of users
    sample = rng.choice(np.flatnonzero(np.diff(m.indptr) >= 3), 5000, replace=False)
    held: dict[int, set[int]] = {}
    train = m.tolil()
    for u in sample:
        row = m.indices[m.indptr[u] : m.indptr[u + 1]]
        i = int(rng.choice(row))
        held[int(u)] = {i}
        train[u, i] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    return train, held


def ndcg(
    user_factors: np.ndarray, item_factors: np.ndarray, train: sp.csr_matrix, held: dict[int, set[int]]
) -> float:
    users = np.array(sorted(held))
    total = 0.0
    for start in range(0, len(users), 1000):
        chunk = users[start : start + 1000]
        scores = user_factors[chunk] @ item_factors.T
        for row, u in enumerate(chunk):
            seen = train.indices[train.indptr[u] : train.indptr[u + 1]]
            scores[row, seen] = -np.inf
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        top = np.take_along_axis(top, order, axis=1)
        for row, u in enumerate(chunk):
            (truth,) = held[int(u)]
            hit = np.flatnonzero(top[row] == truth)
            total += 1.0 / np.log2(hit[0] + 2) if len(hit) else 0.0
    return total / len(users)


def popularity_ndcg(train: sp.csr_matrix, held: dict[int, set[int]]) -> float:
    counts = np.asarray(train.sum(axis=0)).ravel()
    order = np.argsort(-counts)
    total = 0.0
    for u, truth in held.items():
        seen = set(train.indices[train.indptr[u] : train.indptr[u + 1]].tolist())
        top = [i for i in order[:200] if i not in seen][:10]
        (t,) = truth
        total += 1.0 / np.log2(top.index(t) + 2) if t in top else 0.0
    return total / len(held)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--interactions", type=int, default=2_000_000)
    parser.add_argument("--iterations", type=int, default=10)
    args = parser.parse_args()
    import implicit
    from threadpoolctl import threadpool_limits

    train, held = synthetic(args.users, args.items, args.interactions)
    print(
        f"{train.shape[0]:,} users x {train.shape[1]:,} items, {train.nnz:,} interactions; 64 factors; 1 thread each"
    )
    with threadpool_limits(1):
        ours = ALS(factors=64, regularization=0.05, alpha=10.0, iterations=args.iterations)
        start = time.perf_counter()
        ours.fit(train)
        ours_t = (time.perf_counter() - start) / args.iterations
        theirs = implicit.als.AlternatingLeastSquares(
            factors=64,
            regularization=0.05,
            alpha=10.0,
            iterations=args.iterations,
            num_threads=1,
            random_state=0,
            calculate_training_loss=False,
        )
        start = time.perf_counter()
        theirs.fit(train, show_progress=False)
        theirs_t = (time.perf_counter() - start) / args.iterations
        ours_ndcg = ndcg(ours.user_factors, ours.item_factors, train, held)
        theirs_ndcg = ndcg(np.asarray(theirs.user_factors), np.asarray(theirs.item_factors), train, held)
    pop = popularity_ndcg(train, held)
    print(f"{'':<22} {'s/iteration':>12} {'NDCG@10':>9}")
    print(f"{'skillchain numpy ALS':<22} {ours_t:>12.2f} {ours_ndcg:>9.4f}")
    print(f"{'implicit 0.7 ALS':<22} {theirs_t:>12.2f} {theirs_ndcg:>9.4f}")
    print(f"{'popularity':<22} {'':>12} {pop:>9.4f}")
    print(
        f"time ratio {ours_t / theirs_t:.2f}x implicit (target <= 2x); NDCG {ours_ndcg / theirs_ndcg:.3f} of implicit's "
        f"(target >= 0.95); {ours_ndcg / pop:.1f}x popularity (target >= 1.5x)"
    )

    # top-10 query latency over 100k listings
    rng = np.random.default_rng(1)
    skills = ["solidity", "python", "guitar", "spanish", "ui-design", "defi", "rust", "piano"]
    market = Marketplace(
        listings=[
            Listing(
                i,
                f"0xmentor{i % 20000:05d}",
                skills[i % len(skills)],
                f"{skills[i % len(skills)]} lessons {i % 97}",
                "learn with a patient mentor",
                float(rng.integers(10, 200)),
                ("en",),
                "Europe/Berlin",
            )
            for i in range(100_000)
        ]
    )
    model = Recommender.train(market)
    times = []
    for q in range(500):
        start = time.perf_counter()
        model.recommend(wants=[skills[q % len(skills)]], max_price=150, language="en", k=10)
        times.append(time.perf_counter() - start)
    p99 = float(np.percentile(times, 99)) * 1000
    print(
        f"top-10 query over 100,000 listings: p50 {np.median(times) * 1000:.2f} ms, p99 {p99:.2f} ms (target <= 5 ms)"
    )


if __name__ == "__main__":
    main()

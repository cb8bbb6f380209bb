"""Recommendations, career paths and fraud/sybil signals from the marketplace's own data (numpy)."""

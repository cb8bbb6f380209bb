"""Test-wide setup: the offline compiler and anvil are found without any shell setup."""

from chain.toolchain import configure_environment

configure_environment()

import os  # noqa: E402

from hypothesis import settings  # noqa: E402

# `make test` replays the same examples every run (no flaky CI); `make fuzz` explores new ones.
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("fuzz", deadline=None, print_blob=True)
settings.load_profile("fuzz" if os.environ.get("SKILLCHAIN_FUZZ") == "1" else "repeatable")

"""Test-wide setup: the offline compiler and anvil are found without any shell setup."""

from chain.toolchain import configure_environment

configure_environment()

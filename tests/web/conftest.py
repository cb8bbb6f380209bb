from tests.api.conftest_chain import stack  # noqa: F401 - the full-stack fixture

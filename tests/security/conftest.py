"""The small world of the field-work tests (see tests/programme/conftest.py) serves here too."""

from tests.programme.conftest import media_root, world  # noqa: F401

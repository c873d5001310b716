"""Importing the definitions reads nothing from the environment; each resource reads it when it is set up.

`config.Settings` is the one settings model and `Settings.from_env` its one reader: the code location's resources
call it when a run or a sensor tick sets them up (`defs/resources.py`), so the same variables work for
`make run`, `dagster dev`, the CLI and tests, and a value changed after import is the value a run sees.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline.config import ConfigError
from engagement_pipeline.defs import actions
from engagement_pipeline.defs.resources import environment_resources

PACKAGE = "engagement_pipeline"
# Each would make `Settings.from_env` or `mailer_from_env` fail: reading any of them at import would show.
HOSTILE = {
    "ENGAGEMENT_DATA_DIR": "/nonexistent/hostile",
    "ENGAGEMENT_DB_URL": "hostile://nowhere",
    "ENGAGEMENT_INBOX_URL": "ftp://not-a-bucket",
    "ENGAGEMENT_MAX_UPLOAD_MB": "many",
    "ENGAGEMENT_INTERNAL_DOMAINS": "hostile.example",
    "ENGAGEMENT_SMTP_HOST": "smtp.hostile.example",
    "ENGAGEMENT_SMTP_PORT": "not-a-port",
}


class RecordingEnviron(MutableMapping[str, str]):
    """A stand-in for `os.environ` that remembers every name read (`get`, `[]`, `in`, a copy: each name)."""

    def __init__(self, values: dict[str, str]) -> None:
        self._values = dict(values)
        self.read: set[str] = set()

    def __getitem__(self, key: str) -> str:
        self.read.add(key)
        return self._values[key]

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return key in self._values

    def __setitem__(self, key: str, value: str) -> None:
        self._values[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._values))

    def __len__(self) -> int:
        return len(self._values)

    def copy(self) -> dict[str, str]:
        return {key: self[key] for key in self}


@pytest.fixture
def fresh_package() -> Iterator[None]:
    """The package imported anew inside the test (Dagster and pandas stay loaded), the old modules put back after."""
    ours = [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]
    saved = {name: sys.modules.pop(name) for name in ours}
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]
        sys.modules.update(saved)


def test_importing_and_building_the_definitions_reads_no_setting(monkeypatch: pytest.MonkeyPatch,
                                                                  fresh_package: None) -> None:
    environ = RecordingEnviron({**os.environ, **HOSTILE})
    monkeypatch.setattr(os, "environ", environ)
    module = importlib.import_module(f"{PACKAGE}.defs")
    assert module.__name__ in sys.modules and module.actions is not actions  # really imported again
    module.build_definitions()  # what `defs()` builds, without the catalogue's path
    assert sorted(name for name in environ.read if name.startswith("ENGAGEMENT_")) == []


def _set_up(**env: str) -> dict[str, object]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        with dg.build_resources({**environment_resources(), **actions.environment_resources()}) as built:
            return {key: getattr(built, key) for key in ("data_folder", "warehouse", "inbox", "mailer")}


def test_each_resource_reads_the_environment_when_it_is_set_up(tmp_path: Path) -> None:
    resources = environment_resources()  # built first: the values below are set after, and still seen
    first, second = tmp_path / "first", tmp_path / "second"
    url = f"sqlite:///{tmp_path / 'elsewhere.sqlite'}"
    one = _set_up(ENGAGEMENT_DATA_DIR=str(first), ENGAGEMENT_DB_URL=url, ENGAGEMENT_INTERNAL_DOMAINS="Org.Example",
                  ENGAGEMENT_MAX_UPLOAD_MB="7", ENGAGEMENT_SMTP_HOST="smtp.example", ENGAGEMENT_SMTP_PORT="2525",
                  ENGAGEMENT_SMTP_PASSWORD="s3cret", ENGAGEMENT_INBOX_URL="")
    assert one["data_folder"].data_dir == first.resolve()
    assert one["data_folder"].internal_domains == frozenset({"org.example"})
    assert one["data_folder"].max_upload_bytes == 7 * 1024 * 1024
    assert one["warehouse"].url == url
    assert (one["inbox"].directory, one["inbox"].url) == (str(first.resolve() / "inbox"), "")
    assert (one["mailer"].smtp_host, one["mailer"].smtp_port, one["mailer"].smtp_password) == (
        "smtp.example", 2525, "s3cret")
    # No fields: nothing about them (the URL may hold a password) is in a config the Launchpad shows.
    assert not any(isinstance(resources[key], dg.ConfigurableResource) for key in ("data_folder", "warehouse", "inbox"))

    two = _set_up(ENGAGEMENT_DATA_DIR=str(second), ENGAGEMENT_DB_URL="", ENGAGEMENT_INTERNAL_DOMAINS="",
                  ENGAGEMENT_INBOX_URL="s3://bucket/team")
    assert two["data_folder"].data_dir == second.resolve()
    assert two["warehouse"].url == f"sqlite:///{second.resolve() / 'warehouse.sqlite'}"
    assert two["inbox"].url == "s3://bucket/team"


def test_a_bad_setting_fails_the_run_that_sets_it_up_not_the_import() -> None:
    with pytest.raises(dg.DagsterResourceFunctionError) as raised:
        _set_up(ENGAGEMENT_INBOX_URL=HOSTILE["ENGAGEMENT_INBOX_URL"])
    assert isinstance(raised.value.__cause__, ConfigError)
    assert "ENGAGEMENT_INBOX_URL must be s3://bucket[/prefix]" in str(raised.value.__cause__)

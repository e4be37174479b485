"""What the database layer says about a URL in a message: never its password."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from collections.abc import Callable

import pytest
from pydantic import BaseModel, ValidationError

from services.cli import main as cli
from services.core.db import Database, DatabaseError, connect_once, display_url
from services.core.runner import run_program
from services.sink.settings import SinkSettings


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://reader:s3cret@db.internal:5432/news", "postgresql://reader:***@db.internal:5432/news"),
    ("postgresql://reader:p%40ss@db/news?sslmode=require", "postgresql://reader:***@db/news?sslmode=require"),
    ("postgresql://db/news?sslmode=require&password=s3cret", "postgresql://db/news?sslmode=require&password=***"),
    ("postgresql://db/news?password=s3cret&application_name=a%20b", "postgresql://db/news?password=***&application_name=a%20b"),
    ("postgresql://reader@db/news", "postgresql://reader@db/news"),
    ("sqlite:///var/lib/wirefeed/wirefeed.db", "sqlite:///var/lib/wirefeed/wirefeed.db"),
])
def test_passwords_are_masked_and_the_rest_is_kept(url: str, shown: str) -> None:
    assert display_url(url) == shown


@pytest.mark.parametrize("url", [
    "postgresql://wf:S3cr%ZZet@127.0.0.1:1/db",  # a bare "%" in the password: no percent-encoding
    "postgresql://127.0.0.1:1/db?password=S3cr%ZZet",
])
@pytest.mark.parametrize("use", [Database, functools.partial(connect_once, timeout=1)], ids=["pool", "once"])
def test_a_url_libpq_cannot_read_is_refused_without_its_password(url: str, use: Callable[[str], object]) -> None:
    # libpq's message quotes the token it could not read: "invalid percent-encoded token: "S3cr%ZZet""
    with pytest.raises(DatabaseError, match="invalid percent-encoded token") as raised:
        use(url)
    assert "S3cr" not in str(raised.value) and raised.value.__context__ is None


@pytest.mark.parametrize("variable", ["WIREFEED_DATABASE_URL", "WIREFEED_STATE_DATABASE_URL",
                                      "WIREFEED_DEDUP_DATABASE_URL"])
def test_a_database_url_libpq_cannot_read_is_named_by_its_variable_not_shown(
        variable: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(variable, "postgresql://wf:S3cr%ZZet@127.0.0.1:1/db")
    command = {"WIREFEED_DATABASE_URL": ["sources"], "WIREFEED_STATE_DATABASE_URL": ["poller"],
               "WIREFEED_DEDUP_DATABASE_URL": ["normalizer"]}[variable]
    assert cli(command) == 2  # before anything starts
    error = capsys.readouterr().err
    assert error.startswith(f"wirefeed: invalid settings: {variable}: not a database URL wirefeed can use")
    assert "S3cr" not in error and '"%" is written %25' in error


@pytest.mark.parametrize(("service", "variable"), [("sink", "WIREFEED_DATABASE_URL"),
                                                  ("normalizer", "WIREFEED_DEDUP_DATABASE_URL"),
                                                  ("poller", "WIREFEED_STATE_DATABASE_URL")])
def test_a_service_run_as_a_module_names_a_bad_url_by_its_variable_not_in_a_traceback(
        service: str, variable: str) -> None:
    # Containers start `python -m services.NAME`: pydantic's traceback quoted the URL, password and all.
    env = {**os.environ, variable: "postgresql://wf:S3cr%ZZet@127.0.0.1:1/db"}
    done = subprocess.run([sys.executable, "-m", f"services.{service}"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(f"wirefeed: invalid settings: {variable}: not a database URL")
    assert "S3cr" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_settings_error_never_quotes_the_values_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREFEED_DATABASE_URL", "postgresql://wf:S3cr%ZZet@127.0.0.1:1/db")
    with pytest.raises(ValidationError) as raised:
        SinkSettings()
    assert "S3cr" not in str(raised.value)


def test_a_services_own_validation_error_keeps_its_traceback() -> None:
    # Only settings are reported as settings: a model refusing data inside a service is a fault to trace.
    class Article(BaseModel):
        version: int

    def main() -> int:
        Article(version="x")  # type: ignore[arg-type]
        return 0

    with pytest.raises(ValidationError, match="Article"):
        run_program(main)

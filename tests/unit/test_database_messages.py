"""What the database layer says about a URL in a message: never its password."""

from __future__ import annotations

import pytest

from services.core.db import display_url


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

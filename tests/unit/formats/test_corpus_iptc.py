"""The IPTC conformance suites: ninjs (validation/test_suite) and NewsML-G2 (tests/unit_test_files).

Each file sits in should_pass or should_fail for one version of the standard. Valid documents must parse
(to items, where the document is a news item). Invalid ones must end in a typed error, either from the
parser's own checks (the rules a reader depends on: an id, an itemMeta, a sane version) or from the
schema validator the parser accepts as a plug-in; wirefeed ships no schemas, so these tests build the
validators from the IPTC schema files in the corpus.

NewsML-G2 should_fail files that are accepted as valid, and why: only the 2.35 XSD is in the corpus, and
five files fail solely against the older schema of their folder. Four declare the standardversion in
which they became valid (2.29 or 2.31) and validate against 2.35; the fifth lacks a catalogRef, which
2.30 made optional, and a missing catalog does not stop a reader. The test checks they still validate
against 2.35, so the reason stays true.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from schemas import FeedFormat
from services.poller.formats import FeedContext, FeedParseError, ParsedFeed
from services.poller.formats.newsml_g2 import G2Validator, parse_newsml_g2
from services.poller.formats.ninjs import NinjsValidator, parse_ninjs

Parse = Callable[..., ParsedFeed]
NINJS_SCHEMAS = {"1.x_dev": "ninjs-schema-dev_0.2_v1.5.json", "2.x_dev": "ninjs-schema-dev_0.1_v2.1.json"}
GEOJSON_ID = "https://geojson.org/schema/GeoJSON.json"
G2_NEWS_ITEMS = ("newsItem", "packageItem", "newsMessage")
G2_VALID_UNDER_NEWER_SCHEMA = {
    "2.28/should_fail/2.29_affiliation_org_org.xml",
    "2.28/should_fail/2.29_retiring_scheme_scheme.xml",
    "2.28/should_fail/2.29_retiring_scheme_schememeta.xml",
    "2.29/should_fail/002_newsitem_with_no_catalog.xml",
    "2.30/should_fail/CR00215_hasInstrument_on_concept.xml",
}
_ROOT_NAME = re.compile(rb"<(?:\w+:)?(\w+)[\s>]")


# ninjs -------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ninjs_validators(corpus: Path) -> Callable[[str], NinjsValidator]:
    """A jsonschema-backed validator per suite version (jsonschema is a test-only dependency)."""
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    draft7 = pytest.importorskip("referencing.jsonschema").DRAFT7

    base = corpus / "iptc-ninjs"
    geojson = json.loads((base / "validation" / "test_suite" / "GeoJSON-schema.json").read_bytes())
    registry = referencing.Registry().with_resource(
        GEOJSON_ID, referencing.Resource.from_contents(geojson, default_specification=draft7))
    cache: dict[str, NinjsValidator] = {}

    def for_version(version: str) -> NinjsValidator:
        if version not in cache:
            name = NINJS_SCHEMAS.get(version, f"ninjs-schema_{version}.json")
            schema = json.loads((base / "specification" / name).read_bytes())
            cls = jsonschema.validators.validator_for(schema)
            checker = cls(schema, registry=registry, format_checker=cls.FORMAT_CHECKER)
            cache[version] = lambda doc: (error.message for error in checker.iter_errors(doc))
        return cache[version]

    return for_version


def test_ninjs_should_pass_parses_to_items(ninjs_should_pass: Path, parse: Parse) -> None:
    feed = parse(ninjs_should_pass.read_bytes())
    assert feed.format is FeedFormat.NINJS
    assert feed.items and all(item.guid for item in feed.items)


def test_ninjs_should_pass_also_satisfies_its_schema(
    ninjs_should_pass: Path, ninjs_validators: Callable[[str], NinjsValidator], ctx: FeedContext
) -> None:
    version = ninjs_should_pass.parts[-3]
    assert parse_ninjs(ninjs_should_pass.read_bytes(), ctx, validator=ninjs_validators(version)).items


def test_ninjs_should_fail_gives_a_typed_error(
    ninjs_should_fail: Path, ninjs_validators: Callable[[str], NinjsValidator], ctx: FeedContext
) -> None:
    version = ninjs_should_fail.parts[-3]
    with pytest.raises(FeedParseError):
        parse_ninjs(ninjs_should_fail.read_bytes(), ctx, validator=ninjs_validators(version))


def test_the_parsers_own_checks_catch_the_broken_ninjs_a_reader_would_trip_on(
    corpus: Path, parse: Parse
) -> None:
    """Without any schema: unparseable JSON, no uri, a non-string version. The rest is left to schemas."""
    caught = []
    for path in sorted((corpus / "iptc-ninjs" / "validation" / "test_suite").glob("*/should_fail/*.json")):
        try:
            parse(path.read_bytes(), fmt=FeedFormat.NINJS)
        except FeedParseError:
            caught.append(path.name)
    print(f"ninjs should_fail caught without a schema: {len(caught)}: {caught}")
    assert {"001_no_uri_declared.json", "006_version_must_be_string.json",
            "009_body_text_with_cr.json", "012_location_not_object.json"} <= set(caught)


# NewsML-G2 ---------------------------------------------------------------------------------------------


class _LocalXmlXsd(etree.Resolver):
    """The XSD imports xml.xsd by relative name; serve the corpus copy so nothing is fetched."""

    def __init__(self, xml_xsd: Path) -> None:
        super().__init__()
        self.xml_xsd = xml_xsd

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        if system_url.endswith("xml.xsd"):
            return self.resolve_filename(str(self.xml_xsd), context)
        return None


@pytest.fixture(scope="module")
def g2_schema(corpus: Path) -> etree.XMLSchema:
    base = corpus / "iptc-newsml-g2"
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_LocalXmlXsd(base / "examples" / "xml.xsd"))
    xsd = base / "tests" / "schema_versions" / "NewsML-G2_2.35-spec-All-Power.xsd"
    return etree.XMLSchema(etree.parse(str(xsd), parser))


def _g2_validator(schema: etree.XMLSchema) -> G2Validator:
    def problems(root: etree._Element) -> Iterator[str]:
        if not schema.validate(root):
            yield from (str(error.message) for error in schema.error_log)

    return problems


def _suite_name(path: Path) -> str:
    return "/".join(path.parts[-3:])


def test_g2_should_pass_parses(g2_should_pass: Path, parse: Parse) -> None:
    body = g2_should_pass.read_bytes()
    root = _ROOT_NAME.search(body.split(b"?>", 1)[-1])
    feed = parse(body)
    assert feed.format is FeedFormat.NEWSML_G2
    if root and root.group(1).decode() in G2_NEWS_ITEMS:
        assert feed.items and all(item.guid for item in feed.items)
    else:  # concept, knowledge, planning and catalog items are not news: recognized, no items
        assert feed.items == []


def test_g2_should_fail_gives_a_typed_error(
    g2_should_fail: Path, g2_schema: etree.XMLSchema, ctx: FeedContext
) -> None:
    body = g2_should_fail.read_bytes()
    if _suite_name(g2_should_fail) in G2_VALID_UNDER_NEWER_SCHEMA:
        assert g2_schema.validate(etree.fromstring(body)), "no longer valid under 2.35: revisit the exemption"
        parse_newsml_g2(body, ctx)
        return
    with pytest.raises(FeedParseError):
        parse_newsml_g2(body, ctx, validator=_g2_validator(g2_schema))


def test_g2_incomplete_item_is_refused_without_any_schema(corpus: Path, ctx: FeedContext) -> None:
    path = corpus / "iptc-newsml-g2" / "tests" / "unit_test_files" / "2.29" / "should_fail"
    with pytest.raises(FeedParseError, match="itemMeta"):
        parse_newsml_g2((path / "001_incomplete_file.xml").read_bytes(), ctx)

"""DCAT-AP 3 exports validate against the official shapes (read from local files), in every
serialisation, with an explicit rdf:type on every node and nothing fetched."""

from __future__ import annotations

import warnings

import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS
from sqlalchemy.orm import Session

from gongshu.catalog.models import Dataset
from gongshu.portal.naming import dataset_slug
from gongshu.portal.openness import public_entries_query
from tests.portal.city import OpenCity
from tests.portal.conftest import SHAPES

FORMATS = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}


def shapes() -> Graph:
    graph = Graph()
    for name in ("shapes.ttl", "range.ttl"):
        graph.parse(SHAPES / name, format="turtle")
    return graph


def conforms(data: Graph) -> None:
    ok, _report, text = validate(data, shacl_graph=shapes(), inference="none", allow_warnings=True)
    assert ok, text


def fetch(client: TestClient, path: str, fmt: str) -> Graph:
    response = client.get(path)
    assert response.status_code == 200, response.text
    graph = Graph()
    with warnings.catch_warnings():
        # rdflib's own JSON-LD parser builds a ConjunctiveGraph, which rdflib deprecates.
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        graph.parse(data=response.content, format=FORMATS[fmt])
    return graph


def untyped(graph: Graph) -> set[URIRef]:
    """Nodes in subject or object position (not literals, not classes) without a type."""
    nodes = {s for s in graph.subjects() if isinstance(s, URIRef)}
    nodes |= {o for p, o in graph.predicate_objects() if isinstance(o, URIRef) and p != RDF.type}
    return {n for n in nodes if (n, RDF.type, None) not in graph}


def test_the_catalog_conforms_to_dcat_ap_in_every_serialisation(
    client: TestClient, open_city: OpenCity, db: Session
) -> None:
    turtle = fetch(client, "/catalog.ttl", "ttl")
    conforms(turtle)
    assert not untyped(turtle)
    for fmt in ("rdf", "jsonld"):
        other = fetch(client, f"/catalog.{fmt}", fmt)
        assert len(other) == len(turtle), fmt
        assert set(other) == set(turtle), fmt

    datasets = set(turtle.subjects(RDF.type, DCAT.Dataset))
    public = list(db.scalars(public_entries_query()))
    assert {str(d) for d in datasets} == {
        f"http://127.0.0.1:8000/dataset/{dataset_slug(d.code)}" for d in public
    }
    assert open_city.people is not None and open_city.draft is not None
    hidden = {dataset_slug(open_city.people.code), dataset_slug(open_city.draft.code)}
    assert not any(str(d).rsplit("/", 1)[-1] in hidden for d in datasets)
    catalog = next(turtle.subjects(RDF.type, DCAT.Catalog))
    assert set(turtle.objects(catalog, DCAT.dataset)) == datasets


def test_an_entry_with_every_field_and_a_minimal_one(
    client: TestClient, open_city: OpenCity
) -> None:
    full, minimal = open_city.companies, open_city.minimal
    assert full is not None and minimal is not None
    graph = fetch(client, f"/dataset/{full.code}.ttl", "ttl")
    conforms(graph)
    assert not untyped(graph)
    node = URIRef(f"http://127.0.0.1:8000/dataset/{dataset_slug(full.code)}")
    assert set(graph.objects(node, DCAT.keyword)) == {
        Literal("企业登记", lang="zh"),
        Literal("营商环境", lang="zh"),
    }
    issued = next(graph.objects(node, DCTERMS.issued))
    assert isinstance(issued, Literal) and str(issued.datatype).endswith("#date")
    themes = set(graph.objects(node, DCAT.theme))
    assert URIRef("http://publications.europa.eu/resource/authority/data-theme/ECON") in themes
    assert any((t, SKOS.prefLabel, Literal("市场监管", lang="zh")) in graph for t in themes)
    distributions = set(graph.objects(node, DCAT.distribution))
    assert len(distributions) == 5  # CSV, XLSX, JSON, Parquet and the Data Package
    data_api = URIRef("http://127.0.0.1:8000/service/data-api")
    assert (data_api, RDF.type, DCAT.DataService) in graph
    assert (data_api, DCAT.servesDataset, node) in graph
    for distribution in distributions:
        assert (distribution, DCTERMS.license, None) in graph

    bare = fetch(client, f"/dataset/{dataset_slug(minimal.code)}.jsonld", "jsonld")
    conforms(bare)
    assert not untyped(bare)
    bare_node = next(bare.subjects(RDF.type, DCAT.Dataset))
    # Without a description the title stands in: DCAT-AP requires one.
    assert next(bare.objects(bare_node, DCTERMS.description)) == Literal(minimal.title, lang="zh")
    assert not list(bare.objects(bare_node, DCAT.distribution))


def test_a_conditional_entry_is_described_without_downloads(
    client: TestClient, open_city: OpenCity
) -> None:
    assert open_city.permits is not None
    graph = fetch(client, f"/dataset/{open_city.permits.id}.rdf", "rdf")
    conforms(graph)
    node = next(graph.subjects(RDF.type, DCAT.Dataset))
    assert not list(graph.objects(node, DCAT.distribution))
    rights = next(graph.objects(node, DCTERMS.accessRights))
    assert str(rights).endswith("/access-right/RESTRICTED")


def test_json_ld_carries_its_context_inline(client: TestClient, open_city: OpenCity) -> None:
    body = client.get("/catalog.jsonld").json()
    assert isinstance(body["@context"], dict)
    assert body["@context"]["dcat"] == "http://www.w3.org/ns/dcat#"


@pytest.mark.parametrize("which", ["people", "draft"])
def test_entries_that_are_not_public_are_not_exported(
    client: TestClient, open_city: OpenCity, which: str
) -> None:
    dataset: Dataset | None = getattr(open_city, which)
    assert dataset is not None
    for fmt in ("ttl", "jsonld", "rdf"):
        assert client.get(f"/dataset/{dataset.code}.{fmt}").status_code == 404
        assert client.get(f"/dataset/{dataset.id}.{fmt}").status_code == 404
    assert client.get("/catalog.xml").status_code == 404


def test_the_demo_city_catalog_conforms(live_server: str, live_env: dict[str, str]) -> None:
    """The whole demo city, as served: every public entry, every optional field it has."""
    import urllib.request

    with urllib.request.urlopen(f"{live_server}/catalog.ttl", timeout=60) as r:
        data = r.read()
    graph = Graph()
    graph.parse(data=data, format="turtle")
    conforms(graph)
    assert not untyped(graph)
    assert len(set(graph.subjects(RDF.type, DCAT.Dataset))) >= 50
    assert len(set(graph.subjects(RDF.type, DCAT.Distribution))) >= 20

"""DCAT-AP 3 export of the public catalog and of each public entry (docs/dcat.md).

The graph holds, each node with an explicit ``rdf:type`` (the DCAT-AP shapes check
classes without inference):

- the ``dcat:Catalog`` (the platform), published by the city (``foaf:Agent``);
- one ``dcat:Dataset`` per public entry: title, description, identifier (resource code),
  ``dcat:keyword`` (tags, ``@zh``), publisher (its agency, a ``foaf:Agent``), contact
  point (a ``vcard:Kind``), themes, update frequency (EU frequency vocabulary), issued
  and modified (typed literals), access rights (EU access-right vocabulary: public for
  unconditional entries, restricted for conditional ones), spatial coverage (its region);
- for an unconditional entry with data: one ``dcat:Distribution`` per download format
  (the data API's exports, with EU file types and IANA media types, licence, and the data
  API as ``dcat:accessService``) and one for its Frictionless Data Package;
- the data API and the CKAN API as ``dcat:DataService``;
- themes: a local ``skos:ConceptScheme`` of the domains (所属领域), each domain a
  ``skos:Concept``, plus the matching concept of the EU data theme vocabulary where the
  domain is mapped (``eu_themes.json``; the labels are kept locally, nothing is fetched).

Serialisations: Turtle, RDF/XML and JSON-LD (with its context inline).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, RDFS, SKOS, XSD
from sqlalchemy.orm import Session, selectinload

from gongshu.catalog.models import Dataset, OpenType, UpdateCycle
from gongshu.i18n import N_, translate
from gongshu.orgs.models import Agency, Region
from gongshu.portal import naming
from gongshu.portal.ckan import live_versions
from gongshu.portal.openness import public_entries_query, rows_are_open
from gongshu.settings import get_settings
from gongshu.store.models import DatasetVersion

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
EU = "http://publications.europa.eu/resource/authority/"
EU_THEMES = URIRef(EU + "data-theme")
ZH = URIRef(EU + "language/ZHO")
IANA = "https://www.iana.org/assignments/media-types/"
DATA_PACKAGE_SPEC = URIRef("https://specs.frictionlessdata.io/data-package/")
CKAN_API_SPEC = URIRef("https://docs.ckan.org/en/2.10/api/")

FORMATS: dict[str, str] = {"ttl": "turtle", "rdf": "xml", "jsonld": "json-ld"}
MEDIA_TYPES: dict[str, str] = {
    "ttl": "text/turtle; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
    "jsonld": "application/ld+json; charset=utf-8",
}
#: The JSON-LD context, given inline (a remote context would be fetched by every reader).
CONTEXT: dict[str, str] = {
    "dcat": str(DCAT),
    "dct": str(DCTERMS),
    "foaf": str(FOAF),
    "skos": str(SKOS),
    "vcard": str(VCARD),
    "xsd": str(XSD),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "dcatap": str(DCATAP),
}
FREQUENCIES: dict[UpdateCycle, str] = {
    UpdateCycle.REALTIME: "UPDATE_CONT",
    UpdateCycle.DAILY: "DAILY",
    UpdateCycle.WEEKLY: "WEEKLY",
    UpdateCycle.MONTHLY: "MONTHLY",
    UpdateCycle.QUARTERLY: "QUARTERLY",
    UpdateCycle.HALF_YEARLY: "BIANNUAL",
    UpdateCycle.YEARLY: "ANNUAL",
    UpdateCycle.IRREGULAR: "IRREG",
}
FILE_TYPES: dict[str, str] = {"csv": "CSV", "xlsx": "XLSX", "json": "JSON", "parquet": "PARQUET"}

CATALOG_DESCRIPTION = N_("{city}公共数据开放目录：可开放的公共数据资源及其下载和接口")
THEMES_TITLE = N_("{city}公共数据所属领域")
DATA_API_TITLE = N_("公共数据接口")
CKAN_API_TITLE = N_("CKAN 兼容接口")
DATA_PACKAGE_TITLE = N_("数据包描述（Frictionless Data Package）")


@lru_cache(maxsize=1)
def eu_themes() -> tuple[dict[str, str], dict[str, str]]:
    """(EU theme code → English label, domain → EU theme code)."""
    raw = json.loads((Path(__file__).parent / "eu_themes.json").read_text(encoding="utf-8"))
    return dict(raw["labels"]), dict(raw["domains"])


def _zh(text: str) -> Literal:
    return Literal(text, lang="zh")


def _when(moment: dt.datetime) -> Literal:
    return Literal(moment.astimezone(dt.UTC).replace(microsecond=0), datatype=XSD.dateTime)


class Builder:
    """Adds catalog nodes to one graph, each node once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.g = Graph()
        for prefix, ns in CONTEXT.items():
            self.g.bind(prefix, Namespace(ns))
        self.base = naming.base_url()
        settings = get_settings()
        self.city = translate(settings.city_name, "zh")
        self.licence = URIRef(settings.open_license_url)
        self.publisher = URIRef(f"{self.base}/#publisher")
        self.data_api = URIRef(f"{self.base}/service/data-api")
        self.ckan_api = URIRef(f"{self.base}/service/ckan-api")
        self.scheme = URIRef(f"{self.base}/theme")
        self._done: set[URIRef] = set()

    def once(self, node: URIRef) -> bool:
        """True the first time ``node`` is seen (then add its description)."""
        if node in self._done:
            return False
        self._done.add(node)
        return True

    def add(self, s: URIRef, p: URIRef, o: Any) -> None:
        self.g.add((s, p, o))

    def link(self, url: str) -> URIRef:
        """An address used as a value (download, endpoint, telephone): typed too, so that
        every node of the graph has its ``rdf:type``."""
        node = URIRef(url)
        if self.once(node):
            self.add(node, RDF.type, RDFS.Resource)
        return node

    # shared nodes

    def city_agent(self) -> URIRef:
        node = self.publisher
        if self.once(node):
            self.add(node, RDF.type, FOAF.Agent)
            self.add(node, RDF.type, FOAF.Organization)
            self.add(node, FOAF.name, _zh(self.city))
        return node

    def licence_node(self) -> URIRef:
        if self.once(self.licence):
            settings = get_settings()
            self.add(self.licence, RDF.type, DCTERMS.LicenseDocument)
            self.add(self.licence, DCTERMS.title, Literal(settings.open_license_title))
            self.add(self.licence, DCTERMS.identifier, Literal(settings.open_license_id))
        return self.licence

    def language(self) -> URIRef:
        if self.once(ZH):
            self.add(ZH, RDF.type, DCTERMS.LinguisticSystem)
        return ZH

    def theme_scheme(self) -> URIRef:
        if self.once(self.scheme):
            self.add(self.scheme, RDF.type, SKOS.ConceptScheme)
            self.add(self.scheme, DCTERMS.title, _zh(translate(THEMES_TITLE, "zh", city=self.city)))
        return self.scheme

    def eu_scheme(self) -> URIRef:
        if self.once(EU_THEMES):
            self.add(EU_THEMES, RDF.type, SKOS.ConceptScheme)
            self.add(EU_THEMES, DCTERMS.title, Literal("Data Theme", lang="en"))
        return EU_THEMES

    def themes(self, domain: str) -> list[URIRef]:
        """The local concept of a domain and, where mapped, the EU data theme."""
        if not domain:
            return []
        local = URIRef(naming.theme_url(domain))
        if self.once(local):
            self.add(local, RDF.type, SKOS.Concept)
            self.add(local, SKOS.prefLabel, _zh(domain))
            self.add(local, SKOS.inScheme, self.theme_scheme())
        out = [local]
        labels, mapping = eu_themes()
        code = mapping.get(domain)
        if code in labels:
            eu = URIRef(f"{EU}data-theme/{code}")
            if self.once(eu):
                self.add(eu, RDF.type, SKOS.Concept)
                self.add(eu, SKOS.prefLabel, Literal(labels[code], lang="en"))
                self.add(eu, SKOS.inScheme, self.eu_scheme())
            out.append(eu)
        return out

    def agency(self, agency: Agency) -> URIRef:
        node = URIRef(naming.agency_url(agency))
        if self.once(node):
            self.add(node, RDF.type, FOAF.Agent)
            self.add(node, RDF.type, FOAF.Organization)
            self.add(node, FOAF.name, _zh(agency.name))
            self.add(node, DCTERMS.identifier, Literal(agency.credit_code))
        return node

    def contact(self, agency: Agency) -> URIRef:
        node = URIRef(naming.agency_url(agency) + "#contact")
        if self.once(node):
            self.add(node, RDF.type, VCARD.Kind)
            self.add(node, RDF.type, VCARD.Organization)
            self.add(node, VCARD.fn, _zh(agency.name))
            phone = "".join(c for c in agency.phone if c.isdigit() or c in "+-")
            if phone:
                self.add(node, VCARD.hasTelephone, self.link(f"tel:{phone}"))
            if agency.address:
                address = URIRef(naming.agency_url(agency) + "#address")
                self.add(node, VCARD.hasAddress, address)
                self.add(address, RDF.type, VCARD.Address)
                self.add(address, VCARD["street-address"], _zh(agency.address))
        return node

    def region(self, region: Region) -> URIRef:
        node = URIRef(f"{self.base}/region/{region.code}")
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.Location)
            self.add(node, RDFS.label, _zh(translate(region.name, "zh")))
            self.add(node, DCTERMS.identifier, Literal(region.code))
        return node

    def frequency(self, cycle: UpdateCycle) -> URIRef:
        node = URIRef(f"{EU}frequency/{FREQUENCIES[cycle]}")
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.Frequency)
        return node

    def access_rights(self, open_type: OpenType) -> URIRef:
        code = "PUBLIC" if open_type is OpenType.UNCONDITIONAL else "RESTRICTED"
        node = URIRef(f"{EU}access-right/{code}")
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.RightsStatement)
        return node

    def file_type(self, code: str) -> URIRef:
        node = URIRef(f"{EU}file-type/{code}")
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.MediaTypeOrExtent)
        return node

    def media_type(self, media: str) -> URIRef:
        node = URIRef(IANA + media)
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.MediaType)
        return node

    def standard(self, node: URIRef, title: str) -> URIRef:
        if self.once(node):
            self.add(node, RDF.type, DCTERMS.Standard)
            self.add(node, DCTERMS.title, Literal(title))
        return node

    def services(self) -> tuple[URIRef, URIRef]:
        """The data API and the CKAN API."""
        if self.once(self.data_api):
            s = self.data_api
            self.add(s, RDF.type, DCAT.DataService)
            self.add(s, DCTERMS.title, _zh(translate(DATA_API_TITLE, "zh")))
            self.add(s, DCAT.endpointURL, self.link(f"{self.base}/api/v1/data"))
            self.add(s, DCAT.endpointDescription, self.link(f"{self.base}/api/v1/openapi.json"))
            self.add(s, DCTERMS.publisher, self.city_agent())
            self.add(s, DCTERMS.license, self.licence_node())
        if self.once(self.ckan_api):
            s = self.ckan_api
            self.add(s, RDF.type, DCAT.DataService)
            self.add(s, DCTERMS.title, _zh(translate(CKAN_API_TITLE, "zh")))
            self.add(s, DCAT.endpointURL, self.link(f"{self.base}/api/3/action/"))
            self.add(s, DCTERMS.conformsTo, self.standard(CKAN_API_SPEC, "CKAN Action API 2.10"))
            self.add(s, DCTERMS.publisher, self.city_agent())
            self.add(s, DCTERMS.license, self.licence_node())
        return self.data_api, self.ckan_api

    # entries

    def dataset(self, dataset: Dataset, version: DatasetVersion | None) -> URIRef:
        node = URIRef(naming.dataset_url(dataset))
        if not self.once(node):
            return node
        add = self.add
        add(node, RDF.type, DCAT.Dataset)
        add(node, DCTERMS.title, _zh(dataset.title))
        add(node, DCTERMS.description, _zh(dataset.description.strip() or dataset.title))
        add(node, DCTERMS.identifier, Literal(dataset.code))
        for tag in dataset.tags or []:
            if str(tag).strip():
                add(node, DCAT.keyword, _zh(str(tag).strip()))
        add(node, DCTERMS.publisher, self.agency(dataset.agency))
        add(node, DCAT.contactPoint, self.contact(dataset.agency))
        for theme in self.themes(dataset.domain):
            add(node, DCAT.theme, theme)
        add(node, DCTERMS.accrualPeriodicity, self.frequency(dataset.update_cycle))
        add(node, DCTERMS.accessRights, self.access_rights(dataset.open_type))
        add(node, DCTERMS.language, self.language())
        add(node, DCTERMS.spatial, self.region(dataset.region))
        if dataset.published_on is not None:
            add(node, DCTERMS.issued, Literal(dataset.published_on, datatype=XSD.date))
        modified = dataset.updated_at
        if version is not None and version.published_at > modified:
            modified = version.published_at
        add(node, DCTERMS.modified, _when(modified))
        if version is not None and rows_are_open(dataset):
            for fmt in naming.DOWNLOAD_FORMATS:
                add(node, DCAT.distribution, self.download(dataset, version, node, fmt))
            add(node, DCAT.distribution, self.data_package(dataset, version, node))
            data_api, _ckan = self.services()
            add(data_api, DCAT.servesDataset, node)
        return node

    def download(
        self, dataset: Dataset, version: DatasetVersion, dataset_node: URIRef, fmt: str
    ) -> URIRef:
        node = URIRef(f"{dataset_node}/distribution/{fmt}")
        url = self.link(naming.export_url(dataset, fmt))
        data_api, _ckan = self.services()
        self.add(node, RDF.type, DCAT.Distribution)
        self.add(node, DCTERMS.title, _zh(f"{dataset.title} ({fmt.upper()})"))
        self.add(node, DCAT.accessURL, url)
        self.add(node, DCAT.downloadURL, url)
        self.add(node, DCTERMS.format, self.file_type(FILE_TYPES[fmt]))
        self.add(node, DCAT.mediaType, self.media_type(naming.MEDIA_TYPES[fmt]))
        self.add(node, DCTERMS.license, self.licence_node())
        self.add(node, DCTERMS.modified, _when(version.published_at))
        self.add(node, DCAT.accessService, data_api)
        return node

    def data_package(
        self, dataset: Dataset, version: DatasetVersion, dataset_node: URIRef
    ) -> URIRef:
        node = URIRef(f"{dataset_node}/distribution/datapackage")
        url = self.link(naming.datapackage_url(dataset))
        self.add(node, RDF.type, DCAT.Distribution)
        self.add(node, DCTERMS.title, _zh(translate(DATA_PACKAGE_TITLE, "zh")))
        self.add(node, DCAT.accessURL, url)
        self.add(node, DCAT.downloadURL, url)
        self.add(node, DCTERMS.format, self.file_type("JSON"))
        self.add(node, DCAT.mediaType, self.media_type("application/json"))
        self.add(
            node, DCTERMS.conformsTo, self.standard(DATA_PACKAGE_SPEC, "Frictionless Data Package")
        )
        self.add(node, DCTERMS.license, self.licence_node())
        self.add(node, DCTERMS.modified, _when(version.published_at))
        return node

    def catalog(self, entries: Iterable[tuple[Dataset, DatasetVersion | None]]) -> URIRef:
        node = URIRef(f"{self.base}/catalog")
        settings = get_settings()
        add = self.add
        add(node, RDF.type, DCAT.Catalog)
        add(node, DCTERMS.title, _zh(self.city + translate(settings.platform_name, "zh")))
        add(node, DCTERMS.description, _zh(translate(CATALOG_DESCRIPTION, "zh", city=self.city)))
        add(node, DCTERMS.publisher, self.city_agent())
        homepage = URIRef(f"{self.base}/")
        if self.once(homepage):
            add(homepage, RDF.type, FOAF.Document)
        add(node, FOAF.homepage, homepage)
        add(node, DCTERMS.language, self.language())
        add(node, DCTERMS.license, self.licence_node())
        add(node, DCAT.themeTaxonomy, self.theme_scheme())
        add(node, DCAT.themeTaxonomy, self.eu_scheme())
        data_api, ckan_api = self.services()
        add(node, DCAT.service, data_api)
        add(node, DCAT.service, ckan_api)
        latest: dt.datetime | None = None
        for dataset, version in entries:
            add(node, DCAT.dataset, self.dataset(dataset, version))
            moments = [dataset.updated_at, *([version.published_at] if version else [])]
            latest = max([*moments, *([latest] if latest else [])])
        if latest is not None:
            add(node, DCTERMS.modified, _when(latest))
        return node


def _with_versions(
    session: Session, datasets: list[Dataset]
) -> list[tuple[Dataset, DatasetVersion | None]]:
    versions = live_versions(session, [d.id for d in datasets])
    return [(d, versions.get(d.id)) for d in datasets]


def catalog_graph(session: Session) -> Graph:
    """The whole public catalog."""
    stmt = (
        public_entries_query()
        .order_by(Dataset.code)
        .options(selectinload(Dataset.agency), selectinload(Dataset.region))
    )
    builder = Builder(session)
    builder.catalog(_with_versions(session, list(session.scalars(stmt))))
    return builder.g


def dataset_graph(session: Session, dataset: Dataset) -> Graph:
    """One public entry with the nodes it refers to (publisher, themes, distributions)."""
    builder = Builder(session)
    [(entry, version)] = _with_versions(session, [dataset])
    builder.dataset(entry, version)
    return builder.g


def serialize(graph: Graph, fmt: str) -> bytes:
    """The graph as Turtle (``ttl``), RDF/XML (``rdf``) or JSON-LD (``jsonld``)."""
    if fmt == "jsonld":
        text = graph.serialize(format="json-ld", context=CONTEXT, auto_compact=True)
        return text.encode("utf-8")
    return graph.serialize(format=FORMATS[fmt], encoding="utf-8")


__all__ = [
    "CONTEXT",
    "FORMATS",
    "MEDIA_TYPES",
    "catalog_graph",
    "dataset_graph",
    "eu_themes",
    "serialize",
]

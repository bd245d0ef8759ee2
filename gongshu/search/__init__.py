"""Chinese search over the catalog: a portable token index, pinyin, facets.

Public surface: ``search_datasets(session, actor, SearchQuery) -> SearchResult``.
"""

from gongshu.search.schemas import SearchQuery, SortKey
from gongshu.search.service import FacetCount, SearchResult, search_datasets

__all__ = ["FacetCount", "SearchQuery", "SearchResult", "SortKey", "search_datasets"]

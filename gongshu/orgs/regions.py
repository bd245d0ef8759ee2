"""The demo city's regions: 临沂市 and its 12 districts and counties (GB/T 2260 codes).

Data, not code: the demo loader and ``gongshu agency region-seed`` create these through
``gongshu.orgs.service.seed_regions``. Place names stay in Chinese, as in the standard.
"""

from __future__ import annotations

from typing import NamedTuple


class RegionSeed(NamedTuple):
    code: str
    name: str


CITY = RegionSeed("371300", "临沂市")

DISTRICTS: tuple[RegionSeed, ...] = (
    RegionSeed("371302", "兰山区"),
    RegionSeed("371311", "罗庄区"),
    RegionSeed("371312", "河东区"),
    RegionSeed("371321", "沂南县"),
    RegionSeed("371322", "郯城县"),
    RegionSeed("371323", "沂水县"),
    RegionSeed("371324", "兰陵县"),
    RegionSeed("371325", "费县"),
    RegionSeed("371326", "平邑县"),
    RegionSeed("371327", "莒南县"),
    RegionSeed("371328", "蒙阴县"),
    RegionSeed("371329", "临沭县"),
)

#: Every code above, for lookups (e.g. the known-area warning of ID number checks).
CODES: frozenset[str] = frozenset({CITY.code, *(d.code for d in DISTRICTS)})

"""The open-data portal (公共数据开放): what the public may see, and the ways machines read it.

``openness`` decides which catalog entries are public (one rule for every channel);
``naming`` gives them stable URL names and links; ``ckan`` answers CKAN clients, ``dcat``
exports DCAT-AP 3, ``datapackage`` writes Frictionless descriptors; ``interop`` mounts them.
"""

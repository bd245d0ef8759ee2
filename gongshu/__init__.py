"""Gongshu (公数): a public data management platform for a city's big-data bureau."""

__version__ = "0.1.0"

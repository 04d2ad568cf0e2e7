"""The staff-edited catalogue files (data/catalogue/) and their all-or-nothing import."""

from npq.catalogue.load import (
    CatalogueInvalid,
    ImportSummary,
    import_catalogue,
    read_only,
    unseeded_files,
)
from npq.catalogue.parse import Problem

__all__ = [
    "CatalogueInvalid", "ImportSummary", "Problem", "import_catalogue", "read_only",
    "unseeded_files",
]

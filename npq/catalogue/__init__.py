"""The staff-edited catalogue files (data/catalogue/) and their all-or-nothing import."""

from npq.catalogue.load import (
    CatalogueInvalid,
    ImportSummary,
    catalogue_is_empty,
    import_catalogue,
    read_only,
)
from npq.catalogue.parse import Problem

__all__ = [
    "CatalogueInvalid", "ImportSummary", "Problem", "catalogue_is_empty", "import_catalogue",
    "read_only",
]

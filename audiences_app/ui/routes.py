"""Every page's URL, in one place: links, redirects and tests import them from here."""

INDEX = "/"
COMPANIES = "/companies"
PEOPLE = "/people"
SEGMENTS = "/segments"
SEGMENT_NEW = "/segments/new"  # ?entity=companies|people&f=<filter>
SEGMENT = "/segments/[segment_ref]"  # a saved segment: /segments/12, ?f=<filter> for an edited draft
TABLES = "/tables"
ENRICHMENTS = "/enrichments"
JOBS = "/jobs"
CREDITS = "/credits"
DATA_HUB = "/data-hub"  # ?entity=companies|people
DATA_HUB_IMPORT = "/data-hub/import"
SETTINGS = "/settings"


def segment(segment_id: int) -> str:
    """The builder of one saved segment."""
    return f"{SEGMENTS}/{segment_id}"


def new_segment(entity: str) -> str:
    return f"{SEGMENT_NEW}?entity={entity}"

"""Column mapping: which field each column of an import file lands in.

`suggest_mapping` reads headers the way HubSpot, Salesforce, Apollo and Crunchbase write
them (and the common synonyms), ignoring case, spaces and punctuation; the user changes any
of it with `change_mapping`. A column lands in a core field (a typed column), in a known
custom field (`ticker`, `company_name`…), in `location` (split into city, region and
country), or — when the user asks — in a custom field of its own, typed text, number, date
or boolean and stored in the record's attributes. Anything else is not imported.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace

from audiences_app.core.catalog import CORE_FIELDS, ENTITIES

CUSTOM_TYPES = ("text", "number", "date", "boolean")
LOCATION = "location"
"""A virtual target: "Saint Paul, Minnesota" fills city and region, "Dublin, Ireland" city and country."""

_STORED_ELSEWHERE = {"tags", "source", "created_at", "updated_at", "archived_at"}
CORE_TARGETS: dict[str, list[str]] = {
    entity: [f.key for f in fields if f.key not in _STORED_ELSEWHERE] for entity, fields in CORE_FIELDS.items()
}
IDENTITY_FIELDS: dict[str, tuple[str, ...]] = {
    "companies": ("domain", "linkedin_url", "crm_id"),
    "people": ("email", "linkedin_url", "phone", "crm_id"),
}
IDENTITY_SOURCES: dict[str, tuple[str, ...]] = {
    "companies": ("domain", "website", "linkedin_url", "crm_id"),
    "people": ("email", "linkedin_url", "phone", "crm_id"),
}

# Header spellings per target, best first: when two columns fit one target, the column whose
# spelling comes first wins ("founded_year" over "founded_at") and the other is left out.
_SYNONYMS: dict[str, dict[str, list[str]]] = {
    "companies": {
        "name": ["Company name", "Account Name", "Company", "Name", "Organization Name", "Organization",
                 "Business Name", "Legal Name"],
        "domain": ["Company Domain Name", "Domain", "Company Domain", "Domain Name", "Primary Domain",
                   "Website Domain"],
        "website": ["Website URL", "Website", "homepage_url", "Homepage URL", "Homepage", "Company Website",
                    "Web Site", "URL", "Web Address", "Site"],
        "linkedin_url": ["LinkedIn Company Page", "Company Linkedin Url", "LinkedIn URL", "LinkedIn",
                         "LinkedIn Company URL", "LinkedIn Page"],
        "industry": ["Industry", "category_code", "Category", "GICS Sector", "Sector", "Vertical",
                     "Primary Industry", "Industries"],
        "employee_count": ["Number of Employees", "# Employees", "Employees", "Employee Count",
                           "No. of Employees", "Headcount", "Staff Count", "Estimated Num Employees",
                           "Company Size"],
        "annual_revenue": ["Annual Revenue", "Revenue", "Annual Revenue (USD)", "Estimated Annual Revenue"],
        "country": ["Country/Region", "Country", "Billing Country", "Company Country", "country_code",
                    "Country Code", "HQ Country", "Headquarters Country"],
        "region": ["State/Region", "State", "state_code", "State Code", "Billing State/Province",
                   "Billing State", "Company State", "State/Province", "Province", "Region"],
        "city": ["City", "Billing City", "Company City", "HQ City", "Headquarters City", "Town"],
        "founded_year": ["Year Founded", "Founded Year", "founded_year", "Founded", "Founding Year",
                         "Founded Date", "founded_at"],
        "description": ["Description", "Company Description", "About", "Overview", "Short Description",
                        "About Us"],
        "crm_id": ["Record ID", "Account ID", "Apollo Account Id", "CRM ID", "HubSpot ID", "Salesforce ID",
                   "SFDC ID", "Company ID"],
        LOCATION: ["Headquarters Location", "Location", "HQ Location", "Headquarters", "Company Location"],
        "ticker": ["Symbol", "Ticker", "Ticker Symbol", "Stock Symbol"],
        "total_funding": ["funding_total_usd", "Total Funding", "Total Funding (USD)", "Total Funding Amount"],
        "phone": ["Phone Number", "Phone", "Company Phone"],
        "lifecycle_stage": ["Lifecycle Stage"],
        "account_type": ["Type", "Account Type"],
        "twitter_url": ["Twitter Url", "Twitter"],
        "facebook_url": ["Facebook Url", "Facebook"],
        "technologies": ["Technologies"],
        "keywords": ["Keywords"],
    },
    "people": {
        "first_name": ["First Name", "First", "Given Name", "FirstName"],
        "last_name": ["Last Name", "Last", "Surname", "Family Name", "LastName"],
        "full_name": ["Full Name", "Name", "Contact Name", "Contact", "Person Name"],
        "email": ["Email", "Email Address", "Work Email", "Business Email", "Primary Email", "Email 1"],
        "linkedin_url": ["Person Linkedin Url", "LinkedIn URL", "LinkedIn", "LinkedIn Profile",
                         "LinkedIn Profile URL", "Profile URL"],
        "phone": ["Phone Number", "Phone", "Mobile Phone", "Mobile Phone Number", "Mobile", "Work Phone",
                  "Work Direct Phone", "Direct Phone", "Corporate Phone", "Business Phone", "Telephone",
                  "Cell"],
        "title": ["Job Title", "Title", "Position", "Role", "Designation"],
        "seniority": ["Seniority", "Seniority Level", "Level"],
        "department": ["Departments", "Department", "Function", "Job Function"],
        "company_domain": ["Company Domain Name", "Company Domain", "Company Website", "Website",
                           "Company URL", "Domain", "Website URL", "Account Website"],
        "country": ["Country/Region", "Country", "Mailing Country", "Person Country", "Contact Country",
                    "Country Code"],
        "city": ["City", "Mailing City", "Person City", "Contact City"],
        "crm_id": ["Record ID", "Contact ID", "Lead ID", "Apollo Contact Id", "Person ID", "CRM ID",
                   "HubSpot ID", "Salesforce ID"],
        LOCATION: ["Location", "Person Location"],
        "company_name": ["Company Name", "Company", "Account Name", "Organization Name", "Organization"],
        "state": ["State/Region", "State", "Mailing State/Province", "Mailing State", "Province", "Region"],
        "company_linkedin_url": ["Company Linkedin Url"],
        "apollo_account_id": ["Apollo Account Id"],
        "lifecycle_stage": ["Lifecycle Stage"],
        "lead_status": ["Lead Status"],
        "email_status": ["Email Status"],
    },
}  # fmt: skip

KNOWN_CUSTOM_TYPES = {"total_funding": "number"}
"""Known custom fields that are not text."""

_PRESET_SIGNS = {
    "HubSpot": ["Record ID", "Company Domain Name", "Lifecycle Stage", "Country/Region"],
    "Salesforce": ["Account ID", "Contact ID", "Lead ID", "Billing Country", "Mailing Country", "Account Name"],
    "Apollo": ["Apollo Account Id", "Apollo Contact Id", "# Employees", "Person Linkedin Url",
               "Company Linkedin Url"],
    "Crunchbase": ["permalink", "homepage_url", "category_code", "funding_total_usd"],
}  # fmt: skip

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
CUSTOM_KEY = re.compile(r"[a-z][a-z0-9_]{0,79}")


def header_key(header: str) -> str:
    """How a header is compared: case, spaces and punctuation ignored ("Country/Region" → "countryregion")."""
    return _NOT_ALNUM.sub("", header.casefold().replace("&", "and"))


_INDEX: dict[str, dict[str, tuple[str, int]]] = {
    entity: {
        header_key(spelling): (target, rank)
        for target, spellings in targets.items()
        for rank, spelling in enumerate(spellings)
    }
    for entity, targets in _SYNONYMS.items()
}


def custom_key(header: str) -> str:
    """A custom field key from a header: "Lead Score (2024)" → "lead_score_2024"."""
    key = _NOT_ALNUM.sub("_", header.casefold()).strip("_")[:80].strip("_") or "field"
    return key if key[0].isalpha() else f"f_{key}"[:80]


@dataclass(frozen=True)
class ColumnMap:
    column: str
    field: str | None
    """Target key: a core field, `location`, or a custom field key; None = not imported."""
    type: str | None = None
    """For custom fields: text, number, date or boolean (None: not chosen yet, read as text)."""
    by_user: bool = False


@dataclass(frozen=True)
class Mapping:
    entity: str
    columns: list[ColumnMap]
    preset: str | None = None
    notes: list[str] = field(default_factory=list)

    def targets(self) -> dict[str, str]:
        """field → column, for the columns that are imported."""
        return {c.field: c.column for c in self.columns if c.field}

    def custom_fields(self) -> dict[str, tuple[str, str]]:
        """custom field key → (type, column), for the columns that land in attributes."""
        return {c.field: (c.type or "text", c.column) for c in self.columns
                if c.field and is_custom(self.entity, c.field)}

    def identity_columns(self) -> list[str]:
        """The columns that can give a record its identity key."""
        return [c.column for c in self.columns if c.field in IDENTITY_SOURCES[self.entity]]

    def untyped_custom_columns(self) -> list[str]:
        """Custom-field columns whose type nobody chose yet (to be inferred from the data)."""
        return [c.column for c in self.columns if c.field and is_custom(self.entity, c.field) and c.type is None]

    def to_params(self) -> dict:
        return asdict(self)

    @classmethod
    def from_params(cls, params: dict) -> Mapping:
        return cls(
            entity=params["entity"], columns=[ColumnMap(**c) for c in params["columns"]],
            preset=params.get("preset"), notes=list(params.get("notes", [])),
        )


def is_custom(entity: str, key: str) -> bool:
    return key not in CORE_TARGETS[entity] and key != LOCATION


def detect_preset(headers: list[str]) -> str | None:
    """The CRM or source whose export these headers look like, for display."""
    keys = {header_key(h) for h in headers}
    scores = {name: sum(header_key(s) in keys for s in signs) for name, signs in _PRESET_SIGNS.items()}
    name, score = max(scores.items(), key=lambda item: item[1])
    return name if score >= 2 else None


def suggest_mapping(entity: str, headers: list[str], *, keep_unmapped: bool = False,
                    custom_types: dict[str, str] | None = None) -> Mapping:
    """The automatic mapping of `headers`; unmapped columns become custom fields if `keep_unmapped`.

    `custom_types` gives the type of a custom field by key (from the catalog or from
    `infer_type` over sample values); text when unknown.
    """
    if entity not in ENTITIES:
        raise ValueError(f"Unknown entity {entity!r}: use one of {', '.join(ENTITIES)}.")
    index = _INDEX[entity]
    best: dict[str, tuple[int, int]] = {}  # target → (rank, position)
    for position, header in enumerate(headers):
        found = index.get(header_key(header))
        if found:
            target, rank = found
            if target not in best or rank < best[target][0]:
                best[target] = (rank, position)
    chosen = {position: target for target, (_, position) in best.items()}
    notes = []
    columns = []
    for position, header in enumerate(headers):
        target = chosen.get(position)
        if target is None and (found := index.get(header_key(header))):
            notes.append(
                f"Column {header!r} could be {found[0]!r}, but {headers[best[found[0]][1]]!r} is used for it."
            )
        columns.append(ColumnMap(header, target, _custom_type(entity, target, custom_types)))
    mapping = Mapping(entity, columns, detect_preset(headers), notes)
    return change_mapping(mapping, {}, keep_unmapped=keep_unmapped, custom_types=custom_types)


def _custom_type(entity: str, key: str | None, custom_types: dict[str, str] | None) -> str | None:
    if key is None or not is_custom(entity, key):
        return None
    return (custom_types or {}).get(key) or KNOWN_CUSTOM_TYPES.get(key)


def change_mapping(
    mapping: Mapping,
    overrides: dict[str, str | None],
    *,
    types: dict[str, str] | None = None,
    keep_unmapped: bool | None = None,
    custom_types: dict[str, str] | None = None,
) -> Mapping:
    """Apply the user's choices: `overrides` maps a column to a field key (None or "" = skip).

    A key that is no core field is a custom field (`types` gives its type by column, else
    `custom_types` by key, else text). A field chosen for one column is taken away from
    any other column that had it. `keep_unmapped` turns every column still unmapped into a
    custom field named after it. Raises ValueError naming the column for unknown columns,
    bad keys and bad types.
    """
    entity = mapping.entity
    types = types or {}
    known = {c.column for c in mapping.columns}
    for column in [*overrides, *types]:
        if column not in known:
            raise ValueError(f"The file has no column {column!r}; its columns are {', '.join(sorted(known))}.")
    columns = list(mapping.columns)
    for column, target in overrides.items():
        target = (target or "").strip() or None
        if target is not None and target not in CORE_TARGETS[entity] and target != LOCATION:
            if not CUSTOM_KEY.fullmatch(target):
                raise ValueError(
                    f"Column {column!r}: {target!r} is not a field. Use a core field "
                    f"({', '.join(CORE_TARGETS[entity])}), 'location', or a custom field key made of "
                    "lower-case letters, digits and _ that starts with a letter."
                )
        columns = [
            replace(c, field=None, type=None) if target and c.field == target and c.column != column else c
            for c in columns
        ]
        columns = [
            replace(c, field=target, type=_custom_type(entity, target, custom_types), by_user=True)
            if c.column == column else c
            for c in columns
        ]
    if keep_unmapped:
        taken = {c.field for c in columns if c.field}
        kept = []
        for c in columns:
            if c.field is None and not (c.by_user and c.column in overrides):
                key = custom_key(c.column)
                while key in taken or key in CORE_TARGETS[entity] or key == LOCATION:
                    key = f"{key}_2"[:80]
                taken.add(key)
                c = replace(c, field=key, type=_custom_type(entity, key, custom_types))
            kept.append(c)
        columns = kept
    for column, kind in types.items():
        if kind not in CUSTOM_TYPES:
            raise ValueError(f"Column {column!r}: type {kind!r} is not one of {', '.join(CUSTOM_TYPES)}.")
        columns = [replace(c, type=kind) if c.column == column and c.field and is_custom(entity, c.field) else c
                   for c in columns]
    return replace(mapping, columns=columns)

"""Derived fields, offline and free: size band, world region from country, email domain, and
the lookalike group (industry × size band × region) that segments use to find look-alikes."""

from __future__ import annotations

from typing import Any

from audiences_app.core.enrichment.providers.base import CallContext, Output, Provider, SpecError
from audiences_app.core.normalize import normalize_domain, normalize_email

SIZE_BANDS = [(10, "1-10"), (50, "11-50"), (200, "51-200"), (500, "201-500"), (1_000, "501-1000"),
              (5_000, "1001-5000"), (10_000, "5001-10000")]
LARGEST_BAND = "10001+"

NORTH_AMERICA = {"US", "CA", "PM", "BM", "GL", "UM"}
LATIN_AMERICA = set(
    "MX GT BZ SV HN NI CR PA CU DO HT JM PR BS BB TT AG DM GD KN LC VC AW CW SX BQ KY TC VG VI AI MS GP MQ BL MF "
    "CO VE EC PE BO CL AR UY PY BR GY SR GF FK".split())
ASIA_PACIFIC = set(
    "CN JP KR KP TW HK MO MN IN PK BD LK NP BT MV AF SG MY ID TH VN PH KH LA MM BN TL AU NZ PG FJ SB VU NC PF WS "
    "TO KI TV NR FM MH PW CK NU TK WF AS GU MP NF CX CC HM KZ KG TJ TM UZ IO".split())
EMEA = set(
    "GB IE FR DE NL BE LU CH AT IT ES PT AD MC SM VA MT DK NO SE FI IS FO AX SJ EE LV LT PL CZ SK HU SI HR BA RS ME "
    "MK AL XK GR CY BG RO MD UA BY RU GE AM AZ TR IL PS JO LB SY IQ IR SA AE QA BH KW OM YE EG LY TN DZ MA EH SD SS "
    "ET ER DJ SO KE UG TZ RW BI CD CG GA GQ CM CF TD NE NG BJ TG GH CI LR SL GN GW SN GM ML BF MR CV ST AO ZM ZW MW "
    "MZ MG MU SC KM YT RE NA BW ZA LS SZ SH GI GG JE IM".split())
REGIONS = {**{c: "North America" for c in NORTH_AMERICA}, **{c: "Latin America" for c in LATIN_AMERICA},
           **{c: "APAC" for c in ASIA_PACIFIC}, **{c: "EMEA" for c in EMEA}}

OUTPUTS = {
    "companies": {"size_band": "Size band", "world_region": "World region", "lookalike_group": "Lookalike group"},
    "people": {"email_domain": "Email domain", "world_region": "World region"},
}


def size_band(employees: Any) -> str | None:
    if not isinstance(employees, (int, float)) or isinstance(employees, bool) or employees < 1:
        return None
    for upper, band in SIZE_BANDS:
        if employees <= upper:
            return band
    return LARGEST_BAND


def world_region(country: Any) -> str | None:
    return REGIONS.get(country.strip().upper()) if isinstance(country, str) else None


def lookalike_group(industry: Any, band: str | None, region: str | None) -> str | None:
    if not (isinstance(industry, str) and industry.strip() and band and region):
        return None
    return f"{industry.strip().lower()} · {band} · {region}"


class DerivedProvider(Provider):
    kind = "derived"

    def __init__(self, spec: dict, *, entity: str):
        super().__init__(spec)
        if entity not in OUTPUTS:
            raise SpecError(f"derived fields exist for companies and people, not {entity!r}")
        self.entity = entity
        self.inputs = ("employee_count", "country", "industry") if entity == "companies" else ("email", "country")
        self.outputs = {name: Output(name, "text", label) for name, label in OUTPUTS[entity].items()}

    def read_inputs(self, record: dict) -> dict | None:
        return {name: record.get(name) for name in self.inputs}

    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        return self.derive(inputs)

    def derive(self, inputs: dict) -> dict[str, Any]:
        region = world_region(inputs.get("country"))
        if self.entity == "people":
            email = normalize_email(inputs.get("email")) if isinstance(inputs.get("email"), str) else None
            return {"email_domain": normalize_domain(email) if email else None, "world_region": region}
        band = size_band(inputs.get("employee_count"))
        return {"size_band": band, "world_region": region,
                "lookalike_group": lookalike_group(inputs.get("industry"), band, region)}

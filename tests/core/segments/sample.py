"""The hand-made sample: a few companies and people with every awkward case a filter meets.

NULLs, empty and blank strings, mixed case, surrounding spaces, non-ASCII letters, LIKE
wildcards, quotes and backslashes in values, JSON attributes of the wrong type, dates that
are not dates, a record created exactly at the clock and one a microsecond after it, people
without a company, blank tag names. Records are named by their crm_id. The clock is AS_OF.
"""

from __future__ import annotations

from datetime import datetime

from .conftest import Dataset, load_dataset

COMPANIES = {
    "acme": dict(name="Acme Corp", domain="acme.com", industry="software", employee_count=250,
                 annual_revenue=50_000_000, country="US", city="San Francisco", founded_year=2001,
                 created_at=datetime(2024, 5, 20, 9),
                 attributes={"stage": "Series A", "score": 87.5, "verified": True, "funded_on": "2023-11-15",
                             "seen_at": "2024-05-31T08:15:00Z", "techs": ["React", "AWS"]},
                 tags=["VIP", "partner"]),
    "biolab": dict(name="  BioLab  ", domain="biolab.io", industry="biotech", employee_count=50,
                   country="GB", city="London", founded_year=2015, created_at=datetime(2024, 6, 1, 12),
                   attributes={"stage": "seed", "score": 12, "verified": False, "funded_on": "2024-05-01",
                               "seen_at": "2024-06-01 12:00:00", "techs": ["aws", "  "]},
                   tags=["vip"]),
    "blank": dict(name="", city="   ", created_at=datetime(2023, 1, 1)),
    "ecole": dict(name="ÉCOLE Straße", domain="ecole.fr", industry="Éducation", employee_count=500,
                  country="FR", city="Paris", founded_year=1900, created_at=datetime(2024, 5, 2, 11, 59, 59),
                  attributes={"stage": "", "score": "87", "verified": "yes", "funded_on": "not a date",
                              "seen_at": "2024-06-01", "techs": "aws"},
                  tags=["  "]),
    "juice": dict(name="100% Pure_Juice", domain="juice.com", industry="SOFTWARE ", employee_count=0,
                  country="us", created_at=datetime(2024, 5, 2, 12),
                  attributes={"stage": 42, "score": True, "verified": 1, "funded_on": 20240101,
                              "seen_at": "2024-06-01 10:11", "techs": [1, None, "  ", "Kafka"]},
                  tags=["Partner"]),
    "oreilly": dict(name='O\'Reilly "Media"', domain="oreilly.com", industry="media", employee_count=5000,
                    annual_revenue=10**12, country="US", created_at=datetime(2024, 7, 1),
                    attributes={"stage": None, "score": -3, "funded_on": "2024-02-29T10:00:00",
                                "seen_at": "2024-05-31T23:59:59.999"}),
    "back": dict(name="Back\\slash", domain="back.net", industry="software", employee_count=51, country="DE",
                 created_at=datetime(2024, 6, 1, 12, 0, 0, 1),
                 attributes={"stage": "SERIES A", "score": 50, "funded_on": "2024-06-01", "techs": []}),
}
PEOPLE = {
    "ann": dict(full_name="Ann Lee", email="ann@acme.com", title="VP Sales", seniority="vp", company="acme",
                country="US", attributes={"persona": "Buyer", "score": 10, "opted_in": True, "birthday": "1990-06-01",
                                          "last_login": "2024-05-31T10:00:00", "skills": ["SQL", "Python"]},
                tags=["champion"]),
    "bob": dict(full_name="bob", email="bob@biolab.io", seniority="", company="biolab",
                attributes={"persona": "user", "score": 3.5, "opted_in": False}),
    "cat": dict(full_name="Cat", email="cat@example.com", company=None, tags=["Champion", "lead"]),
    "dan": dict(email="dan@blank.org", company="blank", attributes={"score": "ten"}),
    "eve": dict(full_name="Ève", email="eve@ecole.fr", company="ecole", attributes={"persona": "  "},
                tags=[" lead "]),
    "fay": dict(full_name="Fay", email="fay@juice.com", company="juice", attributes={"skills": "SQL"}),
}


def _rows(records: dict, **extra) -> list[dict]:
    return [{**{k: v for k, v in spec.items() if k != "company"}, "crm_id": key, **extra.get(key, {})}
            for key, spec in records.items()]


def load_sample(engine) -> Dataset:
    def people(company_ids):
        by_key = dict(zip(COMPANIES, company_ids, strict=True))
        return _rows(PEOPLE, **{k: {"company_id": by_key.get(p["company"])} for k, p in PEOPLE.items()})

    return load_dataset(engine, _rows(COMPANIES), people)

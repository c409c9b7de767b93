"""Column mapping: CRM export headers and synonyms, priorities, the user's changes."""

from __future__ import annotations

import pytest

from audiences_app.core.imports.mapping import change_mapping, custom_key, detect_preset, suggest_mapping


def _targets(entity, headers, **options):
    return {c.column: c.field for c in suggest_mapping(entity, headers, **options).columns if c.field}


def test_hubspot_company_export():
    headers = ["Record ID", "Company name", "Company Domain Name", "Website URL", "Industry", "Number of Employees",
               "Annual Revenue", "Country/Region", "State/Region", "City", "Year Founded", "LinkedIn Company Page",
               "Lifecycle Stage", "Company owner"]
    assert _targets("companies", headers) == {
        "Record ID": "crm_id", "Company name": "name", "Company Domain Name": "domain", "Website URL": "website",
        "Industry": "industry", "Number of Employees": "employee_count", "Annual Revenue": "annual_revenue",
        "Country/Region": "country", "State/Region": "region", "City": "city", "Year Founded": "founded_year",
        "LinkedIn Company Page": "linkedin_url", "Lifecycle Stage": "lifecycle_stage",
    }
    assert detect_preset(headers) == "HubSpot"


def test_hubspot_contact_export():
    headers = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Job Title", "Company Name",
               "Country/Region", "City", "Lead Status"]
    assert _targets("people", headers) == {
        "Record ID": "crm_id", "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Phone Number": "phone", "Job Title": "title", "Company Name": "company_name", "Country/Region": "country",
        "City": "city", "Lead Status": "lead_status",
    }


def test_salesforce_account_and_contact_exports():
    account = ["Account ID", "Account Name", "Website", "Industry", "Employees", "Annual Revenue", "Billing Country",
               "Billing State/Province", "Billing City", "Type"]
    assert _targets("companies", account) == {
        "Account ID": "crm_id", "Account Name": "name", "Website": "website", "Industry": "industry",
        "Employees": "employee_count", "Annual Revenue": "annual_revenue", "Billing Country": "country",
        "Billing State/Province": "region", "Billing City": "city", "Type": "account_type",
    }
    assert detect_preset(account) == "Salesforce"
    contact = ["Contact ID", "First Name", "Last Name", "Title", "Email", "Phone", "Mailing Country", "Mailing City",
               "Account Name", "Lead ID"]
    targets = _targets("people", contact)
    assert targets["Contact ID"] == "crm_id" and "Lead ID" not in targets
    assert (targets["Title"], targets["Mailing Country"], targets["Account Name"]) == ("title", "country", "company_name")


def test_apollo_people_export():
    headers = ["First Name", "Last Name", "Title", "Company", "Email", "Seniority", "Departments", "Person Linkedin Url",
               "Website", "Company Linkedin Url", "# Employees", "Country", "Apollo Contact Id", "Apollo Account Id",
               "Mobile Phone", "Email Status"]
    assert _targets("people", headers) == {
        "First Name": "first_name", "Last Name": "last_name", "Title": "title", "Company": "company_name",
        "Email": "email", "Seniority": "seniority", "Departments": "department",
        "Person Linkedin Url": "linkedin_url", "Website": "company_domain",
        "Company Linkedin Url": "company_linkedin_url", "Country": "country", "Apollo Contact Id": "crm_id",
        "Apollo Account Id": "apollo_account_id", "Mobile Phone": "phone", "Email Status": "email_status",
    }
    assert detect_preset(headers) == "Apollo"


def test_apollo_company_export():
    headers = ["Company", "Website", "# Employees", "Industry", "Company Linkedin Url", "Company Country",
               "Apollo Account Id", "Technologies"]
    assert _targets("companies", headers) == {
        "Company": "name", "Website": "website", "# Employees": "employee_count", "Industry": "industry",
        "Company Linkedin Url": "linkedin_url", "Company Country": "country", "Apollo Account Id": "crm_id",
        "Technologies": "technologies",
    }


def test_crunchbase_columns_and_the_better_of_two_candidates_wins():
    headers = ["permalink", "name", "homepage_url", "category_code", "funding_total_usd", "status", "country_code",
               "state_code", "region", "city", "founded_at", "founded_year"]
    mapping = suggest_mapping("companies", headers)
    assert {c.column: c.field for c in mapping.columns if c.field} == {
        "name": "name", "homepage_url": "website", "category_code": "industry", "funding_total_usd": "total_funding",
        "country_code": "country", "state_code": "region", "city": "city", "founded_year": "founded_year",
    }
    assert "Column 'founded_at' could be 'founded_year', but 'founded_year' is used for it." in mapping.notes
    assert mapping.preset == "Crunchbase"


def test_headers_match_ignoring_case_spaces_and_punctuation():
    assert _targets("companies", ["  COMPANY-DOMAIN name ", "e-mail", "country / region"]) == {
        "  COMPANY-DOMAIN name ": "domain", "country / region": "country"}
    assert _targets("people", ["E-Mail", "job_title", "LINKEDIN URL"]) == {
        "E-Mail": "email", "job_title": "title", "LINKEDIN URL": "linkedin_url"}


def test_the_user_moves_a_field_to_another_column_and_skips_one():
    mapping = suggest_mapping("companies", ["Company", "Legal name", "Website", "Notes"])
    changed = change_mapping(mapping, {"Legal name": "name", "Website": ""})
    assert {c.column: c.field for c in changed.columns} == {
        "Company": None, "Legal name": "name", "Website": None, "Notes": None}


def test_unmapped_columns_become_custom_fields_when_asked():
    mapping = suggest_mapping("companies", ["Company", "Website", "Lead Score (2024)", "name_2"], keep_unmapped=True)
    assert {c.column: c.field for c in mapping.columns} == {
        "Company": "name", "Website": "website", "Lead Score (2024)": "lead_score_2024", "name_2": "name_2"}
    assert custom_key("2024 Budget") == "f_2024_budget"


def test_a_custom_field_chosen_by_the_user_gets_its_type():
    mapping = change_mapping(suggest_mapping("companies", ["Website", "Score"]), {"Score": "score"},
                             types={"Score": "number"})
    assert [(c.field, c.type) for c in mapping.columns] == [("website", None), ("score", "number")]


@pytest.mark.parametrize("overrides, types, message", [
    ({"Nope": "name"}, None, "The file has no column 'Nope'"),
    ({"Score": "Bad Key"}, None, "'Bad Key' is not a field"),
    ({"Score": "score"}, {"Score": "money"}, "type 'money' is not one of text, number, date, boolean"),
])
def test_a_wrong_change_names_the_column(overrides, types, message):
    with pytest.raises(ValueError, match=message):
        change_mapping(suggest_mapping("companies", ["Website", "Score"]), overrides, types=types)


def test_a_mapping_round_trips_through_run_params():
    from audiences_app.core.imports.mapping import Mapping

    mapping = suggest_mapping("people", ["Email", "Lead Score"], keep_unmapped=True)
    assert Mapping.from_params(mapping.to_params()) == mapping

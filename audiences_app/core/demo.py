"""A realistic, deterministic demo workspace: companies, their people, tags and custom fields.

`load_demo` fills a workspace with millions of records fast enough to try the product at
scale (1M companies + 3M people in 3-5 minutes on 2 cores, bench/README.md): values are
drawn column-wise with numpy, rows are built with `zip` over columns, and everything is
written through `bulk_insert` in transactions of `CHUNK_ROWS` rows, so memory stays flat and
progress can be reported. Into empty tables, indexes are built once at the end
(`indexes_deferred`); into tables that hold other workspaces' records, the search index
follows each chunk in a few set-based statements (`text_search.batched`).

Determinism: the same seed, sizes and CHUNK_ROWS give the same values on every machine and
backend (with the same numpy). Every chunk draws from its own generator, seeded with (seed,
stream, chunk number), and no value depends on the clock: timestamps are spread over the
two years before `epoch` (DEMO_EPOCH unless given). Another epoch moves every time by the
same amount (and founding years by whole years); the CLI passes the load day, so that "created
in the last 30 days" finds the newest demo records. Ids are the next free ones of the
database, so they differ.

Identity keys are unique by construction, never by retrying: a company's domain label is a
bijection of its index (see `_CompanyNames`), and phone numbers, LinkedIn slugs and CRM ids
come from bijections of the record index. Emails are firstname.lastname@<company domain>,
with a number added on a collision inside one company.

Policy: the demo goes into a workspace of its own. Loading into a workspace that already
has companies or people is refused (DemoWorkspaceNotEmpty): a second load would repeat the
first one's identity keys, and appending safely would need a record of where the first
load stopped, which the database does not keep. Use another slug to load another demo.
"""

from __future__ import annotations

import contextlib
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from math import gcd

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from audiences_app.core import text_search
from audiences_app.core.bulk import (
    analyze,
    bulk_insert,
    claim_next_id,
    ensure_indexes,
    indexes_deferred,
    reset_id_sequence,
)
from audiences_app.core.db import write_transaction
from audiences_app.core.models import Company, CompanyTag, FieldDef, Person, PersonTag, Tag, naive_utc
from audiences_app.core.workspaces import ensure_workspace

DEMO_EPOCH = datetime(2026, 1, 1)
"""The default epoch: demo records are created during the two years before it (naive UTC)."""
HISTORY = timedelta(days=730)
CHUNK_ROWS = 50_000
"""Rows per write transaction; also the unit each chunk's random generator covers."""
MAX_PEOPLE_WITH_PHONE = 8_000_000
"""Phone numbers are a bijection of the person index onto 8,000,000 subscriber numbers."""

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoReport:
    workspace_id: int
    companies: int
    people: int
    tags: int
    """Tag assignments written (company_tag + person_tag rows)."""
    seconds: float
    rows_per_second: float
    """All rows written (companies, people and tag assignments) per second."""


class DemoWorkspaceNotEmpty(RuntimeError):
    """The workspace chosen for the demo already holds records."""


# =========================================================================== reference data

INDUSTRIES = [
    # (industry, what such a company offers) — in order of frequency (Zipf-like weights)
    ("software", "workflow software that replaces spreadsheets"),
    ("information technology", "managed IT services and cloud migrations"),
    ("financial services", "payments and treasury tools"),
    ("marketing and advertising", "performance marketing campaigns"),
    ("health care", "outpatient care and care coordination"),
    ("retail", "everyday products through stores and online"),
    ("manufacturing", "precision parts and contract manufacturing"),
    ("consulting", "strategy and operations consulting"),
    ("education", "courses, tutoring and learning platforms"),
    ("real estate", "commercial property management"),
    ("construction", "commercial construction and renovation"),
    ("biotech", "antibody discovery and preclinical research"),
    ("hospitality", "boutique hotels and event venues"),
    ("logistics and supply chain", "freight forwarding and warehouse automation"),
    ("telecommunications", "business connectivity and voice services"),
    ("media and entertainment", "streaming content and live events"),
    ("insurance", "commercial insurance for growing businesses"),
    ("e-commerce", "direct-to-consumer brands and online stores"),
    ("automotive", "vehicle components and fleet services"),
    ("food and beverage", "packaged foods and specialty drinks"),
    ("pharmaceuticals", "generic and specialty medicines"),
    ("legal services", "corporate and employment law advice"),
    ("nonprofit", "community programs and advocacy"),
    ("energy", "energy trading and grid services"),
    ("computer hardware", "servers, storage and edge devices"),
    ("cybersecurity", "threat detection and identity security"),
    ("human resources", "recruiting, payroll and HR software"),
    ("architecture and design", "architecture and interior design"),
    ("medical devices", "diagnostic and monitoring devices"),
    ("government", "public services and administration"),
    ("banking", "business and retail banking"),
    ("venture capital", "early-stage venture funding"),
    ("accounting", "audit, tax and bookkeeping services"),
    ("aerospace", "satellite components and flight systems"),
    ("agriculture", "crop science and farm management"),
    ("apparel and fashion", "apparel, footwear and accessories"),
    ("gaming", "mobile and console games"),
    ("renewables", "solar and wind projects"),
    ("transportation", "passenger transport and mobility services"),
    ("semiconductors", "chip design and testing"),
]
AUDIENCES = [
    "mid-market companies", "enterprises", "small businesses", "public agencies",
    "consumers", "retailers", "hospitals and clinics", "manufacturers", "startups",
    "financial institutions", "schools and universities", "logistics providers",
]
SIZE_WORDS = ["small", "growing", "mid-sized", "large", "global"]

# Countries: (ISO code, name, weight, ccTLD or None, calling code, name locale,
#             mobile prefixes, [(region, city, weight), ...]). A prefix followed by any
#             7 digits starting 2-9 is a valid mobile number (tested with phonenumbers);
#             people in a country without prefixes have no phone.
COUNTRIES = [
    ("US", "United States", 45.0, None, "1", "en",
     ["415", "212", "646", "312", "617", "206", "512", "303", "404", "305", "213", "720",
      "469", "214", "713", "503", "615", "602", "919", "704"],
     [("California", "San Francisco", 10), ("California", "Los Angeles", 7),
      ("California", "San Jose", 3), ("California", "San Diego", 3),
      ("New York", "New York", 14), ("Texas", "Austin", 5), ("Texas", "Dallas", 4),
      ("Texas", "Houston", 4), ("Massachusetts", "Boston", 6), ("Washington", "Seattle", 5),
      ("Illinois", "Chicago", 6), ("Colorado", "Denver", 3), ("Georgia", "Atlanta", 4),
      ("Florida", "Miami", 3), ("Florida", "Tampa", 1.5), ("Pennsylvania", "Philadelphia", 2.5),
      ("Pennsylvania", "Pittsburgh", 1.2), ("North Carolina", "Raleigh", 1.5),
      ("North Carolina", "Charlotte", 1.5), ("Utah", "Salt Lake City", 1.5),
      ("Oregon", "Portland", 1.5), ("Minnesota", "Minneapolis", 1.5), ("Arizona", "Phoenix", 1.5),
      ("Ohio", "Columbus", 1), ("Michigan", "Detroit", 1), ("Virginia", "Arlington", 1),
      ("District of Columbia", "Washington", 1.5), ("Tennessee", "Nashville", 1.2),
      ("Missouri", "St. Louis", 0.8)]),
    ("GB", "United Kingdom", 9.0, "co.uk", "44", "en",
     ["740", "770", "771", "772", "773", "774", "775", "776", "777", "778"],
     [("England", "London", 60), ("England", "Manchester", 8), ("England", "Cambridge", 5),
      ("England", "Oxford", 3), ("England", "Bristol", 5), ("England", "Leeds", 4),
      ("England", "Birmingham", 4), ("Scotland", "Edinburgh", 6), ("Scotland", "Glasgow", 3),
      ("Wales", "Cardiff", 2), ("Northern Ireland", "Belfast", 2)]),
    ("DE", "Germany", 6.0, "de", "49", "de",
     ["1512", "1515", "1516", "1520", "1522", "1570", "1590", "1601", "1602", "1711", "1712",
      "1741", "1761", "1781"],
     [("Berlin", "Berlin", 35), ("Bavaria", "Munich", 25), ("Hamburg", "Hamburg", 12),
      ("Hesse", "Frankfurt am Main", 10), ("North Rhine-Westphalia", "Cologne", 8),
      ("North Rhine-Westphalia", "Düsseldorf", 5), ("Baden-Württemberg", "Stuttgart", 5)]),
    ("FR", "France", 4.5, "fr", "33", "fr",
     ["61", "62", "64", "65", "66", "67", "68", "75", "76", "77", "78"],
     [("Île-de-France", "Paris", 60), ("Auvergne-Rhône-Alpes", "Lyon", 12),
      ("Occitanie", "Toulouse", 7), ("Provence-Alpes-Côte d'Azur", "Marseille", 5),
      ("Nouvelle-Aquitaine", "Bordeaux", 5), ("Hauts-de-France", "Lille", 5),
      ("Pays de la Loire", "Nantes", 6)]),
    ("CA", "Canada", 4.5, "ca", "1", "en",
     ["416", "647", "604", "778", "514", "438", "403", "613", "519"],
     [("Ontario", "Toronto", 40), ("British Columbia", "Vancouver", 20), ("Quebec", "Montreal", 18),
      ("Alberta", "Calgary", 8), ("Ontario", "Ottawa", 8), ("Ontario", "Waterloo", 6)]),
    ("IN", "India", 4.0, "in", "91", "in",
     ["981", "982", "987", "990", "991", "995", "701", "702", "886", "887", "888", "900"],
     [("Karnataka", "Bengaluru", 35), ("Maharashtra", "Mumbai", 20), ("Maharashtra", "Pune", 10),
      ("Delhi", "New Delhi", 12), ("Telangana", "Hyderabad", 12), ("Tamil Nadu", "Chennai", 8),
      ("Haryana", "Gurugram", 8)]),
    ("AU", "Australia", 3.0, "com.au", "61", "en",
     ["40", "41", "42", "43", "46"],
     [("New South Wales", "Sydney", 45), ("Victoria", "Melbourne", 35),
      ("Queensland", "Brisbane", 10), ("Western Australia", "Perth", 6),
      ("South Australia", "Adelaide", 4)]),
    ("NL", "Netherlands", 2.5, "nl", "31", "nl",
     ["61", "62", "63", "64", "65"],
     [("North Holland", "Amsterdam", 55), ("South Holland", "Rotterdam", 15),
      ("South Holland", "The Hague", 10), ("Utrecht", "Utrecht", 12),
      ("North Brabant", "Eindhoven", 8)]),
    ("ES", "Spain", 2.0, "es", "34", "es",
     ["61", "62", "63", "64", "65", "66", "67", "68", "69"],
     [("Community of Madrid", "Madrid", 50), ("Catalonia", "Barcelona", 38),
      ("Valencian Community", "Valencia", 7), ("Andalusia", "Málaga", 5)]),
    ("BR", "Brazil", 2.0, "com.br", "55", "pt",
     ["1191", "1192", "1194", "1195", "1196", "1197", "1198", "1199", "2198", "2199", "3199"],
     [("São Paulo", "São Paulo", 60), ("Rio de Janeiro", "Rio de Janeiro", 20),
      ("Minas Gerais", "Belo Horizonte", 10), ("Paraná", "Curitiba", 10)]),
    ("SE", "Sweden", 1.5, "se", "46", "nordic",
     ["70", "72", "73", "76", "79"],
     [("Stockholm County", "Stockholm", 70), ("Västra Götaland", "Gothenburg", 20),
      ("Skåne", "Malmö", 10)]),
    ("IT", "Italy", 1.5, "it", "39", "it",
     ["320", "328", "333", "334", "338", "339", "340", "347", "348", "349", "366", "388"],
     [("Lombardy", "Milan", 55), ("Lazio", "Rome", 30), ("Piedmont", "Turin", 15)]),
    ("JP", "Japan", 1.5, "co.jp", "81", "ja",
     ["901", "902", "903", "904", "905", "906", "801", "802", "803", "804", "805", "701"],
     [("Tokyo", "Tokyo", 75), ("Osaka", "Osaka", 15), ("Kanagawa", "Yokohama", 10)]),
    ("SG", "Singapore", 1.5, "com.sg", "65", "zh",
     ["8"],
     [("Central Region", "Singapore", 100)]),
    ("IE", "Ireland", 1.5, "ie", "353", "en",
     ["83", "85", "86", "87", "89"],
     [("Leinster", "Dublin", 80), ("Munster", "Cork", 12), ("Connacht", "Galway", 8)]),
    ("CH", "Switzerland", 1.5, "ch", "41", "de",
     ["75", "76", "77", "78", "79"],
     [("Zürich", "Zürich", 55), ("Geneva", "Geneva", 25), ("Basel-Stadt", "Basel", 20)]),
    ("IL", "Israel", 1.5, "co.il", "972", "he",
     ["50", "52", "53", "54"],
     [("Tel Aviv District", "Tel Aviv", 75), ("Jerusalem District", "Jerusalem", 15),
      ("Haifa District", "Haifa", 10)]),
    ("PL", "Poland", 1.2, "pl", "48", "pl",
     ["50", "51", "53", "57", "60", "66", "69", "72", "78", "79", "88"],
     [("Masovian", "Warsaw", 55), ("Lesser Poland", "Kraków", 30), ("Lower Silesian", "Wrocław", 15)]),
    ("MX", "Mexico", 1.2, "com.mx", "52", "es",
     ["551", "552", "553", "554", "555", "556", "331", "332", "333", "811", "812", "818"],
     [("Mexico City", "Mexico City", 60), ("Jalisco", "Guadalajara", 25),
      ("Nuevo León", "Monterrey", 15)]),
    ("DK", "Denmark", 1.0, "dk", "45", "nordic",
     [],  # Danish numbers have 8 digits in ranges a 7-digit tail cannot keep valid
     [("Capital Region", "Copenhagen", 80), ("Central Denmark", "Aarhus", 20)]),
    ("BE", "Belgium", 1.0, "be", "32", "fr",
     ["47", "48", "49"],
     [("Brussels-Capital", "Brussels", 60), ("Flanders", "Antwerp", 25), ("Flanders", "Ghent", 15)]),
]  # fmt: skip

FIRST_NAMES = {
    "en": "James Mary John Patricia Robert Jennifer Michael Linda David Elizabeth William Barbara "
          "Richard Susan Joseph Jessica Thomas Sarah Christopher Karen Daniel Emily Matthew Emma "
          "Anthony Olivia Mark Sophie Andrew Hannah Joshua Megan Ryan Rachel Kevin Lauren Brian "
          "Chloe Jack Grace Oliver Amelia Liam Charlotte Noah Ava Ethan Zoe Lucas Mia Nathan Abigail",
    "de": "Lukas Anna Maximilian Lena Jonas Leonie Felix Laura Paul Julia Tobias Sarah Jürgen "
          "Katharina Stefan Sabine Thomas Claudia Andreas Petra Florian Johanna Sebastian Miriam "
          "Matthias Jörg Ute Björn Sören Maike",
    "fr": "Louis Camille Hugo Léa Jules Manon Gabriel Chloé Arthur Inès Théo Sarah Nicolas Julie "
          "Antoine Céline Mathieu Hélène Jérôme Élodie François Amélie Benoît Océane Raphaël "
          "Margaux Clément Anaïs Étienne Zoé",
    "es": "Alejandro Lucía Daniel María Pablo Paula Javier Carmen Sergio Laura Carlos Marta "
          "Diego Sofía Miguel Elena José Ana Andrés Isabel Álvaro Inés Jesús Nuria Iván Rocío "
          "Rubén Beatriz Óscar Ángela",
    "pt": "João Maria Pedro Ana Lucas Juliana Gabriel Fernanda Rafael Beatriz Mateus Camila "
          "Thiago Larissa Felipe Letícia Bruno Mariana Gustavo Luíza André Vitória Diego Bianca",
    "in": "Aarav Priya Vivaan Ananya Aditya Diya Arjun Isha Rohan Kavya Rahul Neha Vikram Pooja "
          "Sanjay Anjali Amit Sneha Karthik Deepika Rajesh Lakshmi Suresh Meera Arun Nisha",
    "nl": "Daan Emma Sem Julia Lucas Tess Thijs Sanne Bram Fleur Jeroen Anouk Pieter Lotte "
          "Ruben Eva Joris Iris Sander Femke",
    "nordic": "Erik Anna Lars Maja Johan Elin Nils Ingrid Oskar Astrid Søren Freja Mikkel Ida "
              "Magnus Sofie Anders Karin Björn Åsa Henrik Linnea Mads Sigrid",
    "it": "Francesco Giulia Alessandro Sofia Lorenzo Aurora Matteo Martina Andrea Chiara Marco "
          "Francesca Luca Elena Giuseppe Alessia Davide Sara Simone Valentina Niccolò",
    "ja": "Haruto Yui Sota Hina Yuto Aoi Riku Sakura Kenji Yuki Takashi Emi Hiroshi Naoko "
          "Daiki Mei Kaito Rin Shota Ayaka",
    "zh": "Wei Li Jun Mei Hao Xin Jie Ying Ming Hui Lei Fang Yang Lin Chen Jing Kai Yan Tao Ling",
    "he": "Noam Noa Itai Maya Yonatan Tamar Omer Shira Eitan Yael Daniel Michal Ariel Roni "
          "Uri Lior Amit Talia",
    "pl": "Jakub Zuzanna Kacper Julia Szymon Maja Mateusz Zofia Michał Hanna Łukasz Aleksandra "
          "Paweł Agnieszka Piotr Małgorzata Tomasz Katarzyna",
}  # fmt: skip
LAST_NAMES = {
    "en": "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
          "Martin Jackson Thompson White Harris Clark Lewis Robinson Walker Young Allen King "
          "Wright Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips "
          "Campbell Parker Evans Edwards Collins Stewart Murphy Cook Rogers O'Brien Kelly Hughes "
          "Bennett Wood",
    "de": "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer "
          "Koch Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger "
          "Hofmann Hartmann Lange Werner Krause Lehmann Köhler Vogel",
    "fr": "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
          "Lefèvre Michel Garcia David Bertrand Roux Vincent Fournier Morel Girard André "
          "Mercier Dupont Lambert Bonnet François Martinez Chevalier",
    "es": "García Fernández González Rodríguez López Martínez Sánchez Pérez Gómez Martín "
          "Jiménez Ruiz Hernández Díaz Moreno Muñoz Álvarez Romero Alonso Gutiérrez Navarro "
          "Torres Domínguez Vázquez Ramos Gil Ramírez Serrano Blanco Núñez",
    "pt": "Silva Santos Oliveira Souza Rodrigues Ferreira Alves Pereira Lima Gomes Costa "
          "Ribeiro Martins Carvalho Almeida Lopes Soares Fernandes Vieira Barbosa Araújo Conceição",
    "in": "Sharma Verma Gupta Singh Kumar Patel Reddy Iyer Nair Mehta Shah Joshi Rao Agarwal "
          "Bhat Chopra Desai Kapoor Malhotra Menon Pillai Banerjee Mukherjee Chatterjee",
    "nl": "de Jong Jansen de Vries van den Berg van Dijk Bakker Janssen Visser Smit Meijer "
          "de Boer Mulder de Groot Bos Vos Peters Hendriks van Leeuwen Dekker Brouwer",
    "nordic": "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson "
              "Gustafsson Jensen Nielsen Hansen Pedersen Sørensen Rasmussen Jørgensen Lindqvist "
              "Bergström Åberg",
    "it": "Rossi Russo Ferrari Esposito Bianchi Romano Colombo Ricci Marino Greco Bruno Gallo "
          "Conti Fontana Mancini Costa Giordano Rizzo Lombardi Moretti",
    "ja": "Sato Suzuki Takahashi Tanaka Watanabe Ito Yamamoto Nakamura Kobayashi Kato "
          "Yoshida Yamada Sasaki Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Mori",
    "zh": "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin Tan Lim",
    "he": "Cohen Levi Mizrahi Peretz Biton Friedman Avraham Dahan Azoulay Katz Shapiro "
          "Goldberg Ben-David Rosen Klein Weiss",
    "pl": "Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski Zieliński "
          "Szymański Woźniak Dąbrowski Kozłowski Jankowski Mazur Kwiatkowski Krawczyk",
}  # fmt: skip
COSMOPOLITAN_SHARE = 0.2
"""Share of people whose name comes from any locale, not their country's."""

DEPARTMENTS = [
    # (department, weight, {seniority: [titles]})
    ("engineering", 24, {
        "c_suite": ["Chief Technology Officer", "CTO"],
        "vp": ["VP of Engineering", "VP Engineering"],
        "director": ["Director of Engineering", "Engineering Director"],
        "manager": ["Engineering Manager", "Software Engineering Manager"],
        "senior": ["Senior Software Engineer", "Staff Engineer", "Principal Engineer",
                   "Senior Backend Engineer"],
        "entry": ["Software Engineer", "Frontend Engineer", "Backend Engineer", "QA Engineer",
                  "DevOps Engineer"]}),
    ("sales", 18, {
        "c_suite": ["Chief Revenue Officer", "Chief Sales Officer"],
        "vp": ["VP of Sales", "VP Sales"],
        "director": ["Director of Sales", "Sales Director", "Head of Sales"],
        "manager": ["Sales Manager", "Regional Sales Manager"],
        "senior": ["Senior Account Executive", "Enterprise Account Executive"],
        "entry": ["Account Executive", "Sales Development Representative",
                  "Business Development Representative"]}),
    ("marketing", 10, {
        "c_suite": ["Chief Marketing Officer", "CMO"],
        "vp": ["VP of Marketing"],
        "director": ["Director of Marketing", "Head of Growth", "Director of Demand Generation"],
        "manager": ["Marketing Manager", "Product Marketing Manager", "Content Marketing Manager"],
        "senior": ["Senior Marketing Specialist", "Senior Growth Marketer"],
        "entry": ["Marketing Coordinator", "Marketing Specialist", "Social Media Specialist"]}),
    ("product", 7, {
        "c_suite": ["Chief Product Officer"],
        "vp": ["VP of Product"],
        "director": ["Director of Product", "Head of Product"],
        "manager": ["Product Manager", "Group Product Manager"],
        "senior": ["Senior Product Manager", "Senior Product Designer"],
        "entry": ["Associate Product Manager", "Product Designer", "UX Designer"]}),
    ("finance", 6, {
        "c_suite": ["Chief Financial Officer", "CFO"],
        "vp": ["VP of Finance"],
        "director": ["Finance Director", "Controller"],
        "manager": ["Finance Manager", "Accounting Manager"],
        "senior": ["Senior Financial Analyst", "Senior Accountant"],
        "entry": ["Financial Analyst", "Accountant", "Accounts Payable Specialist"]}),
    ("operations", 8, {
        "c_suite": ["Chief Operating Officer", "COO"],
        "vp": ["VP of Operations"],
        "director": ["Director of Operations", "Head of Operations"],
        "manager": ["Operations Manager", "Revenue Operations Manager"],
        "senior": ["Senior Operations Analyst", "Senior Program Manager"],
        "entry": ["Operations Analyst", "Operations Coordinator"]}),
    ("customer success", 7, {
        "c_suite": ["Chief Customer Officer"],
        "vp": ["VP of Customer Success"],
        "director": ["Director of Customer Success", "Head of Support"],
        "manager": ["Customer Success Manager", "Support Manager"],
        "senior": ["Senior Customer Success Manager", "Senior Support Engineer"],
        "entry": ["Customer Support Specialist", "Customer Success Associate"]}),
    ("human resources", 5, {
        "c_suite": ["Chief People Officer", "Chief Human Resources Officer"],
        "vp": ["VP of People"],
        "director": ["Director of Talent Acquisition", "HR Director"],
        "manager": ["HR Manager", "Recruiting Manager"],
        "senior": ["Senior Recruiter", "Senior HR Business Partner"],
        "entry": ["Recruiter", "HR Coordinator", "Talent Acquisition Specialist"]}),
    ("legal", 3, {
        "c_suite": ["Chief Legal Officer", "General Counsel"],
        "vp": ["VP Legal", "Deputy General Counsel"],
        "director": ["Director of Legal", "Head of Compliance"],
        "manager": ["Legal Manager", "Compliance Manager"],
        "senior": ["Senior Counsel", "Senior Paralegal"],
        "entry": ["Paralegal", "Legal Counsel", "Compliance Analyst"]}),
    ("information technology", 6, {
        "c_suite": ["Chief Information Officer", "Chief Information Security Officer"],
        "vp": ["VP of IT", "VP of Information Security"],
        "director": ["IT Director", "Director of Security"],
        "manager": ["IT Manager", "Security Operations Manager"],
        "senior": ["Senior Systems Administrator", "Senior Security Engineer"],
        "entry": ["IT Support Specialist", "Systems Administrator", "Security Analyst"]}),
    ("data", 6, {
        "c_suite": ["Chief Data Officer"],
        "vp": ["VP of Data"],
        "director": ["Director of Data Science", "Head of Analytics"],
        "manager": ["Analytics Manager", "Data Engineering Manager"],
        "senior": ["Senior Data Scientist", "Senior Data Engineer"],
        "entry": ["Data Analyst", "Data Scientist", "Data Engineer"]}),
    ("executive", 0, {
        "c_suite": ["Chief Executive Officer", "CEO", "Founder & CEO", "Co-Founder", "President"],
        "vp": ["Chief of Staff", "General Manager", "SVP Strategy"]}),
]  # fmt: skip
SENIORITIES = ["c_suite", "vp", "director", "manager", "senior", "entry"]
SENIORITY_WEIGHTS = {  # by company size: small companies have more founders and chiefs
    "small": [0.16, 0.08, 0.09, 0.15, 0.24, 0.28],
    "other": [0.05, 0.07, 0.11, 0.18, 0.26, 0.33],
}
SMALL_COMPANY = 50
EXECUTIVE_SHARE = {"c_suite": 0.4, "vp": 0.1}
"""Share of chiefs and VPs who run the company rather than a department."""

TAGS = [  # (name, color, share of companies, share of people)
    ("customer", "green", 0.07, 0.0),
    ("target-account", "blue", 0.10, 0.0),
    ("churned", "gray", 0.03, 0.0),
    ("partner", "purple", 0.02, 0.0),
    ("open-opportunity", "orange", 0.05, 0.03),
    ("do-not-contact", "red", 0.0, 0.02),
]
CUSTOMER_CONTACT_SHARE = 0.5
"""Share of the people at a customer company who carry the "customer" tag too."""

CUSTOM_FIELDS = [  # (entity, key, label, type, description)
    ("companies", "funding_stage", "Funding stage", "text", "Latest funding stage (demo data)"),
    ("companies", "tech_stack", "Tech stack", "list", "Technologies the company uses (demo data)"),
    ("companies", "nps", "NPS", "number", "Net promoter score, -100 to 100 (demo data)"),
    ("people", "lead_score", "Lead score", "number", "Lead score, 0 to 100 (demo data)"),
    ("people", "last_contacted", "Last contacted", "date", "Day of the last touch (demo data)"),
    ("people", "newsletter_opt_in", "Newsletter opt-in", "boolean", "Subscribed to the newsletter (demo data)"),
]  # fmt: skip
FUNDING_STAGES = ["pre_seed", "seed", "series_a", "series_b", "series_c", "growth", "public"]
TECH = [
    "python", "aws", "gcp", "azure", "react", "java", "go", "node", "postgres", "mysql",
    "snowflake", "salesforce", "hubspot", "kubernetes", "terraform", "stripe", "shopify",
    "segment", "datadog", "rust",
]

# Company names: <prefix> <root> [<qualifier>]; the domain label joins the words with or
# without hyphens. Prefix + root + qualifier concatenations are unique (tested), so labels
# are unique across both styles (hyphenated labels contain "-", joined ones do not).
PREFIXES = """
acme alder amber anchor apex arrow aspen aster atlas aurora axis bay beacon birch bison blaze
bold boulder breeze bright brook canyon cape cardinal cascade cedar cinder clear clover coast
cobalt comet copper coral crane crest crimson crystal cypress dawn delta drift dune eagle echo
elm ember emerald evergreen falcon fern field fjord flint forge fox frontier galaxy garnet
glacier glen gold granite graphite green grove harbor haven hawk helix highland hill horizon
hudson indigo iris iron isle ivory jade juniper kestrel keystone kite lagoon lake lantern lark
laurel legacy liberty linden lotus lumen lunar magnet maple marble marsh meadow meridian mesa
metro midway mint moon mosaic moss nebula nimbus noble north nova oak ocean olive omega onyx
opal orbit orca orchid otter owl pacific palm paragon peak pearl pebble pepper pine pioneer
pixel plume polar prairie prism pulse quantum quartz quest quill radiant rain raven redwood
reef ridge river rocket rook rose ruby sage sail sapphire scarlet sequoia shore sierra silver
sky slate snow solar sonic spark sparrow spruce stellar sterling stone storm summit swift
terra thunder tidal tiger timber titan topaz torch trail tundra twin umber union unity valley
valor vector velvet venture verde vertex violet vista vivid wave west willow wind winter wolf
wren zenith zephyr blue true
""".split()
ROOT_INDUSTRIES = {  # root word: the industry it suggests ("" for none)
    "": "labs works solutions dynamics signal sense mind point path base bridge gate link "
        "scale shift loop trade water",
    "software": "analytics logic data cloud software metrics flow stack",
    "information technology": "systems",
    "health care": "health care clinic wellness fitness vet dental sleep",
    "telecommunications": "networks wire telecom wireless mobile",
    "biotech": "bio therapeutics genomics",
    "venture capital": "capital ventures",
    "media and entertainment": "media studios sports music films pictures press publishing news",
    "manufacturing": "robotics materials manufacturing engineering",
    "energy": "energy grid power",
    "food and beverage": "foods kitchen coffee brewing wines spirits bakery nutrition",
    "logistics and supply chain": "logistics supply freight shipping",
    "cybersecurity": "security",
    "financial services": "pay markets exchange lending credit",
    "e-commerce": "commerce",
    "education": "learning education academy school",
    "marketing and advertising": "insights",
    "transportation": "mobility marine transport fleet",
    "automotive": "motors auto cycles",
    "semiconductors": "foundry semiconductor chips photonics",
    "medical devices": "diagnostics medical vision hearing",
    "pharmaceuticals": "pharma",
    "hospitality": "travel",
    "real estate": "homes realty properties estates",
    "construction": "construction builders",
    "banking": "bank",
    "insurance": "insurance",
    "consulting": "advisors consulting",
    "legal services": "legal law",
    "accounting": "accounting",
    "human resources": "payroll talent recruit staffing",
    "gaming": "games gaming",
    "apparel and fashion": "apparel fashion",
    "retail": "beauty cosmetics brands goods outfitters pets",
    "agriculture": "farms agri organics",
    "computer hardware": "devices electronics optics",
    "aerospace": "aerospace aviation",
}
ROOTS = [root for words in ROOT_INDUSTRIES.values() for root in words.split()]
ROOT_INDUSTRY_SHARE = 0.75
"""Share of companies whose industry is the one their name suggests ("Acme Genomics")."""
QUALIFIERS = [
    "", "group", "hq", "global", "inc", "co", "international", "holdings", "technologies",
    "digital", "worldwide", "collective", "company", "corp", "industries", "partners",
]
TLDS = ["com", "io", "co", "ai", "net", "tech", "app", "org"]
TLD_WEIGHTS = [0.70, 0.10, 0.06, 0.04, 0.04, 0.02, 0.02, 0.02]
CCTLD_SHARE = 0.35
"""Share of companies outside the US whose domain uses their country's TLD."""

LINKEDIN_COMPANY = "https://www.linkedin.com/company/"
LINKEDIN_PROFILE = "https://www.linkedin.com/in/"


# =========================================================================== loading


def load_demo(
    engine: Engine,
    *,
    workspace_slug: str = "demo",
    companies: int,
    people: int,
    seed: int = 42,
    epoch: datetime = DEMO_EPOCH,
    progress: Progress | None = None,
) -> DemoReport:
    """Create (or reuse an empty) workspace and load a demo data set into it.

    Companies are loaded first, then people (each belongs to a company), each with their tag
    assignments, in write transactions of CHUNK_ROWS rows; `progress(stage, done, total)` is
    called after every committed chunk ("companies", "people") and, when the tables were
    empty and their indexes were deferred (see `indexes_deferred`), after each index or key
    rebuilt ("indexes"). Raises DemoWorkspaceNotEmpty if the workspace already holds
    companies or people. Every timestamp falls in the two years before `epoch` (naive UTC).
    """
    if companies < 0 or people < 0:
        raise ValueError("companies and people must be zero or more")
    if people and not companies:
        raise ValueError("demo people belong to companies: ask for at least one company")
    epoch = naive_utc(epoch)
    started = time.perf_counter()
    with write_transaction(engine) as conn:
        workspace_id = ensure_workspace(conn, workspace_slug)
        _refuse_if_not_empty(conn, workspace_id, workspace_slug)
        tag_ids = _ensure_tags(conn, workspace_id)
        _ensure_custom_fields(conn, workspace_id, epoch)

    tables = [Company.__table__, CompanyTag.__table__, Person.__table__, PersonTag.__table__]
    for table in tables:
        ensure_indexes(engine, table)  # in case an earlier load was interrupted
    plan = _DemoPlan(seed, companies, people, epoch)
    rebuilt = 0

    def index_rebuilt(_name: str) -> None:
        nonlocal rebuilt
        rebuilt += 1
        if progress:
            progress("indexes", rebuilt, len(dropped))

    with contextlib.ExitStack() as deferred:
        dropped = [
            name
            for table in tables
            for name in deferred.enter_context(indexes_deferred(engine, table, on_rebuilt=index_rebuilt))
        ]
        tags = _load_companies(engine, plan, workspace_id, tag_ids, progress)
        tags += _load_people(engine, plan, workspace_id, tag_ids, progress)
    with write_transaction(engine) as conn:
        analyze(conn, tables)

    seconds = time.perf_counter() - started
    rows = companies + people + tags
    return DemoReport(
        workspace_id=workspace_id, companies=companies, people=people, tags=tags,
        seconds=seconds, rows_per_second=rows / seconds if seconds else 0.0,
    )


def _load_companies(
    engine: Engine, plan: _DemoPlan, workspace_id: int, tag_ids: dict[str, int], progress: Progress | None
) -> int:
    """Insert the plan's companies chunk by chunk; return the tag assignments written."""
    tags = 0
    for start in range(0, plan.companies, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, plan.companies)
        columns = plan.company_columns(start, stop)
        with write_transaction(engine) as conn:
            ids = _insert_with_ids(conn, Company.__table__, workspace_id, COMPANY_COLUMNS, columns, stop - start)
            tags += _insert_tags(conn, CompanyTag.__table__, "company_id", ids,
                                 plan.company_tags[start:stop], tag_ids)
        plan.company_ids[start:stop] = np.arange(ids.start, ids.stop)
        if progress:
            progress("companies", stop, plan.companies)
    return tags


def _load_people(
    engine: Engine, plan: _DemoPlan, workspace_id: int, tag_ids: dict[str, int], progress: Progress | None
) -> int:
    """Insert the plan's people chunk by chunk; return the tag assignments written."""
    tags = 0
    for start in range(0, plan.people, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, plan.people)
        columns, person_tags = plan.person_columns(start, stop)
        with write_transaction(engine) as conn:
            ids = _insert_with_ids(conn, Person.__table__, workspace_id, PERSON_COLUMNS, columns, stop - start)
            tags += _insert_tags(conn, PersonTag.__table__, "person_id", ids, person_tags, tag_ids)
        if progress:
            progress("people", stop, plan.people)
    return tags


def _insert_with_ids(
    conn: Connection, table: sa.Table, workspace_id: int, names: tuple[str, ...], columns: list, count: int
) -> range:
    """Insert `count` rows with the next free ids (so others can refer to them); return the ids."""
    first = claim_next_id(conn, table)
    ids = range(first, first + count)
    with text_search.batched(conn, table):
        bulk_insert(conn, table, ("id", "workspace_id", *names), zip(ids, repeat(workspace_id), *columns))
    reset_id_sequence(conn, table)
    return ids


def _refuse_if_not_empty(conn: Connection, workspace_id: int, slug: str) -> None:
    found = [
        entity
        for entity, table in (("companies", Company.__table__), ("people", Person.__table__))
        if conn.execute(
            sa.select(table.c.id).where(table.c.workspace_id == workspace_id).limit(1)
        ).first()
    ]
    if found:
        raise DemoWorkspaceNotEmpty(
            f"workspace {slug!r} already has {' and '.join(found)}; demo data goes into a"
            " workspace of its own: choose another workspace slug"
        )


def _ensure_tags(conn: Connection, workspace_id: int) -> dict[str, int]:
    table = Tag.__table__
    existing = dict(
        conn.execute(sa.select(table.c.name, table.c.id).where(table.c.workspace_id == workspace_id)).all()
    )
    for name, color, _, _ in TAGS:
        if name not in existing:
            existing[name] = conn.execute(
                sa.insert(table).values(workspace_id=workspace_id, name=name, color=color)
                .returning(table.c.id)
            ).scalar_one()
    return {name: existing[name] for name, *_ in TAGS}


def _ensure_custom_fields(conn: Connection, workspace_id: int, epoch: datetime) -> None:
    table = FieldDef.__table__
    existing = {
        (row.entity, row.key)
        for row in conn.execute(
            sa.select(table.c.entity, table.c.key).where(table.c.workspace_id == workspace_id)
        )
    }
    rows = [
        {"workspace_id": workspace_id, "entity": entity, "key": key, "label": label,
         "type": type_, "source": "custom", "description": description,
         "is_core": False, "hidden": False, "created_at": epoch}
        for entity, key, label, type_, description in CUSTOM_FIELDS
        if (entity, key) not in existing
    ]  # fmt: skip
    if rows:
        conn.execute(sa.insert(table), rows)


def _insert_tags(
    conn: Connection, table: sa.Table, key: str, ids: range, bits: np.ndarray, tag_ids: dict[str, int]
) -> int:
    """Rows (record id, tag id) for every bit set in `bits` (bit k = TAGS[k])."""
    rows = []
    for bit, (name, *_) in enumerate(TAGS):
        positions = np.flatnonzero(bits & (1 << bit))
        if len(positions):
            rows.append(zip((positions + ids.start).tolist(), repeat(tag_ids[name])))
    return sum(bulk_insert(conn, table, (key, "tag_id"), part) for part in rows)


# =========================================================================== generation

COMPANY_COLUMNS = (
    "name", "domain", "linkedin_url", "website", "industry", "employee_count", "annual_revenue",
    "country", "region", "city", "founded_year", "description", "crm_id", "source",
    "created_at", "updated_at", "attributes",
)
PERSON_COLUMNS = (
    "first_name", "last_name", "full_name", "email", "linkedin_url", "phone", "title",
    "seniority", "department", "company_id", "company_domain", "country", "city", "crm_id",
    "source", "created_at", "updated_at", "attributes",
)

_COMPANIES, _PEOPLE, _PEOPLE_PER_COMPANY = 1, 2, 3  # random streams


def _ascii_slug(text: str, separator: str) -> str:
    """A name in ASCII for emails and URLs: Jürgen -> jurgen, O'Brien -> obrien, de Jong -> de<separator>jong."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD)).encode("ascii", "ignore").decode()
    words = ["".join(ch for ch in word if ch.isalnum()) for word in folded.lower().split()]
    return separator.join(word for word in words if word)


_FOLD = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "Æ": "AE"})


def _name_pool(text: str) -> list[str]:
    """Names from a space-separated list; lower-case particles join the next word."""
    names, particle = [], []
    for word in text.split():
        if word[0].islower():
            particle.append(word)
        else:
            names.append(" ".join([*particle, word]))
            particle = []
    return names


@dataclass(frozen=True)
class _Names:
    """One locale's name pools as object arrays (display, email slug, URL slug)."""

    first: np.ndarray
    first_email: np.ndarray
    first_url: np.ndarray
    last: np.ndarray
    last_email: np.ndarray
    last_url: np.ndarray

    @classmethod
    def of(cls, locale: str) -> _Names:
        first, last = _name_pool(FIRST_NAMES[locale]), _name_pool(LAST_NAMES[locale])
        arr = lambda values: np.array(values, dtype=object)  # noqa: E731
        return cls(
            arr(first), arr([_ascii_slug(n, "") for n in first]), arr([_ascii_slug(n, "-") for n in first]),
            arr(last), arr([_ascii_slug(n, "") for n in last]), arr([_ascii_slug(n, "-") for n in last]),
        )  # fmt: skip


LOCALES = sorted(FIRST_NAMES)
_NAMES = {locale: _Names.of(locale) for locale in LOCALES}

_COUNTRY_CODES = np.array([c[0] for c in COUNTRIES], dtype=object)
_COUNTRY_NAMES = np.array([c[1] for c in COUNTRIES], dtype=object)
_COUNTRY_P = np.array([c[2] for c in COUNTRIES]) / sum(c[2] for c in COUNTRIES)
_COUNTRY_LOCALE = np.array([LOCALES.index(c[5]) for c in COUNTRIES])
_CITY_REGION = np.array([r for c in COUNTRIES for r, _, _ in c[7]], dtype=object)
_CITY_NAME = np.array([city for c in COUNTRIES for _, city, _ in c[7]], dtype=object)
_CITY_START = np.cumsum([0] + [len(c[7]) for c in COUNTRIES])
_CITY_P = [np.array([w for _, _, w in c[7]]) / sum(w for _, _, w in c[7]) for c in COUNTRIES]
# TLD table: the generic TLDs, then each country's ccTLD (index len(TLDS) + country).
_TLD_NAMES = np.array(TLDS + [c[3] or "" for c in COUNTRIES], dtype=object)
_HAS_CCTLD = np.array([c[3] is not None for c in COUNTRIES])
_PHONE_PREFIXES = [np.array([f"+{c[4]}{p}" for p in c[6]], dtype=object) for c in COUNTRIES]

_INDUSTRY_NAMES = np.array([name for name, _ in INDUSTRIES], dtype=object)
_INDUSTRY_OFFERS = np.array([offer for _, offer in INDUSTRIES], dtype=object)
_INDUSTRY_P = 1 / np.arange(1, len(INDUSTRIES) + 1) ** 0.9
_INDUSTRY_P /= _INDUSTRY_P.sum()

_DEPT_NAMES = np.array([d for d, _, _ in DEPARTMENTS], dtype=object)
_DEPT_P = np.array([w for _, w, _ in DEPARTMENTS], dtype=float) / sum(w for _, w, _ in DEPARTMENTS)
_EXECUTIVE = len(DEPARTMENTS) - 1
_SENIORITY_NAMES = np.array(SENIORITIES, dtype=object)
_SENIORITY_CDF = {k: np.cumsum(v) / sum(v) for k, v in SENIORITY_WEIGHTS.items()}
# Titles of (department d, seniority s) at _TITLES[d * len(SENIORITIES) + s].
_TITLES = [titles.get(s, []) for _, _, titles in DEPARTMENTS for s in SENIORITIES]
_TITLE_COUNT = np.array([len(t) for t in _TITLES])
_TITLE_START = np.concatenate([[0], np.cumsum(_TITLE_COUNT)[:-1]])
_TITLE_NAMES = np.array([t for titles in _TITLES for t in titles], dtype=object)

_HISTORY_SECONDS = int(HISTORY.total_seconds())


def _affine_bijection(modulus: int, rng: np.random.Generator) -> tuple[int, int]:
    """(a, b) with gcd(a, modulus) == 1, so i -> (a * i + b) % modulus is a bijection."""
    while True:
        a = int(rng.integers(modulus // 3, modulus)) | 1
        if gcd(a, modulus) == 1:
            return a, int(rng.integers(0, modulus))


def _affine(index: np.ndarray, ab: tuple[int, int], modulus: int) -> np.ndarray:
    """(a * index + b) % modulus, exactly, without leaving numpy."""
    a, b = ab
    if modulus & (modulus - 1) == 0:  # a power of two: uint64 wraps modulo 2**64
        return ((np.uint64(a) * index.astype(np.uint64) + np.uint64(b)) & np.uint64(modulus - 1)).astype(np.int64)
    if modulus > 3_000_000_000:
        raise ValueError(f"modulus {modulus} is too large for exact int64 arithmetic")
    return (a * index.astype(np.int64) + b) % modulus


class _CompanyNames:
    """Company index -> (display name, unique domain label), a bijection per demo load.

    Index i is scrambled over all companies, then split into a tier (which qualifier, and a
    number once the qualifiers run out) and a position in the prefix x root x style grid,
    itself scrambled. Small demos therefore use plain "<prefix> <root>" names only.
    """

    styles = 2  # 0: "acmeanalytics", 1: "acme-analytics"

    def __init__(self, companies: int, rng: np.random.Generator):
        self.companies = max(companies, 1)
        self.grid = len(PREFIXES) * len(ROOTS) * self.styles
        self.scramble = _affine_bijection(self.companies, rng)
        self.place = _affine_bijection(self.grid, rng)

    def words(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Prefix and root (indexes into PREFIXES, ROOTS), qualifier (text) and style."""
        scrambled = _affine(index, self.scramble, self.companies)
        tier, position = np.divmod(scrambled, self.grid)
        cell = _affine(position, self.place, self.grid)
        prefix, rest = np.divmod(cell, len(ROOTS) * self.styles)
        root, style = np.divmod(rest, self.styles)
        lap, qualifier = np.divmod(tier, len(QUALIFIERS))
        qualifiers = [
            QUALIFIERS[q] + (str(n + 1) if n else "") for q, n in zip(qualifier.tolist(), lap.tolist())
        ]
        return prefix, root, np.array(qualifiers, dtype=object), style

    def labels(self, index: np.ndarray) -> list[str]:
        prefix, root, qualifier, style = self.words(index)
        return [
            ("-" if s else "").join(filter(None, (p, r, q)))
            for p, r, q, s in zip(
                _PREFIX_ARRAY[prefix].tolist(), _ROOT_ARRAY[root].tolist(), qualifier.tolist(), style.tolist()
            )
        ]


_PREFIX_ARRAY = np.array(PREFIXES, dtype=object)
_ROOT_ARRAY = np.array(ROOTS, dtype=object)
_ROOT_INDUSTRY = np.array(
    [_INDUSTRY_NAMES.tolist().index(industry) if industry else -1
     for industry, words in ROOT_INDUSTRIES.items() for _ in words.split()]
)  # fmt: skip


def _rng(seed: int, stream: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream, chunk])


def _missing(values: list, rng: np.random.Generator, share: float) -> list:
    """`values` with a random `share` of them replaced by None (in place)."""
    return _without(values, rng.random(len(values)) < share)


def _without(values: list, mask: np.ndarray) -> list:
    """`values` with None where `mask` is true (in place)."""
    for i in np.flatnonzero(mask).tolist():
        values[i] = None
    return values


def _datetimes(epoch: np.datetime64, seconds: np.ndarray) -> list[datetime]:
    """Naive datetimes at `seconds` (ints) after the start of the history that ends at `epoch`."""
    return (epoch - _HISTORY_SECONDS + seconds.astype("timedelta64[s]")).tolist()


def _recent_offsets(rng: np.random.Generator, n: int, earliest: np.ndarray | int = 0) -> np.ndarray:
    """Seconds into the history, between `earliest` and the epoch, skewed to recent (growth)."""
    span = _HISTORY_SECONDS - earliest
    return earliest + (span * rng.random(n) ** 0.6).astype(np.int64)


def _later(rng: np.random.Generator, created: np.ndarray) -> np.ndarray:
    """An update time at or after `created`: a third of records never changed."""
    changed = rng.random(len(created)) < 2 / 3
    room = _HISTORY_SECONDS - created
    return created + np.where(changed, (room * rng.beta(0.7, 1.6, len(created))).astype(np.int64), 0)


def _choose_cities(rng: np.random.Generator, country: np.ndarray) -> np.ndarray:
    """A city (index into _CITY_NAME) in each row's country, by that country's weights."""
    city = np.empty(len(country), dtype=np.int64)
    for c in np.unique(country).tolist():
        rows = np.flatnonzero(country == c)
        city[rows] = _CITY_START[c] + rng.choice(len(_CITY_P[c]), size=len(rows), p=_CITY_P[c])
    return city


class _DemoPlan:
    """Everything a load needs between chunks: sizes, bijections and a few per-company arrays.

    Per company it keeps only numbers (ids, size, country, city, TLD, tags, created time):
    about 40 bytes, so 1M companies cost 40 MB, while rows exist one chunk at a time.
    """

    def __init__(self, seed: int, companies: int, people: int, epoch: datetime):
        self.seed, self.companies, self.people = seed, companies, people
        self.epoch, self.year = np.datetime64(epoch, "s"), epoch.year
        setup = _rng(seed, 0, 0)
        self.names = _CompanyNames(companies, setup)
        self.company_crm = _affine_bijection(2**48, setup)
        self.person_crm = _affine_bijection(2**48, setup)
        self.person_url = _affine_bijection(2**32, setup)
        self.phone = _affine_bijection(MAX_PEOPLE_WITH_PHONE, setup)
        self.company_ids = np.zeros(companies, dtype=np.int64)
        self.size = np.zeros(companies, dtype=np.int32)
        self.country = np.zeros(companies, dtype=np.int16)  # -1: unknown
        self.city = np.zeros(companies, dtype=np.int16)  # -1: unknown
        self.tld = np.zeros(companies, dtype=np.int16)
        self.company_tags = np.zeros(companies, dtype=np.uint8)
        self.created = np.zeros(companies, dtype=np.int64)
        self._people_end: np.ndarray | None = None
        self._emails_seen: dict[str, int] = {}
        self._emails_company = -1

    # ------------------------------------------------------------------ companies

    def company_columns(self, start: int, stop: int) -> list[list]:
        """Columns (in COMPANY_COLUMNS order) of companies start..stop-1."""
        n = stop - start
        rng = _rng(self.seed, _COMPANIES, start // CHUNK_ROWS)
        index = np.arange(start, stop)
        prefix, root, qualifier, _ = self.names.words(index)
        labels = self.names.labels(index)
        names = [
            f"{p.title()} {r.title()} {q.title()}" if q else f"{p.title()} {r.title()}"
            for p, r, q in zip(_PREFIX_ARRAY[prefix].tolist(), _ROOT_ARRAY[root].tolist(), qualifier.tolist())
        ]

        country = rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P)
        city = _choose_cities(rng, country)
        cctld = _HAS_CCTLD[country] & (rng.random(n) < CCTLD_SHARE)
        tld = np.where(cctld, len(TLDS) + country, rng.choice(len(TLDS), size=n, p=TLD_WEIGHTS))
        domains = [f"{label}.{t}" for label, t in zip(labels, _TLD_NAMES[tld].tolist())]

        suggested = _ROOT_INDUSTRY[root]
        industry = np.where(
            (suggested >= 0) & (rng.random(n) < ROOT_INDUSTRY_SHARE),
            suggested,
            rng.choice(len(INDUSTRIES), size=n, p=_INDUSTRY_P),
        )
        size = np.clip(np.rint(rng.lognormal(np.log(25), 1.9, n)), 1, 200_000).astype(np.int64)
        revenue_per_head = rng.lognormal(np.log(150_000), 0.6, n)
        revenue = (np.rint(size * revenue_per_head / 10_000) * 10_000).astype(np.int64)
        age = np.rint(rng.lognormal(np.log(6) + 0.22 * np.log(size), 0.8)).astype(np.int64)
        founded = np.clip(self.year - 1 - age, 1900, self.year - 1)
        created = _recent_offsets(rng, n)
        updated = _later(rng, created)

        no_country = rng.random(n) < 0.02
        no_city = no_country | (rng.random(n) < 0.10)
        # A region without a city is common, a city without its region is not.
        no_region = no_country | (no_city & (rng.random(n) < 0.3))
        country_codes = _without(_COUNTRY_CODES[country].tolist(), no_country)
        regions = _without(_CITY_REGION[city].tolist(), no_region)
        cities = _without(_CITY_NAME[city].tolist(), no_city)

        size_word = np.digitize(size, [10, 50, 1_000, 10_000])
        locations = [c or _COUNTRY_NAMES[k] for c, k in zip(cities, country.tolist())]
        descriptions = [
            f"{name} is a {SIZE_WORDS[w]} {ind} company in {loc}, offering {offer} to {aud}."
            for name, w, ind, loc, offer, aud in zip(
                names, size_word.tolist(), _INDUSTRY_NAMES[industry].tolist(), locations,
                _INDUSTRY_OFFERS[industry].tolist(),
                np.array(AUDIENCES, dtype=object)[rng.integers(0, len(AUDIENCES), n)].tolist(),
            )
        ]  # fmt: skip
        websites = [f"https://www.{d}" if s else f"https://{d}" for d, s in zip(domains, (rng.random(n) < 0.7).tolist())]
        crm = _affine(index, self.company_crm, 2**48)
        crm_ids = [f"001{c:012X}" for c in crm.tolist()]

        self.size[start:stop] = size
        self.country[start:stop] = np.where(no_country, -1, country)
        self.city[start:stop] = np.where(no_city, -1, city)
        self.tld[start:stop] = tld
        self.created[start:stop] = created
        self.company_tags[start:stop] = _company_tag_bits(rng, n)

        return [
            names,
            domains,
            _missing([LINKEDIN_COMPANY + label for label in labels], rng, 0.15),
            _missing(websites, rng, 0.08),
            _missing(_INDUSTRY_NAMES[industry].tolist(), rng, 0.05),
            _missing(size.tolist(), rng, 0.08),
            _missing(revenue.tolist(), rng, 0.15),
            country_codes,
            regions,
            cities,
            _missing(founded.tolist(), rng, 0.07),
            _missing(descriptions, rng, 0.12),
            _missing(crm_ids, rng, 0.70),
            repeat("demo", n),
            _datetimes(self.epoch, created),
            _datetimes(self.epoch, updated),
            _company_attributes(rng, n, size, self.year - founded),
        ]

    # ------------------------------------------------------------------ people

    def _people_ends(self) -> np.ndarray:
        """End (exclusive) of each company's run of people; people are ordered by company."""
        if self._people_end is None:
            rng = _rng(self.seed, _PEOPLE_PER_COMPANY, 0)
            weight = self.size.astype(float) ** 0.55 * rng.lognormal(0, 0.5, self.companies)
            counts = rng.multinomial(self.people, weight / weight.sum())
            self._people_end = np.cumsum(counts)
        return self._people_end

    def person_columns(self, start: int, stop: int) -> tuple[list, np.ndarray]:
        """Columns (in PERSON_COLUMNS order) and tag bits of people start..stop-1."""
        n = stop - start
        rng = _rng(self.seed, _PEOPLE, start // CHUNK_ROWS)
        index = np.arange(start, stop)
        company = np.searchsorted(self._people_ends(), index, side="right")
        first_company, last_company = int(company[0]), int(company[-1])
        labels = self.names.labels(np.arange(first_company, last_company + 1))
        tlds = _TLD_NAMES[self.tld[first_company : last_company + 1]].tolist()
        company_domains = np.array([f"{l}.{t}" for l, t in zip(labels, tlds)], dtype=object)
        domain = company_domains[company - first_company]

        # Mostly the company's country and city; some people work elsewhere.
        own = self.country[company]
        abroad = (own < 0) | (rng.random(n) < 0.12)
        country = np.where(abroad, rng.choice(len(COUNTRIES), size=n, p=_COUNTRY_P), own)
        city = np.where(abroad | (self.city[company] < 0), _choose_cities(rng, country), self.city[company])

        locale = np.where(
            rng.random(n) < COSMOPOLITAN_SHARE, rng.integers(0, len(LOCALES), n), _COUNTRY_LOCALE[country]
        )
        columns = {k: np.empty(n, dtype=object) for k in ("first", "first_email", "first_url", "last", "last_email", "last_url")}
        for k in np.unique(locale).tolist():
            rows = np.flatnonzero(locale == k)
            pool = _NAMES[LOCALES[k]]
            f = rng.integers(0, len(pool.first), len(rows))
            l = rng.integers(0, len(pool.last), len(rows))  # noqa: E741
            for field in ("first", "first_email", "first_url"):
                columns[field][rows] = getattr(pool, field)[f]
            for field in ("last", "last_email", "last_url"):
                columns[field][rows] = getattr(pool, field)[l]
        first, last = columns["first"].tolist(), columns["last"].tolist()

        emails = self._emails(
            columns["first_email"].tolist(), columns["last_email"].tolist(), domain.tolist(),
            company.tolist(),
        )
        has_email = rng.random(n) >= 0.08
        has_linkedin = (rng.random(n) < 0.6) | ~has_email  # every person keeps an identity key
        slugs = _affine(index, self.person_url, 2**32).tolist()
        linkedin = [
            f"{LINKEDIN_PROFILE}{f}-{l}-{s:08x}" if keep else None
            for f, l, s, keep in zip(
                columns["first_url"].tolist(), columns["last_url"].tolist(), slugs, has_linkedin.tolist()
            )
        ]
        phones = self._phones(rng, index, country)

        seniority, department, titles = _roles(rng, self.size[company])
        created = _recent_offsets(rng, n, self.created[company])
        updated = _later(rng, created)
        crm = _affine(index, self.person_crm, 2**48)

        tags = _person_tag_bits(rng, n, self.company_tags[company])
        return [
            first,
            last,
            [f"{f} {l}" for f, l in zip(first, last)],
            [e if keep else None for e, keep in zip(emails, has_email.tolist())],
            linkedin,
            phones,
            titles,
            seniority,
            department,
            self.company_ids[company].tolist(),
            domain.tolist(),
            _missing(_COUNTRY_CODES[country].tolist(), rng, 0.03),
            _missing(_CITY_NAME[city].tolist(), rng, 0.12),
            _missing([f"003{c:012X}" for c in crm.tolist()], rng, 0.75),
            repeat("demo", n),
            _datetimes(self.epoch, created),
            _datetimes(self.epoch, updated),
            _person_attributes(rng, n, self.epoch),
        ], tags

    def _emails(self, firsts: list[str], lasts: list[str], domains: list[str], companies: list[int]) -> list[str]:
        """firstname.lastname@domain, numbered (john.smith2@) on a collision in one company.

        Emails of different companies never collide (domains are unique), so only the
        addresses of the company a chunk boundary splits are carried into the next chunk.
        """
        if companies[0] != self._emails_company:
            self._emails_seen = {}
        seen = self._emails_seen
        emails = [f"{f}.{l}@{d}" for f, l, d in zip(firsts, lasts, domains)]
        for i, email in enumerate(emails):
            count = seen.get(email)
            if count is None:
                seen[email] = 1
            else:
                seen[email] = count + 1
                local, _, domain = email.partition("@")
                emails[i] = f"{local}{count + 1}@{domain}"
        last_company = companies[-1]
        keep = {e: c for e, c in seen.items() if e.endswith("@" + domains[-1])}
        self._emails_seen, self._emails_company = keep, last_company
        return emails

    def _phones(self, rng: np.random.Generator, index: np.ndarray, country: np.ndarray) -> list[str | None]:
        """E.164 mobile numbers for ~40%: a country prefix plus 7 unique subscriber digits."""
        n = len(index)
        has = (rng.random(n) < 0.4) & (index < MAX_PEOPLE_WITH_PHONE)
        subscriber = _affine(index, self.phone, MAX_PEOPLE_WITH_PHONE)
        prefixes = np.empty(n, dtype=object)
        for c in np.unique(country).tolist():
            rows = np.flatnonzero(country == c)
            if len(_PHONE_PREFIXES[c]):
                prefixes[rows] = _PHONE_PREFIXES[c][rng.integers(0, len(_PHONE_PREFIXES[c]), len(rows))]
            else:
                has[rows] = False
        # 7 digits that never start with 0 or 1 (not valid in most numbering plans).
        return [
            f"{p}{2 + s // 1_000_000}{s % 1_000_000:06d}" if keep else None
            for p, s, keep in zip(prefixes.tolist(), subscriber.tolist(), has.tolist())
        ]


def _roles(rng: np.random.Generator, size: np.ndarray) -> tuple[list, list, list]:
    """Seniority, department and a title that fits both; 4% have no title (then none)."""
    n = len(size)
    small = size < SMALL_COMPANY
    u = rng.random(n)
    seniority = np.where(
        small,
        np.searchsorted(_SENIORITY_CDF["small"], u, side="right"),
        np.searchsorted(_SENIORITY_CDF["other"], u, side="right"),
    )
    seniority = np.minimum(seniority, len(SENIORITIES) - 1)
    department = rng.choice(len(DEPARTMENTS), size=n, p=_DEPT_P)
    v = rng.random(n)
    for level, share in EXECUTIVE_SHARE.items():
        department[(seniority == SENIORITIES.index(level)) & (v < share)] = _EXECUTIVE
    cell = department * len(SENIORITIES) + seniority
    pick = _TITLE_START[cell] + rng.integers(0, 1 << 30, n) % _TITLE_COUNT[cell]
    titles, seniorities, departments = (
        _TITLE_NAMES[pick].tolist(), _SENIORITY_NAMES[seniority].tolist(), _DEPT_NAMES[department].tolist()
    )
    for i in np.flatnonzero(rng.random(n) < 0.04).tolist():
        titles[i] = seniorities[i] = departments[i] = None
    return seniorities, departments, titles


def _company_tag_bits(rng: np.random.Generator, n: int) -> np.ndarray:
    """Tag bits per company: customer, target-account and churned exclude one another."""
    bits = np.zeros(n, dtype=np.uint8)
    u = rng.random(n)
    exclusive = ["customer", "target-account", "churned"]
    low = 0.0
    for name in exclusive:
        share = next(t[2] for t in TAGS if t[0] == name)
        bits[(u >= low) & (u < low + share)] |= 1 << _TAG_BIT[name]
        low += share
    customer = (bits & (1 << _TAG_BIT["customer"])) > 0
    for name, _, share, _ in TAGS:
        if name not in exclusive and share:
            chosen = rng.random(n) < share
            if name == "open-opportunity":
                chosen &= ~customer
            bits[chosen] |= 1 << _TAG_BIT[name]
    return bits


def _person_tag_bits(rng: np.random.Generator, n: int, company_bits: np.ndarray) -> np.ndarray:
    bits = np.zeros(n, dtype=np.uint8)
    at_customer = (company_bits & (1 << _TAG_BIT["customer"])) > 0
    bits[at_customer & (rng.random(n) < CUSTOMER_CONTACT_SHARE)] |= 1 << _TAG_BIT["customer"]
    for name, _, _, share in TAGS:
        if share:
            bits[rng.random(n) < share] |= 1 << _TAG_BIT[name]
    return bits


_TAG_BIT = {name: bit for bit, (name, *_) in enumerate(TAGS)}
_NO_ATTRIBUTES: dict = {}


def _company_attributes(rng: np.random.Generator, n: int, size: np.ndarray, age: np.ndarray) -> list[dict]:
    """Custom fields for some companies: funding stage, tech stack, NPS."""
    stage = np.clip((age // 3) + rng.integers(-1, 2, n), 0, len(FUNDING_STAGES) - 2)
    stage = np.where(size >= 5_000, len(FUNDING_STAGES) - 1, stage)
    has_stage = (rng.random(n) < 0.35).tolist()
    has_stack = (rng.random(n) < 0.30).tolist()
    has_nps = (rng.random(n) < 0.20).tolist()
    stages = np.array(FUNDING_STAGES, dtype=object)[stage].tolist()
    stack_size = rng.integers(1, 5, n).tolist()
    stack_pick = rng.integers(0, len(TECH), (n, 4)).tolist()
    nps = np.clip(np.rint(rng.normal(30, 25, n)), -100, 100).astype(int).tolist()
    rows = []
    for i in range(n):
        if not (has_stage[i] or has_stack[i] or has_nps[i]):
            rows.append(_NO_ATTRIBUTES)
            continue
        row = {}
        if has_stage[i]:
            row["funding_stage"] = stages[i]
        if has_stack[i]:
            row["tech_stack"] = sorted({TECH[t] for t in stack_pick[i][: stack_size[i]]})
        if has_nps[i]:
            row["nps"] = nps[i]
        rows.append(row)
    return rows


def _person_attributes(rng: np.random.Generator, n: int, epoch: np.datetime64) -> list[dict]:
    """Custom fields for some people: lead score, last contacted day, newsletter opt-in."""
    has_score = (rng.random(n) < 0.25).tolist()
    has_contact = (rng.random(n) < 0.20).tolist()
    has_opt_in = (rng.random(n) < 0.15).tolist()
    score = np.clip(np.rint(rng.beta(2, 3, n) * 100), 0, 100).astype(int).tolist()
    days_ago = rng.integers(1, 181, n)
    contacted = np.datetime_as_string(epoch.astype("datetime64[D]") - days_ago).tolist()
    opt_in = (rng.random(n) < 0.4).tolist()
    rows = []
    for i in range(n):
        if not (has_score[i] or has_contact[i] or has_opt_in[i]):
            rows.append(_NO_ATTRIBUTES)
            continue
        row = {}
        if has_score[i]:
            row["lead_score"] = score[i]
        if has_contact[i]:
            row["last_contacted"] = contacted[i]
        if has_opt_in[i]:
            row["newsletter_opt_in"] = opt_in[i]
        rows.append(row)
    return rows

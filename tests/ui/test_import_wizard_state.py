"""The import wizard without a browser: streamed upload with its size limit, mapping and the
10-row preview, policies, dry run, the run's progress and the reject report."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path

import pytest
import reflex as rx
import sqlalchemy as sa
from reflex.istate.data import ReflexURL, RouterData

from audiences_app.core.imports import run_import_now
from audiences_app.core.models import Company
from audiences_app.ui import db, downloads
from audiences_app.ui.state import import_wizard
from audiences_app.ui.state.import_wizard import CUSTOM, SKIP, ImportWizardState, upload_dir
from tests.ui.conftest import COMPANIES


def act(call):
    return asyncio.run(call) if asyncio.iscoroutine(call) else call


def background(state, handler, *args) -> None:
    asyncio.run(getattr(type(state), handler).fn(state, *args))


def chunks(name: str, data: bytes, size: int = 4096):
    async def gen():
        for offset in range(0, max(len(data), 1), size):
            yield rx.UploadChunk(filename=name, offset=offset, content_type="text/csv", data=data[offset:offset + size])
    return gen()


def sample_csv(rows: int = 30) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Company Name", "Website", "Industry", "Lead Score"])
    for i in range(rows):
        writer.writerow([f"Newco {i}", f"newco{i}.io", "fintech", str(i * 3)])
    writer.writerow(["Newco 0 again", "newco0.io", "", "99"])  # a duplicate of line 2
    writer.writerow(["No key", "", "fintech", "5"])  # no identity
    return out.getvalue().encode()


@pytest.fixture
def wizard(workspace, settings_env, tmp_path):
    settings_env(DOWNLOADS_DIR=str(tmp_path / "downloads"))
    state = ImportWizardState()
    state.router = RouterData(url=ReflexURL("http://localhost:3000/data-hub/import"))
    state.load()
    return state


def uploaded(state, data: bytes | None = None, name: str = "leads.csv"):
    background(state, "upload_file", chunks(name, sample_csv() if data is None else data))
    return state


def column(state, name):
    return next(c for c in state.columns if c["column"] == name)


def test_upload_lands_under_a_random_name_and_the_mapping_is_suggested(wizard):
    uploaded(wizard, name="../../etc/passwd.csv")
    assert wizard.upload_error == "" and wizard.error == "" and wizard.step == "map"
    path = Path(wizard._path)
    assert path.parent == upload_dir() and "passwd" not in path.name and path.suffix == ".csv"
    assert path.read_bytes() == sample_csv()
    assert wizard.file_label == "passwd.csv"
    assert column(wizard, "Website")["choice"] == "website"
    assert column(wizard, "Company Name")["choice"] == "name"
    assert column(wizard, "Lead Score")["choice"] == SKIP


def test_the_preview_shows_the_first_ten_rows_as_they_would_land(wizard):
    uploaded(wizard)
    assert len(wizard.preview_rows) == 10
    first = wizard.preview_rows[0]
    cells = dict(zip(wizard.preview_fields, first["cells"]))
    assert first["line"] == "2" and cells["website"] == "newco0.io" and cells["name"] == "Newco 0"
    bad = uploaded(ImportWizardStateFresh(wizard), b"Website,Name\n,No key\nok.io,Ok\n")
    assert bad.preview_rows[0]["rejected"] != "" and bad.preview_rows[1]["rejected"] == ""


def ImportWizardStateFresh(old):  # noqa: N802 — a second tab
    state = ImportWizardState()
    state.router = old.router
    return state


def test_an_oversized_or_wrong_file_is_refused_on_the_server(wizard, monkeypatch):
    monkeypatch.setattr(import_wizard, "MAX_UPLOAD_BYTES", 1000)
    uploaded(wizard, sample_csv(100))
    assert "larger than" in wizard.upload_error and wizard.step == "upload" and wizard._path == ""
    assert list(upload_dir().glob("*")) == []
    monkeypatch.setattr(import_wizard, "MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
    uploaded(wizard, b"MZ\x90\x00", name="tool.exe")
    assert "CSV, XLSX or Parquet" in wizard.upload_error and wizard.step == "upload"
    uploaded(wizard, b"", name="empty.csv")
    assert wizard.step == "upload" and (wizard.error or wizard.upload_error)


def test_a_custom_column_a_skip_and_bad_arguments(wizard):
    uploaded(wizard)
    act(wizard.set_choice("Lead Score", f"{CUSTOM}number"))
    assert column(wizard, "Lead Score")["field"] == "lead_score" and "lead_score" in wizard.preview_fields
    assert dict(zip(wizard.preview_fields, wizard.preview_rows[1]["cells"]))["lead_score"] == "3"
    assert wizard.preview_labels[wizard.preview_fields.index("lead_score")] == "Lead score"
    assert wizard.preview_labels[wizard.preview_fields.index("name")] == "Name"
    act(wizard.set_choice("Industry", SKIP))
    assert column(wizard, "Industry")["choice"] == SKIP and "industry" not in wizard.preview_fields
    act(wizard.set_choice("Nope", "name"))
    assert "no such column" in wizard.error
    act(wizard.set_choice("Industry", "password_hash"))
    assert "Choose a field" in wizard.error
    act(wizard.set_choice("Industry", f"{CUSTOM}json"))
    assert "custom field type" in wizard.error
    act(wizard.set_policy("Website", "explode"))
    assert "Choose one of" in wizard.error
    act(wizard.set_policy("Company Name", "fill_blanks"))
    assert wizard.error == "" and column(wizard, "Company Name")["policy"] == "fill_blanks"
    assert wizard._policies == {"name": "fill_blanks"}


def test_dry_run_then_import_then_progress_and_the_reject_report(wizard, workspace):
    uploaded(wizard)
    act(wizard.set_choice("Lead Score", f"{CUSTOM}number"))
    act(wizard.set_policy("Company Name", "fill_blanks"))
    background(wizard, "run_dry_run")
    counts = {c["label"]: c["value"] for c in wizard.dry_counts}
    assert wizard.error == "" and wizard.dry_done
    assert counts == {"Rows read": "32", "Created": "30", "Updated": "0", "Unchanged": "0",
                      "Duplicates merged": "1", "Rejected": "1"}
    assert any(s["kind"] == "reject" for s in wizard.dry_samples)
    with db.engine().connect() as conn:  # nothing written
        assert conn.execute(sa.select(sa.func.count()).select_from(Company.__table__).where(
            Company.__table__.c.workspace_id == workspace.id)).scalar_one() == COMPANIES

    upload = Path(wizard._path)
    events = act(wizard.start_run())
    assert wizard.step == "running" and wizard.run_id and events == ImportWizardState.watch_run
    run_import_now(db.engine(), wizard.run_id, workspace.id)  # the app's worker thread does this
    background(wizard, "watch_run")
    assert wizard.step == "done" and wizard.status == "succeeded" and wizard.progress == 100
    assert not upload.exists()  # the finished run no longer needs the upload
    assert {c["label"]: c["value"] for c in wizard.result_counts}["Created"] == "30"
    assert wizard.reject_url.startswith(downloads.ROUTE + "/")
    report = downloads.downloads_dir() / wizard.reject_url.rsplit("/", 1)[1]
    lines = list(csv.reader(report.read_text(encoding="utf-8-sig").splitlines()))
    assert lines[0][:4] == ["line", "outcome", "column", "reason"] and any(r[0] == "33" for r in lines[1:])
    assert any(r["line"] == "33" for r in wizard.rejects)
    with db.engine().connect() as conn:
        newco = conn.execute(sa.select(Company.__table__).where(
            Company.__table__.c.workspace_id == workspace.id, Company.__table__.c.domain == "newco0.io")).one()
    assert newco.name == "Newco 0" and newco.attributes["lead_score"] == 0  # the duplicate only filled blanks


def test_the_watch_stops_when_the_page_is_left(wizard, workspace):
    uploaded(wizard)
    act(wizard.start_run())
    wizard.router = RouterData(url=ReflexURL("http://localhost:3000/companies"))
    background(wizard, "watch_run")
    assert wizard.step == "running" and not wizard.watching
    wizard.router = RouterData(url=ReflexURL("http://localhost:3000/data-hub/import"))
    assert wizard.load() == ImportWizardState.watch_run  # coming back resumes the watch


def test_choosing_another_file_deletes_the_upload(wizard):
    uploaded(wizard)
    upload = Path(wizard._path)
    wizard.start_over()
    assert wizard.step == "upload" and not upload.exists() and wizard._path == ""


def test_handlers_refuse_out_of_order_calls(wizard):
    act(wizard.start_run())
    assert "Map a file" in wizard.error and wizard.run_id == 0
    act(wizard.set_choice("Website", "domain"))
    assert "Upload a file" in wizard.error
    background(wizard, "run_dry_run")
    assert not wizard.dry_done
    act(wizard.set_entity("everything"))
    assert "Unknown entity" in wizard.error

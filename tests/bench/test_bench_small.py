"""The benchmark suite at a tiny scale, so that it never rots.

Generates data in the test database with COPY, runs every measurement against real processes
(a Celery worker, gunicorn, locust, child processes for exports and the import) for a few
seconds each, and checks the table it writes.
"""

import dataclasses
import re

import pytest

from bench.generate import generate
from bench.scales import SCALES

pytestmark = pytest.mark.django_db(transaction=True)

TINY = dataclasses.replace(
    # Locust runs must outlast logging in 20 users and their first page on a busy machine.
    SCALES["small"],
    refresh_saves=5,
    page_seconds=8,
    load_seconds=6,
    load_users=4,
    load_pace="stress",  # people's pace fills a form in for 5–15 s: nothing would be saved
)


@pytest.fixture
def seeded():
    from programme.categories import categories_seed
    from programme.models import ContributionCategory

    categories_seed(ContributionCategory)


def test_generated_data_keeps_the_rules_of_the_application(seeded):
    from partners.scoping import is_assigned, is_twinned
    from programme.models import Contribution, Difficulty, PlanItem, RollupOutbox, Visit

    data = generate(TINY, log=lambda *_: None)

    assert Contribution.objects.count() == TINY.contributions
    assert Visit.objects.count() == TINY.visits
    assert Difficulty.objects.count() == TINY.difficulties
    assert data["counts"]["plan items"] == PlanItem.objects.count() > 0
    assert not RollupOutbox.objects.exists()  # bulk load bypasses the outbox
    for contribution in Contribution.objects.order_by("?")[:60]:
        contribution.full_clean()
        if contribution.agency_id:
            assert is_assigned(
                agency_id=contribution.agency_id,
                commune_id=contribution.commune_id,
                day=contribution.date,
            )
        else:
            assert is_twinned(
                enterprise_id=contribution.enterprise_id,
                commune_id=contribution.commune_id,
                day=contribution.date,
            )
        assert contribution.value == int(contribution.value) > 0
    for visit in Visit.objects.order_by("?")[:40]:
        visit.full_clean()
        assert is_assigned(agency_id=visit.agency_id, commune_id=visit.commune_id, day=visit.date)
    for difficulty in Difficulty.objects.order_by("?")[:60]:
        difficulty.full_clean()
    assert len(data["users"]["liaisons"]) == TINY.liaisons
    assert all(liaison["communes"] for liaison in data["users"]["liaisons"])


def test_every_measurement_runs_and_writes_its_figures(seeded, tmp_path):
    from bench.__main__ import run_all

    out = tmp_path / "BENCHMARKS.md"
    results = run_all(
        scale_name="small",
        scale=TINY,
        out=out,
        folder=tmp_path / "work",
        command="pytest tests/bench",
        log=lambda *_: None,
    )

    sections = {row.section for row in results.rows}
    assert sections == {
        "1. rollups",
        "2. incremental refresh",
        "3. pages",
        "4. exports",
        "5. import",
        "issue #7: load held",
    }
    for row in results.rows:
        if row.value is None:
            # Only the import may be skipped, and only while its engine is not there.
            assert row.section == "5. import"
            assert "import engine not available" in row.result
        else:
            assert re.search(r"\d", row.result), row
    # Once the import engine is there, every generated row is imported.
    imported = next(row for row in results.rows if row.section == "5. import")
    assert imported.met is not False, imported
    assert len(results.pages) == 5
    for page in results.pages:
        assert page["status"] == 200, page
        assert page["requests"] > 0 and page["failures"] == 0, page
        assert page["queries"] > 0 and page["kib"] > 0
    # The load scenario really saved records through the forms, and the rollups caught up.
    assert results.load["stats"]["Aggregated"]["failures"] == 0
    assert sum(results.load["saved"]) > 0
    assert results.load["drift"] == 0 and results.load["pending"] == 0
    assert results.load["pace"] == "stress"
    assert results.load["cpu"]["web (gunicorn)"] > 0 and results.load["cpu"]["PostgreSQL"] > 0
    # Memory of every process was measured.
    assert len(results.memory) >= 4

    text = out.read_text()
    for heading in ("# Benchmarks", "## Results", "## Pages", "## Memory", "## Load at the stress"):
        assert heading in text
    assert "forms sent as soon as they load" in text and "CPU used during the scenario" in text
    assert "| PostgreSQL | " in text and "| cores | " in text
    table = [
        line
        for line in text.splitlines()
        if line.startswith("| 1. ")
        or line.startswith("| 2. ")
        or line.startswith("| 3. ")
        or line.startswith("| 4. ")
        or line.startswith("| 5. ")
        or line.startswith("| issue #7")
    ]
    assert len(table) == len(results.rows)
    for line in table:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert re.search(r"\d", cells[2]) or "import engine not available" in cells[2], line
        assert cells[4] in {"met", "**missed**", "—"}

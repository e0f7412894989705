"""`manage.py backup PATH` then `manage.py restore PATH` into an empty database.

The backup of this run's test database (records, rollups, an attachment file) is restored into
a new, empty database and another media folder; every table's row count, the rollup totals and
the attachment's bytes must be equal. A restore into a database that is not empty is refused.
"""

import datetime
import subprocess
import sys
import tarfile

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.utils.translation import gettext, override

from programme.categories import categories_seed
from programme.models import Attachment, ContributionCategory
from reports import rollups
from tests.factories import ContributionFactory, DifficultyFactory, UserFactory, VisitFactory
from tests.reliability.conftest import BASE_DIR, subprocess_env, worker_database_url

NOT_EMPTY = (
    "The database %(name)s is not empty. Restore into a new, empty database (createdb), then "
    "point DATABASE_URL at it."
)
NOT_A_BACKUP = "%(path)s is not a backup made by `manage.py backup`."
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _manage(*args: str, database_url: str, media_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=subprocess_env(DATABASE_URL=database_url, DJANGO_MEDIA_ROOT=str(media_root)),
        capture_output=True,
        text=True,
        timeout=300,
    )


def _table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {
            table: conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in tables
        }


def _rollup_totals(url: str) -> tuple:
    with psycopg.connect(url) as conn:
        return conn.execute(
            """SELECT (SELECT SUM(total_value) FROM reports_contributionrollup),
                      (SELECT SUM(count) FROM reports_contributionrollup),
                      (SELECT SUM(count) FROM reports_visitrollup),
                      (SELECT SUM(raised) FROM reports_difficultyrollup),
                      (SELECT SUM(open_count) FROM reports_opendifficulties)"""
        ).fetchone()


@pytest.mark.django_db(transaction=True)
def test_a_backup_restores_into_an_empty_database(empty_database, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    categories_seed(ContributionCategory)
    user = UserFactory()
    for month in (1, 2, 3):
        ContributionFactory(date=datetime.date(2025, month, 5), value=4_500_000 * month)
        DifficultyFactory(raised_on=datetime.date(2025, month, 6))
    visit = VisitFactory(date=datetime.date(2025, 2, 9))
    attachment = Attachment(
        visit=visit, original_name="bien-ban.pdf", content_type="application/pdf",
        size=len(PDF), uploaded_by=user,
    )  # fmt: skip
    attachment.file.save("bien-ban.pdf", ContentFile(PDF), save=False)
    attachment.save()
    rollups.outbox_drain()
    source = worker_database_url()
    archive = tmp_path / "backups" / "programme.tar"

    made = _manage("backup", str(archive), database_url=source, media_root=settings.MEDIA_ROOT)
    assert made.returncode == 0, made.stderr[-3000:]
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert {"manifest.json", "database.dump", f"media/{attachment.file.name}"} <= set(names)

    restored_media = tmp_path / "restored-media"
    done = _manage("restore", str(archive), database_url=empty_database, media_root=restored_media)
    assert done.returncode == 0, done.stderr[-3000:]

    expected, found = _table_counts(source), _table_counts(empty_database)
    assert found == expected
    assert expected["programme_contribution"] == 3 and expected["programme_attachment"] == 1
    assert expected["reports_contributionrollup"] > 0
    assert _rollup_totals(empty_database) == _rollup_totals(source)
    assert _rollup_totals(source)[0] == 27_000_000
    assert (restored_media / attachment.file.name).read_bytes() == PDF

    # The restored database works: its triggers still queue rollup refreshes.
    with psycopg.connect(empty_database, autocommit=True) as conn:
        conn.execute("UPDATE programme_contribution SET value = value + 1")
        assert conn.execute("SELECT COUNT(*) FROM programme_rollupoutbox").fetchone()[0] >= 3

    again = _manage("restore", str(archive), database_url=empty_database, media_root=restored_media)
    assert again.returncode != 0
    name = empty_database.rsplit("/", 1)[1]
    with override("vi"):  # the commands speak the site's language
        assert gettext(NOT_EMPTY) % {"name": name} in again.stderr


def test_restore_refuses_a_file_that_is_not_a_backup(django_db_setup, tmp_path):
    other = tmp_path / "other.tar"
    with tarfile.open(other, "w") as tar:
        (tmp_path / "note.txt").write_text("not a backup")
        tar.add(tmp_path / "note.txt", arcname="note.txt")
    target = worker_database_url()
    before = _table_counts(target)
    done = _manage("restore", str(other), database_url=target, media_root=tmp_path / "m")
    assert done.returncode != 0
    with override("vi"):
        assert gettext(NOT_A_BACKUP) % {"path": other} in done.stderr
    assert _table_counts(target) == before
    assert not (tmp_path / "m").exists()

"""Backup and restore: the database (pg_dump custom format) and the uploaded files, one archive.

`python manage.py backup PATH` writes a tar file holding
- `manifest.json`: when, which server and pg_dump versions, the row count of every table;
- `database.dump`: `pg_dump --format=custom` of the database;
- `media/…`: every file under MEDIA_ROOT (attachments, exports).
The counts and the dump come from one snapshot (pg_dump --snapshot), so they agree even while
people keep saving.

`python manage.py restore PATH` loads such an archive into an empty database (pg_restore in one
transaction: all or nothing), puts the files back under MEDIA_ROOT, then compares every table's
row count with the manifest.

pg_dump refuses a server newer than itself, and pg_restore an archive from a newer pg_dump: the
tools are looked for in PG_BIN_DIR, on PATH, under /usr/lib/postgresql/*/bin and in the pgserver
package (PostgreSQL 16, a dependency of the project), and the oldest one that is not older than
the server (and than the archive) is used.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

FORMAT = 1
DUMP_NAME = "database.dump"
MANIFEST_NAME = "manifest.json"
MEDIA_DIR = "media"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True)
class Tool:
    path: str
    major: int


def _major(version_num: int) -> int:
    return version_num // 10000


def _candidate_dirs() -> list[str]:
    dirs = []
    if os.environ.get("PG_BIN_DIR"):
        dirs.append(os.environ["PG_BIN_DIR"])
    dirs += [os.path.dirname(found) for found in [shutil.which("pg_dump")] if found]
    dirs += sorted(glob("/usr/lib/postgresql/*/bin"))
    try:
        import pgserver

        dirs.append(str(Path(pgserver.__file__).parent / "pginstall" / "bin"))
    except ImportError:  # pragma: no cover (a dependency; optional for this module)
        pass
    return list(dict.fromkeys(dirs))


def find_tool(name: str, *, at_least: int) -> Tool:
    """The oldest `name` (pg_dump, pg_restore) whose major version is at least `at_least`."""
    found = []
    for folder in _candidate_dirs():
        path = os.path.join(folder, name)
        if not os.access(path, os.X_OK):
            continue
        try:
            out = subprocess.run(
                [path, "--version"], capture_output=True, text=True, timeout=20, check=True
            ).stdout
        except (OSError, subprocess.SubprocessError):
            continue
        match = re.search(r"(\d+)(?:\.\d+)?", out)
        if match:
            found.append(Tool(path, int(match.group(1))))
    fitting = sorted((tool for tool in found if tool.major >= at_least), key=lambda t: t.major)
    if not fitting:
        seen = ", ".join(f"{tool.path} ({tool.major})" for tool in found) or "none"
        raise BackupError(
            _(
                "No %(tool)s of PostgreSQL %(version)s or newer was found (found: %(seen)s). "
                "Install the PostgreSQL %(version)s client tools or set PG_BIN_DIR."
            )
            % {"tool": name, "version": at_least, "seen": seen}
        )
    return fitting[0]


def _pg_env() -> dict[str, str]:
    db = settings.DATABASES["default"]
    env = {**os.environ, "PGDATABASE": db["NAME"]}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = db["PASSWORD"]
    return env


def server_major() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version_num")
        return _major(int(cursor.fetchone()[0]))


def table_counts() -> dict[str, int]:
    """Row count of every table of the public schema (in the current transaction's snapshot)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            # Names come from pg_tables, quoted by psycopg.
            cursor.execute(sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(table)))
            counts[table] = cursor.fetchone()[0]
        return counts


def backup(path: Path, *, media_root: Path | None = None) -> dict:
    """Write the archive to `path` (through a temporary file: never a half-written archive)."""
    media_root = Path(media_root or settings.MEDIA_ROOT)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    major = server_major()
    pg_dump = find_tool("pg_dump", at_least=major)
    with tempfile.TemporaryDirectory(dir=path.parent) as work:
        dump = Path(work) / DUMP_NAME
        # One snapshot for the counts and the dump: export it and keep it open meanwhile.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            counts = table_counts()
            done = subprocess.run(
                [pg_dump.path, "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                 "--no-privileges", f"--file={dump}"],
                env=_pg_env(), capture_output=True, text=True,
            )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(_("pg_dump failed: %(error)s") % {"error": done.stderr[-2000:]})
        manifest = {
            "format": FORMAT,
            "created_at": timezone.now().isoformat(),
            "database": settings.DATABASES["default"]["NAME"],
            "server_major": major,
            "pg_dump_major": pg_dump.major,
            "tables": counts,
        }
        (Path(work) / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1))
        partial = Path(work) / "archive.tar"
        files = 0
        with tarfile.open(partial, "w") as archive:
            archive.add(Path(work) / MANIFEST_NAME, arcname=MANIFEST_NAME)
            archive.add(dump, arcname=DUMP_NAME)
            if media_root.is_dir():
                for file in sorted(media_root.rglob("*")):
                    if file.is_file():
                        archive.add(file, arcname=f"{MEDIA_DIR}/{file.relative_to(media_root)}")
                        files += 1
        os.replace(partial, path)
    manifest["media_files"] = files
    return manifest


def _safe_members(archive: tarfile.TarFile) -> list[tarfile.TarInfo]:
    members = []
    for member in archive.getmembers():
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts or not (member.isfile() or member.isdir()):
            raise BackupError(
                _("The archive holds an unsafe entry: %(name)s") % {"name": member.name}
            )
        members.append(member)
    return members


def database_is_empty() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
        return cursor.fetchone()[0] == 0


def restore(path: Path, *, media_root: Path | None = None) -> dict:
    """Load the archive into the (empty) database and MEDIA_ROOT; check every table's count."""
    media_root = Path(media_root or settings.MEDIA_ROOT)
    path = Path(path)
    if not path.is_file():
        raise BackupError(_("No backup file at %(path)s.") % {"path": path})
    with tempfile.TemporaryDirectory() as work, tarfile.open(path, "r") as archive:
        members = _safe_members(archive)
        names = {member.name for member in members}
        if MANIFEST_NAME not in names or DUMP_NAME not in names:
            raise BackupError(
                _("%(path)s is not a backup made by `manage.py backup`.") % {"path": path}
            )
        if not database_is_empty():
            raise BackupError(
                _(
                    "The database %(name)s is not empty. Restore into a new, empty database "
                    "(createdb), then point DATABASE_URL at it."
                )
                % {"name": settings.DATABASES["default"]["NAME"]}
            )
        archive.extractall(work, members=members, filter="data")
        manifest = json.loads((Path(work) / MANIFEST_NAME).read_text())
        if manifest.get("format") != FORMAT:
            raise BackupError(
                _("Unknown backup format %(format)s.") % {"format": manifest.get("format")}
            )
        major = server_major()
        pg_restore = find_tool("pg_restore", at_least=max(major, manifest["pg_dump_major"]))
        connection.close()  # pg_restore works in its own session
        done = subprocess.run(
            [pg_restore.path, "--single-transaction", "--exit-on-error", "--no-owner",
             "--no-privileges", f"--dbname={settings.DATABASES['default']['NAME']}",
             str(Path(work) / DUMP_NAME)],
            env=_pg_env(), capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode != 0:
            raise BackupError(_("pg_restore failed: %(error)s") % {"error": done.stderr[-2000:]})
        files = 0
        source = Path(work) / MEDIA_DIR
        if source.is_dir():
            for file in sorted(source.rglob("*")):
                if file.is_file():
                    target = media_root / file.relative_to(source)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(file, target)
                    files += 1
    counts = table_counts()
    different = {
        table: (expected, counts.get(table))
        for table, expected in manifest["tables"].items()
        if counts.get(table) != expected
    }
    if different:
        raise BackupError(
            _("Row counts differ after the restore (expected, found): %(tables)s")
            % {"tables": different}
        )
    return {**manifest, "media_files": files}

"""One export or import in a process of its own, so that its time and peak memory are its own.

    python -m bench.child report ID xlsx|pdf
    python -m bench.child export JOB_ID
    python -m bench.child import PATH USERNAME

Prints one JSON line: seconds, peak resident memory (VmHWM), memory after start-up, output.
"""

import json
import os
import sys
import time


def _status_mib(field: str) -> float:
    """VmRSS (now) or VmHWM (peak) of this process, from /proc: unlike getrusage's ru_maxrss,
    the peak is this program's own, not the larger parent it was forked from."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_import(path: str, username: str) -> dict:
    """THE IMPORT STEP (issue #6, measurement 5): the dry run and the commit of the import
    engine, as its worker tasks run them, on an upload made by `username`.

    Raises LookupError when the engine is not there: the benchmark then reports the step as
    skipped ("import engine not available") instead of failing.
    """
    import hashlib

    try:
        from programme.imports import engine
        from programme.imports.models import ImportJob
    except ImportError as error:
        raise LookupError("import engine not available") from error
    from django.contrib.auth import get_user_model
    from django.core.files.base import ContentFile
    from django.utils import translation

    user = get_user_model().objects.get(username=username)
    with open(path, "rb") as handle:
        data = handle.read()
    name = os.path.basename(path)
    job = ImportJob(
        kind="contributions",
        original_name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created_by=user,
        language="vi",
    )
    job.file.save(name, ContentFile(data), save=False)
    job.save()
    with translation.override("vi"):
        began = time.perf_counter()
        engine.check(job)
        checked = time.perf_counter() - began
        if job.status == ImportJob.Status.CHECKED and not job.problem_rows:
            engine.commit(job)
    job.refresh_from_db()
    return {
        "rows": job.rows_total,
        "created": job.created,
        "duplicates": job.duplicates,
        "problems": job.problem_rows,
        "status": job.status,
        "check_seconds": round(checked, 3),
        "message": (job.message or "")[:200],
        "first_problems": [str(p)[:200] for p in (job.problems or [])[:3]],
        "problem_sheet_rows": sorted(
            {p[0] for p in (job.problems or []) if p and isinstance(p[0], int)}
        ),
    }


def main(argv: list[str]) -> dict:
    import django

    django.setup()
    baseline = _status_mib("VmRSS")
    began = time.perf_counter()
    answer: dict = {}
    if argv[0] == "report":
        from reports import exports
        from reports.models import PeriodReport

        report = PeriodReport.objects.get(pk=int(argv[1]))
        make = exports.report_pdf if argv[2] == "pdf" else exports.report_xlsx
        answer["bytes"] = len(make(report))
    elif argv[0] == "export":
        from reports import exports
        from reports.models import ExportJob

        answer["rows"] = exports.contributions_export_run(int(argv[1]))
        job = ExportJob.objects.get(pk=int(argv[1]))
        answer["bytes"] = job.file.size if job.file else 0
        answer["status"] = job.status
    elif argv[0] == "import":
        try:
            answer.update(run_import(argv[1], argv[2]))
        except LookupError as error:
            answer["skipped"] = str(error)
    else:
        raise SystemExit(f"unknown step {argv[0]}")
    answer["seconds"] = round(time.perf_counter() - began, 3)
    answer["baseline_mib"] = round(baseline, 1)
    answer["peak_mib"] = round(_status_mib("VmHWM"), 1)
    return answer


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))

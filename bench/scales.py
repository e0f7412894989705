"""How much data each scale generates and how long each measurement runs."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    all_units: bool  # every commune of the country, or only Ninh Bình's
    agencies: int
    enterprises: int
    contributions: int
    visits: int
    difficulties: int
    plans: int  # (commune, year) plans, each with ITEMS_PER_PLAN items
    liaisons: int  # bench users acting for an agency (the #7 load scenario logs them in)
    export_rows: int  # rows of the large contributions export
    import_rows: int  # rows of the generated import spreadsheet
    refresh_saves: int  # contributions committed to time the incremental refresh
    page_seconds: int  # each locust run of the page measurements
    load_users: int  # the #7 load scenario
    load_seconds: int
    load_pace: str = "human"  # bench.locust_common.PACES


ITEMS_PER_PLAN = 3

SCALES = {
    "full": Scale(
        "full",
        all_units=True,
        agencies=1000,
        enterprises=3000,
        contributions=2_000_000,
        visits=1_000_000,
        difficulties=200_000,
        plans=100_000,
        liaisons=60,
        export_rows=1_000_000,
        import_rows=100_000,
        refresh_saves=200,
        page_seconds=60,
        load_users=50,
        load_seconds=600,
    ),
    "medium": Scale(
        "medium",
        all_units=True,
        agencies=1000,
        enterprises=3000,
        contributions=200_000,
        visits=100_000,
        difficulties=20_000,
        plans=10_000,
        liaisons=60,
        export_rows=100_000,
        import_rows=10_000,
        refresh_saves=200,
        page_seconds=30,
        load_users=50,
        load_seconds=60,
    ),
    "small": Scale(
        "small",
        all_units=False,
        agencies=20,
        enterprises=60,
        contributions=2_000,
        visits=1_000,
        difficulties=200,
        plans=100,
        liaisons=6,
        export_rows=1_000,
        import_rows=100,
        refresh_saves=20,
        page_seconds=10,
        load_users=6,
        load_seconds=10,
    ),
}

"""Demo field work on top of `load_demo`: visits, difficulties, contributions and plans.

`manage.py load_demo_activity` writes, through the same services the pages use, a few years of
plausible work for each demo special commune. It runs once: when demo activity exists it leaves
it alone. Records are marked `is_demo=True`.
"""

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import DateTimeField, ExpressionWrapper, F
from django.utils import timezone

from communes.models import Designation
from partners.models import Assignment, Role, Twinning
from programme import services
from programme.models import (
    Area,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    Visit,
)

SEED = 2016
FIRST_YEAR = 2024

VILLAGES = ["Thôn 1", "Thôn 2", "Thôn 3", "Thôn Đông", "Thôn Trung", "Thôn Bắc", "Xóm Mới"]
VISIT_SUMMARIES = [
    "Dự sinh hoạt chi bộ; nắm tình hình sản xuất, đời sống nhân dân.",
    "Dự sinh hoạt chi bộ; quán triệt nghị quyết, trao đổi về xây dựng nông thôn mới.",
    "Dự sinh hoạt chi bộ; chi bộ phản ánh khó khăn về giao thông nội đồng.",
]
DIFFICULTIES = [
    (Area.NTM, "Đường trục thôn xuống cấp, mùa mưa ngập úng.", "Hỗ trợ xi măng làm lại đường."),
    (Area.NTM, "Nhà văn hóa thôn chưa có thiết bị âm thanh.", "Hỗ trợ bộ âm thanh, bàn ghế."),
    (Area.ECONOMY, "Thiếu vốn chuyển đổi cơ cấu cây trồng.", "Kết nối vốn vay ưu đãi."),
    (Area.WELFARE, "Nhiều hộ nghèo ở nhà tạm, dột nát.", "Vận động xây nhà Đại đoàn kết."),
    (Area.PARTY, "Thiếu máy tính cho văn phòng Đảng ủy.", "Hỗ trợ 2 bộ máy tính."),
]
CONTRIBUTIONS = [
    ("scholarships", "Trao học bổng cho học sinh nghèo vượt khó", 10, 40, "suất"),
    ("solidarity-houses", "Hỗ trợ xây nhà Đại đoàn kết", 40, 80, "nhà"),
    ("gifts", "Tặng quà Tết cho hộ nghèo, gia đình chính sách", 10, 60, "suất"),
    ("seed-stock", "Hỗ trợ giống lúa chất lượng cao", 15, 90, "kg"),
    ("roads", "Hỗ trợ xi măng làm đường giao thông nông thôn", 50, 300, "tấn"),
    ("medical", "Khám bệnh, cấp thuốc miễn phí cho người dân", 10, 50, "lượt"),
    ("office-equipment", "Tặng máy tính cho văn phòng xã", 15, 40, "bộ"),
]
PLAN_ITEMS = [
    (Area.PARTY, "Dự sinh hoạt chi bộ các thôn hằng tháng", "month"),
    (Area.NTM, "Hỗ trợ làm đường giao thông nội đồng", "quarter"),
    (Area.WELFARE, "Tặng quà Tết cho hộ nghèo", "quarter"),
    (Area.ECONOMY, "Tập huấn kỹ thuật trồng lúa chất lượng cao", "year"),
]


def _month_starts(first: date, last: date):
    day = first.replace(day=1)
    while day <= last:
        yield day
        day = (day + timedelta(days=32)).replace(day=1)


def demo_activity_load(*, today: date | None = None) -> Counter:
    today = today or timezone.localdate()
    counts: Counter = Counter()
    if Visit.objects.filter(is_demo=True).exists():
        counts["already loaded"] = 1
        return counts
    rng = random.Random(SEED)
    user = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
    categories = {c.code: c for c in ContributionCategory.objects.all()}
    designations = Designation.objects.filter(is_demo=True).select_related("commune")
    with transaction.atomic():
        for designation in designations.order_by("commune__name"):
            commune = designation.commune
            lead = (
                Assignment.objects.active_on(today)
                .filter(commune=commune, role=Role.LEAD)
                .select_related("agency")
                .first()
            )
            if lead is None:
                continue  # the unit ended; its term ended with it
            twinning = Twinning.objects.active_on(today).filter(commune=commune).first()
            created = _commune_activity(
                rng,
                user=user,
                commune=commune,
                agency=lead.agency,
                twinning=twinning,
                categories=categories,
                today=today,
            )
            counts.update(created)
        for model in (Visit, Difficulty, Contribution, Plan, PlanItem):
            model.objects.filter(created_by=user, is_demo=False).update(is_demo=True)
        # As if each visit had been recorded the day after it, not all at loading time.
        Visit.objects.filter(is_demo=True).update(
            created_at=ExpressionWrapper(
                F("date") + timedelta(days=1, hours=9), output_field=DateTimeField()
            )
        )
    return counts


def _commune_activity(rng, *, user, commune, agency, twinning, categories, today) -> Counter:
    counts: Counter = Counter()
    visits = []
    for month in _month_starts(today - timedelta(days=365), today):
        if rng.random() < 0.15:
            continue  # a month without a visit: the completeness view will show it
        day = month + timedelta(days=rng.randint(3, 24))
        if day > today:
            continue
        visits.append(
            services.visit_record(
                user=user,
                commune=commune,
                agency=agency,
                date=day,
                kind=Visit.Kind.CELL_MEETING,
                village=rng.choice(VILLAGES),
                participants_count=rng.randint(2, 4),
                summary=rng.choice(VISIT_SUMMARIES),
            )
        )
    counts["visits"] += len(visits)
    for area, description, proposal in rng.sample(DIFFICULTIES, 2):
        visit = rng.choice(visits)
        difficulty = services.difficulty_record(
            user=user,
            commune=commune,
            raised_on=visit.date,
            area=area,
            description=description,
            proposal=proposal,
            visit=visit,
        )
        counts["difficulties"] += 1
        resolved_on = visit.date + timedelta(days=rng.randint(20, 120))
        if rng.random() < 0.5 and resolved_on <= today:
            services.difficulty_update(
                user=user,
                difficulty=difficulty,
                expected_version=difficulty.version,
                status=Difficulty.Status.RESOLVED,
                resolution="Đã hỗ trợ theo đề xuất.",
                resolved_on=resolved_on,
            )
    for year in range(FIRST_YEAR, today.year + 1):
        for _ in range(rng.randint(2, 4)):
            code, description, low, high, unit = rng.choice(CONTRIBUTIONS)
            day = date(year, rng.randint(1, 12), rng.randint(1, 28))
            if day > today:
                continue
            by_enterprise = twinning is not None and rng.random() < 0.4
            services.contribution_record(
                user=user,
                date=day,
                commune=commune,
                agency=None if by_enterprise else agency,
                enterprise=twinning.enterprise if by_enterprise else None,
                category=categories[code],
                form=Contribution.Form.CASH
                if code == "scholarships"
                else Contribution.Form.IN_KIND,
                value=Decimal(rng.randint(low, high) * 1_000_000),
                quantity=Decimal(rng.randint(5, 50)),
                unit=unit,
                beneficiaries=rng.randint(5, 60),
                description=description,
            )
            counts["contributions"] += 1
    plan = services.plan_create(user=user, commune=commune, year=today.year)
    for area, title, period in PLAN_ITEMS:
        number = None if period == "year" else (today.month if period == "month" else 4)
        services.plan_item_add(
            user=user, plan=plan, area=area, title=title, period_kind=period, period_number=number
        )
        counts["plan items"] += 1
    return counts

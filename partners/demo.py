"""Demo data on top of the real Ninh Bình units: `manage.py load_demo` (see `demo_load`).

Everything here is deterministic, so that a second run finds every record and creates nothing.
Records are looked up by their natural key and created only when missing: a run never
overwrites what somebody changed by hand. Every demo record has `is_demo=True`, except the
programme (real reference data), the users (the auth model has no such flag) and the
historical unit Gia Tiến (a real unit).
"""

import random
from collections import Counter, defaultdict
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models, transaction

from communes.loader import LEGACY_UNTIL
from communes.models import (
    AdminUnit,
    CriteriaSet,
    Designation,
    NtmLevel,
    NtmRecognition,
    Programme,
    Succession,
)
from communes.text import fold
from partners.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from partners.models import Agency, Assignment, Enterprise, Membership, Role, Twinning
from partners.services import membership_create, roles_ensure

PROGRAMME_CODE = "qd140"
DECISION = "140-QĐ/TU"
# The day the designations and the first assignments and twinnings start. The signing date of
# Decision 140-QĐ/TU is not recorded here; an administrator can correct `started_on`.
PROGRAMME_START = date(2016, 6, 1)
CO_START = date(2017, 1, 1)

LEGACY_KEY_PREFIX = "legacy:tinhninhbinh_"
HISTORICAL_KEY_PREFIX = "historical:"

# Communes named in the programme's reports, in this order. The agency and the enterprise of
# the same position in AGENCIES and ENTERPRISES lead there (so Chất Bình, second, is led by the
# second agency and twinned with the second enterprise).
NAMED_COMMUNES = [
    "Khánh Hồng",
    "Chất Bình",
    "Gia Hưng",
    "Gia Tiến",
    "Gia Phương",
    "Ninh Hòa",
    "Ninh Xuân",
    "Lai Thành",
    "Yên Thành",
]
DESIGNATED_COUNT = 55
SAMPLE_SEED = 140
# Legacy units left out of the random draw: Tiến Thắng was formed from Gia Tiến (designated as
# itself) and Gia Thắng, so it did not exist in 2016.
NOT_DRAWN = {"Tiến Thắng"}

# After year one, 6 special communes had reached the NTM standard (DESIGN.md). The split between
# 2016 and 2017 is illustrative.
RECOGNITIONS = [
    ("Gia Hưng", 2016),
    ("Ninh Hòa", 2016),
    ("Khánh Hồng", 2016),
    ("Gia Tiến", 2017),
    ("Ninh Xuân", 2017),
    ("Lai Thành", 2017),
]

Kind = Agency.Kind
# name, short name, kind
AGENCIES = [
    ("Ban Tổ chức Tỉnh ủy", "Ban Tổ chức TU", Kind.PARTY),
    ("Sở Nông nghiệp và Phát triển nông thôn", "Sở NN&PTNT", Kind.STATE),
    ("Sở Tài chính", "Sở Tài chính", Kind.STATE),
    ("Bộ Chỉ huy Quân sự tỉnh", "Bộ CHQS tỉnh", Kind.ARMED),
    ("Công an tỉnh", "Công an tỉnh", Kind.ARMED),
    ("Ủy ban Kiểm tra Tỉnh ủy", "UBKT Tỉnh ủy", Kind.PARTY),
    ("Ban Tuyên giáo Tỉnh ủy", "Ban Tuyên giáo TU", Kind.PARTY),
    ("Ban Dân vận Tỉnh ủy", "Ban Dân vận TU", Kind.PARTY),
    ("Ban Nội chính Tỉnh ủy", "Ban Nội chính TU", Kind.PARTY),
    ("Văn phòng Tỉnh ủy", "VP Tỉnh ủy", Kind.PARTY),
    ("Đảng ủy Khối các cơ quan tỉnh", "ĐU Khối CCQ tỉnh", Kind.PARTY),
    ("Đảng ủy Khối Doanh nghiệp tỉnh", "ĐU Khối DN tỉnh", Kind.PARTY),
    ("Báo Ninh Bình", "Báo Ninh Bình", Kind.PUBLIC_SERVICE),
    ("Trường Chính trị tỉnh", "Trường Chính trị", Kind.PUBLIC_SERVICE),
    ("Văn phòng Đoàn đại biểu Quốc hội và Hội đồng nhân dân tỉnh", "VP Đoàn ĐBQH&HĐND", Kind.STATE),
    ("Văn phòng Ủy ban nhân dân tỉnh", "VP UBND tỉnh", Kind.STATE),
    ("Sở Kế hoạch và Đầu tư", "Sở KH&ĐT", Kind.STATE),
    ("Sở Công Thương", "Sở Công Thương", Kind.STATE),
    ("Sở Xây dựng", "Sở Xây dựng", Kind.STATE),
    ("Sở Giao thông vận tải", "Sở GTVT", Kind.STATE),
    ("Sở Tài nguyên và Môi trường", "Sở TN&MT", Kind.STATE),
    ("Sở Giáo dục và Đào tạo", "Sở GD&ĐT", Kind.STATE),
    ("Sở Y tế", "Sở Y tế", Kind.STATE),
    ("Sở Lao động – Thương binh và Xã hội", "Sở LĐ-TB&XH", Kind.STATE),
    ("Sở Văn hóa và Thể thao", "Sở VH&TT", Kind.STATE),
    ("Sở Du lịch", "Sở Du lịch", Kind.STATE),
    ("Sở Khoa học và Công nghệ", "Sở KH&CN", Kind.STATE),
    ("Sở Thông tin và Truyền thông", "Sở TT&TT", Kind.STATE),
    ("Sở Tư pháp", "Sở Tư pháp", Kind.STATE),
    ("Sở Nội vụ", "Sở Nội vụ", Kind.STATE),
    ("Sở Ngoại vụ", "Sở Ngoại vụ", Kind.STATE),
    ("Thanh tra tỉnh", "Thanh tra tỉnh", Kind.STATE),
    ("Ban Quản lý các khu công nghiệp tỉnh", "BQL các KCN", Kind.STATE),
    ("Cục Thuế tỉnh", "Cục Thuế", Kind.STATE),
    ("Kho bạc Nhà nước tỉnh", "KBNN tỉnh", Kind.STATE),
    ("Ngân hàng Nhà nước Chi nhánh tỉnh Ninh Bình", "NHNN Ninh Bình", Kind.STATE),
    ("Bảo hiểm xã hội tỉnh", "BHXH tỉnh", Kind.STATE),
    ("Cục Thống kê tỉnh", "Cục Thống kê", Kind.STATE),
    ("Tòa án nhân dân tỉnh", "TAND tỉnh", Kind.STATE),
    ("Viện Kiểm sát nhân dân tỉnh", "VKSND tỉnh", Kind.STATE),
    ("Cục Thi hành án dân sự tỉnh", "Cục THADS", Kind.STATE),
    ("Ngân hàng Chính sách xã hội Chi nhánh tỉnh Ninh Bình", "NHCSXH Ninh Bình", Kind.OTHER),
    ("Ủy ban Mặt trận Tổ quốc Việt Nam tỉnh", "UB MTTQ tỉnh", Kind.MASS),
    ("Hội Liên hiệp Phụ nữ tỉnh", "Hội LHPN tỉnh", Kind.MASS),
    ("Tỉnh đoàn Ninh Bình", "Tỉnh đoàn", Kind.MASS),
    ("Hội Nông dân tỉnh", "Hội Nông dân", Kind.MASS),
    ("Hội Cựu chiến binh tỉnh", "Hội CCB tỉnh", Kind.MASS),
    ("Liên đoàn Lao động tỉnh", "LĐLĐ tỉnh", Kind.MASS),
    ("Liên minh Hợp tác xã tỉnh", "Liên minh HTX", Kind.MASS),
    ("Hội Chữ thập đỏ tỉnh", "Hội CTĐ tỉnh", Kind.MASS),
    ("Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "BĐBP tỉnh", Kind.ARMED),
    ("Đài Phát thanh và Truyền hình Ninh Bình", "Đài PT-TH", Kind.PUBLIC_SERVICE),
    ("Trường Đại học Hoa Lư", "ĐH Hoa Lư", Kind.PUBLIC_SERVICE),
    ("Bệnh viện Đa khoa tỉnh", "BVĐK tỉnh", Kind.PUBLIC_SERVICE),
    ("Ban Quản lý Quần thể danh thắng Tràng An", "BQL Tràng An", Kind.PUBLIC_SERVICE),
]

# Agencies that also share responsibility for a second commune (agency, commune).
CO_RESPONSIBLE = [
    ("Bộ Chỉ huy Quân sự tỉnh", "Chất Bình"),
    ("Công an tỉnh", "Yên Thành"),
    ("Hội Nông dân tỉnh", "Gia Phương"),
    ("Bộ Chỉ huy Bộ đội Biên phòng tỉnh", "Lai Thành"),
]

# Names made up to sound local (places and trades of Ninh Bình); any likeness to a real
# company is accidental. name, sector
ENTERPRISES = [
    ("Công ty Cổ phần Vật liệu xây dựng Hoa Lư", "Vật liệu xây dựng"),
    ("Công ty TNHH Cơ khí chính xác Gián Khẩu", "Cơ khí"),
    ("Công ty Cổ phần Du lịch sinh thái Vân Long", "Du lịch"),
    ("Công ty TNHH May xuất khẩu Kim Sơn", "Dệt may"),
    ("Công ty Cổ phần Chế biến nông sản Yên Khánh", "Chế biến nông sản"),
    ("Công ty TNHH Thủ công mỹ nghệ cói Kim Sơn", "Thủ công mỹ nghệ"),
    ("Công ty Cổ phần Đá mỹ nghệ Ninh Vân", "Thủ công mỹ nghệ"),
    ("Công ty TNHH Thương mại và Dịch vụ Tràng An Xanh", "Thương mại"),
    ("Công ty Cổ phần Xây dựng và Giao thông Nam Ninh", "Xây dựng"),
    ("Công ty TNHH Điện tử Khánh Phú", "Điện tử"),
    ("Công ty Cổ phần Phân bón hữu cơ Tam Điệp", "Phân bón"),
    ("Công ty TNHH Linh kiện ô tô Gia Viễn", "Cơ khí ô tô"),
    ("Công ty Cổ phần Thực phẩm Yên Mô", "Thực phẩm"),
    ("Công ty TNHH Chăn nuôi Đồng Giao", "Chăn nuôi"),
    ("Công ty Cổ phần Nước sạch nông thôn Hoa Lư", "Cấp nước"),
    ("Công ty TNHH Vận tải hành khách Cúc Phương", "Vận tải"),
    ("Công ty Cổ phần Dược liệu Nho Quan", "Dược liệu"),
    ("Công ty TNHH Giày da Tam Điệp", "Da giày"),
    ("Công ty Cổ phần Đầu tư và Phát triển nhà Ninh Khánh", "Bất động sản"),
    ("Công ty TNHH Nông nghiệp công nghệ cao Gia Lạc", "Nông nghiệp"),
    ("Công ty TNHH Rau quả Tam Điệp", "Chế biến nông sản"),
    ("Công ty Cổ phần Gạch ngói Gia Thanh", "Vật liệu xây dựng"),
    ("Công ty TNHH Thủy sản Cồn Thoi", "Thủy sản"),
    ("Công ty TNHH Sản xuất bao bì Ninh Phúc", "Bao bì"),
    ("Công ty TNHH Dịch vụ kho vận Ninh Phúc", "Kho vận"),
    ("Công ty TNHH Khách sạn và Nhà hàng Bích Động", "Khách sạn, nhà hàng"),
    ("Công ty TNHH Gốm sứ Bồ Bát", "Gốm sứ"),
    ("Công ty Cổ phần Thêu ren Văn Lâm", "Thủ công mỹ nghệ"),
    ("Công ty TNHH Mộc mỹ nghệ Phúc Lộc", "Đồ gỗ"),
    ("Công ty TNHH Rượu truyền thống Kim Sơn", "Đồ uống"),
    ("Công ty TNHH Chế biến thịt dê núi Tam Điệp", "Thực phẩm"),
    ("Công ty TNHH Xăng dầu Yên Khánh", "Xăng dầu"),
    ("Công ty Cổ phần Xây lắp điện Hoa Lư", "Xây lắp điện"),
    ("Công ty TNHH Công nghệ thông tin Hoa Lư Số", "Công nghệ thông tin"),
    ("Công ty Cổ phần In và Bao bì Tam Cốc", "In ấn"),
    ("Công ty TNHH Du lịch Tam Cốc – Bích Động", "Du lịch"),
    ("Công ty Cổ phần Thức ăn chăn nuôi Gia Viễn", "Thức ăn chăn nuôi"),
    ("Công ty TNHH Nội thất Yên Ninh", "Đồ gỗ"),
    ("Công ty Cổ phần Bê tông Phú Sơn", "Vật liệu xây dựng"),
    ("Công ty TNHH Vật liệu đá Yên Lâm", "Vật liệu xây dựng"),
    ("Công ty Cổ phần Dịch vụ môi trường Ninh Bình Xanh", "Môi trường"),
    ("Công ty Cổ phần Giống lúa Khánh Thiện", "Giống cây trồng"),
    ("Công ty TNHH Nấm sạch Gia Sinh", "Nông nghiệp"),
    ("Công ty Cổ phần Nông sản sạch Yên Đồng", "Nông nghiệp"),
    ("Công ty TNHH Thương mại tổng hợp Phát Diệm", "Thương mại"),
    ("Công ty TNHH Xây dựng Bình Minh Kim Sơn", "Xây dựng"),
    ("Công ty Cổ phần Cơ điện Khánh Cư", "Cơ điện"),
    ("Công ty TNHH Dệt kim Ninh Khánh", "Dệt may"),
    ("Công ty Cổ phần Sữa bò Nho Quan", "Sữa"),
    ("Công ty TNHH Du lịch Cúc Phương Xanh", "Du lịch"),
    ("Công ty TNHH Cơ khí nông nghiệp Yên Mô", "Cơ khí"),
    ("Công ty TNHH Đồ gỗ Gia Trung", "Đồ gỗ"),
    ("Công ty Cổ phần Phát triển hạ tầng Khánh Phú", "Hạ tầng khu công nghiệp"),
    ("Công ty TNHH Sản xuất hàng tiêu dùng Tam Điệp", "Hàng tiêu dùng"),
    ("Công ty TNHH Điện mặt trời Kim Đông", "Năng lượng"),
    ("Công ty TNHH Phụ tùng xe máy Gián Khẩu", "Cơ khí"),
]

# Enterprises (by position in ENTERPRISES) twinned with a second commune (by position in the
# designated list), beside their own. The 56th enterprise has none of its own.
EXTRA_TWINNINGS = [(55, 1), (0, 10), (11, 20)]


def _tax_code(position: int) -> str:
    """A unique, made-up 10-digit tax code with Ninh Bình's prefix 27."""
    return f"27{1_000_000 + 7_919 * (position + 1):08d}"


class _Tally:
    """Counts what a run created and what it found already there, per kind of record."""

    def __init__(self) -> None:
        self.counts: dict[str, Counter] = defaultdict(Counter)

    def get_or_create(
        self,
        kind: str,
        model: type[models.Model],
        *,
        lookup: dict[str, Any],
        defaults: dict[str, Any] | None = None,
    ) -> Any:
        obj = model.objects.filter(**lookup).first()
        if obj is not None:
            self.counts[kind]["unchanged"] += 1
            return obj
        obj = model(**lookup, **(defaults or {}))
        obj.full_clean()
        obj.save()
        self.counts[kind]["created"] += 1
        return obj


def ninh_binh_legacy_communes() -> models.QuerySet:
    """Ninh Bình's commune-level units as of 30/6/2025, loaded from the package."""
    return AdminUnit.objects.communes().filter(
        source=AdminUnit.Source.LEGACY, source_key__startswith=LEGACY_KEY_PREFIX
    )


def _find_one(queryset: models.QuerySet, name: str) -> AdminUnit | None:
    """The unit named exactly `name` (diacritics ignored).

    When several match, the one with the lowest GSO code wins, so the choice never changes
    between runs. None of the programme's names is ambiguous among Ninh Bình's communes.
    """
    return queryset.filter(search_name=fold(name)).order_by("code", "source_key").first()


def _legacy(key: str) -> AdminUnit:
    return AdminUnit.objects.get(source_key=f"{LEGACY_KEY_PREFIX}{key}")


def _historical_communes(tally: _Tally) -> dict[str, AdminUnit]:
    """Ninh Xuân and Gia Tiến, which ended before 30/6/2025 and so are not in the package."""
    # Ninh Xuân: absorbed into Ninh Nhất on 1/1/2025 (Resolution 1318/NQ-UBTVQH15). The
    # admin-unit loader enters it; create it here only if it has not.
    historical = AdminUnit.objects.filter(source_key__startswith=HISTORICAL_KEY_PREFIX)
    ninh_xuan = _find_one(historical.communes(), "Ninh Xuân")
    if ninh_xuan is None:
        hoa_lu = _find_one(historical.filter(level=AdminUnit.Level.DISTRICT), "Hoa Lư")
        ninh_xuan = tally.get_or_create(
            "historical units",
            AdminUnit,
            lookup={"source_key": "historical:tinhninhbinh_huyenhoalu_xaninhxuan"},
            defaults={
                "level": AdminUnit.Level.COMMUNE,
                "kind": AdminUnit.Kind.XA,
                "name": "Ninh Xuân",
                "parent": hoa_lu or _legacy("thanhphohoalu"),
                "valid_until": date(2024, 12, 31),
                "source": AdminUnit.Source.MANUAL,
            },
        )
    tally.get_or_create(
        "successions",
        Succession,
        lookup={"predecessor": ninh_xuan, "successor": _legacy("thanhphohoalu_xaninhnhat")},
        defaults={
            "effective_date": date(2025, 1, 1),
            "legal_reference": "Nghị quyết 1318/NQ-UBTVQH15",
        },
    )

    # Gia Tiến (Gia Viễn district) reached the NTM standard in the programme's first year but
    # is not among the units of 30/6/2025, where Tiến Thắng appears instead. The commune's own
    # site (giatien.giavien.ninhbinh.gov.vn, "Lấy ý kiến cử tri sắp xếp đơn vị hành chính cấp
    # xã") records the plan to merge Gia Tiến and Gia Thắng as Tiến Thắng in the 2023–2025
    # round, which in Ninh Bình took effect on 1/1/2025 (Resolution 1318/NQ-UBTVQH15). Hence
    # the end date 31/12/2024, which an administrator must confirm. No successor is recorded:
    # one not known for certain is never guessed, so the unit stays listed by
    # `AdminUnit.objects.missing_successor()` for an administrator to complete.
    gia_tien = tally.get_or_create(
        "historical units",
        AdminUnit,
        lookup={"source_key": "historical:tinhninhbinh_huyengiavien_xagiatien"},
        defaults={
            "level": AdminUnit.Level.COMMUNE,
            "kind": AdminUnit.Kind.XA,
            "name": "Gia Tiến",
            "parent": _legacy("huyengiavien"),
            "valid_until": date(2024, 12, 31),
            "source": AdminUnit.Source.MANUAL,
        },
    )
    return {"Ninh Xuân": ninh_xuan, "Gia Tiến": gia_tien}


def designated_communes(tally: _Tally) -> list[AdminUnit]:
    """The 55 special communes: the named ones first, then a seeded draw from the rest."""
    legacy = ninh_binh_legacy_communes()
    historical = _historical_communes(tally)
    named = []
    for name in NAMED_COMMUNES:
        unit = historical.get(name) or _find_one(legacy, name)
        if unit is None:
            raise LookupError(f"Commune {name!r} is not among the loaded Ninh Bình units.")
        named.append(unit)
    skipped = {unit.pk for unit in named} | {
        unit.pk for name in NOT_DRAWN if (unit := _find_one(legacy, name))
    }
    pool = [unit for unit in legacy.order_by("code", "source_key") if unit.pk not in skipped]
    drawn = random.Random(SAMPLE_SEED).sample(pool, DESIGNATED_COUNT - len(named))
    return named + sorted(drawn, key=lambda unit: (unit.code, unit.source_key))


def _term_end(commune: AdminUnit) -> date | None:
    """Terms on a unit that ended before the 1/7/2025 reorganisation end with it.

    Terms on the units of 30/6/2025 stay open, so that the demo has current work; reports
    follow them to today's units through the successions.
    """
    if commune.valid_until and commune.valid_until < LEGACY_UNTIL:
        return commune.valid_until
    return None


def _users(tally: _Tally, *, agency: Agency, enterprise: Enterprise, commune: AdminUnit) -> None:
    User = get_user_model()
    organisations = {
        Membership.Role.PROVINCE_STAFF: {},
        Membership.Role.AGENCY_LIAISON: {"agency": agency},
        Membership.Role.ENTERPRISE_REP: {"enterprise": enterprise},
        Membership.Role.COMMUNE_OFFICER: {"commune": commune},
    }
    for username, role, _label in DEMO_ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username)
            if role == "admin":
                user.is_staff = user.is_superuser = True
            user.set_password(DEMO_PASSWORD)
            user.full_clean()
            user.save()
            tally.counts["users"]["created"] += 1
        else:
            tally.counts["users"]["unchanged"] += 1
        if role == "admin":
            continue
        organisation = organisations[role]
        if Membership.objects.filter(user=user, role=role, **organisation).exists():
            tally.counts["memberships"]["unchanged"] += 1
        else:
            membership_create(user=user, role=role, is_demo=True, **organisation)
            tally.counts["memberships"]["created"] += 1


def demo_load() -> dict[str, Counter]:
    """Load the demo programme on top of the real Ninh Bình units. Safe to run again.

    Returns, per kind of record, how many were created and how many were already there.
    """
    tally = _Tally()
    with transaction.atomic():
        if not ninh_binh_legacy_communes().exists():
            call_command("load_admin_units")
        call_command("load_ntm_criteria")
        roles_ensure()

        programme = tally.get_or_create(
            "programmes",
            Programme,
            lookup={"code": PROGRAMME_CODE},
            defaults={
                "name": "Xã đặc thù theo Quyết định 140-QĐ/TU",
                "decision_reference": DECISION,
                "started_on": PROGRAMME_START,
                "description": (
                    "Quyết định 140-QĐ/TU và Quy định 141-QĐ/TU năm 2016 của Ban Thường vụ "
                    "Tỉnh ủy Ninh Bình về các xã có tính chất đặc thù."
                ),
            },
        )
        communes = designated_communes(tally)
        for commune in communes:
            tally.get_or_create(
                "designations",
                Designation,
                lookup={"programme": programme, "commune": commune, "valid_from": PROGRAMME_START},
                defaults={
                    "valid_until": _term_end(commune),
                    "decision_reference": DECISION,
                    "is_demo": True,
                },
            )

        agencies = [
            tally.get_or_create(
                "agencies",
                Agency,
                lookup={"name": name},
                defaults={"short_name": short_name, "kind": kind, "is_demo": True},
            )
            for name, short_name, kind in AGENCIES
        ]
        enterprises = [
            tally.get_or_create(
                "enterprises",
                Enterprise,
                lookup={"tax_code": _tax_code(position)},
                defaults={"name": name, "sector": sector, "is_demo": True},
            )
            for position, (name, sector) in enumerate(ENTERPRISES)
        ]

        for agency, commune in zip(agencies, communes, strict=True):
            _assign(tally, agency, commune, Role.LEAD, PROGRAMME_START)
        agency_by_name = {agency.name: agency for agency in agencies}
        commune_by_name = dict(zip(NAMED_COMMUNES, communes, strict=False))
        for agency_name, commune_name in CO_RESPONSIBLE:
            commune = commune_by_name[commune_name]
            _assign(tally, agency_by_name[agency_name], commune, Role.CO_RESPONSIBLE, CO_START)

        for enterprise, commune in zip(enterprises, communes, strict=False):
            _twin(tally, enterprise, commune, Role.LEAD, PROGRAMME_START)
        for enterprise_at, commune_at in EXTRA_TWINNINGS:
            _twin(tally, enterprises[enterprise_at], communes[commune_at], Role.CO_RESPONSIBLE)

        criteria_set = CriteriaSet.objects.get(code="2016-2020")
        for name, year in RECOGNITIONS:
            tally.get_or_create(
                "NTM recognitions",
                NtmRecognition,
                lookup={
                    "commune": commune_by_name[name],
                    "criteria_set": criteria_set,
                    "level": NtmLevel.STANDARD,
                },
                defaults={"year": year, "is_demo": True},
            )

        # The demo logins act for Chất Bình, its lead agency and its (first) twinned enterprise.
        chat_binh = NAMED_COMMUNES.index("Chất Bình")
        _users(
            tally,
            agency=agencies[chat_binh],
            enterprise=enterprises[chat_binh],
            commune=communes[chat_binh],
        )
    return dict(tally.counts)


def _assign(tally: _Tally, agency: Agency, commune: AdminUnit, role: str, start: date) -> None:
    tally.get_or_create(
        "assignments",
        Assignment,
        lookup={"agency": agency, "commune": commune, "role": role, "start_date": start},
        defaults={"end_date": _term_end(commune), "decision_reference": DECISION, "is_demo": True},
    )


def _twin(
    tally: _Tally, enterprise: Enterprise, commune: AdminUnit, role: str, start: date = CO_START
) -> None:
    tally.get_or_create(
        "twinnings",
        Twinning,
        lookup={"enterprise": enterprise, "commune": commune, "role": role, "start_date": start},
        defaults={"end_date": _term_end(commune), "is_demo": True},
    )

"""The seeded support taxonomy (scholarships, gratitude houses, roads…).

Administrators rename, reorder or retire categories in the admin; seeding again only adds what
is missing and resets nothing else.
"""

# code, Vietnamese name, English name, area
CATEGORIES = [
    ("scholarships", "Học bổng, quỹ khuyến học", "Scholarships and study promotion", "welfare"),
    ("gratitude-houses", "Nhà tình nghĩa", "Gratitude houses", "welfare"),
    ("solidarity-houses", "Nhà Đại đoàn kết", "Great Solidarity houses", "welfare"),
    (
        "gifts",
        "Quà cho hộ nghèo, gia đình chính sách",
        "Gifts to poor or policy families",
        "welfare",
    ),
    ("medical", "Khám bệnh, cấp thuốc miễn phí", "Medical checks and free medicine", "welfare"),
    ("seed-stock", "Giống cây trồng, vật nuôi", "Seed and breed stock", "economy"),
    ("fertiliser", "Phân bón", "Fertiliser", "economy"),
    ("training-jobs", "Đào tạo nghề, việc làm", "Training and jobs", "economy"),
    ("loans", "Vốn vay ưu đãi", "Preferential loans", "economy"),
    ("technology", "Chuyển giao khoa học kỹ thuật", "Technology transfer", "economy"),
    ("roads", "Đường giao thông", "Roads", "ntm"),
    ("irrigation", "Thủy lợi", "Irrigation", "ntm"),
    ("lighting", "Điện chiếu sáng", "Lighting", "ntm"),
    (
        "culture-sports",
        "Nhà văn hóa, thiết chế văn hóa – thể thao",
        "Cultural and sports facilities",
        "ntm",
    ),
    (
        "office-equipment",
        "Trang thiết bị cho cơ quan xã",
        "Equipment for the commune office",
        "party",
    ),
    (
        "party-building",
        "Hỗ trợ xây dựng Đảng, hệ thống chính trị",
        "Party building and the political system",
        "party",
    ),
    ("defence", "Hỗ trợ quốc phòng – an ninh", "Defence and security", "defence"),
    ("other", "Khác", "Other", ""),
]


def categories_seed(model) -> int:
    """Create the missing seeded categories with `model` (live or historical); return how many."""
    created = 0
    for sort, (code, name_vi, name_en, area) in enumerate(CATEGORIES, start=1):
        _obj, was_created = model.objects.get_or_create(
            code=code,
            defaults={"name_vi": name_vi, "name_en": name_en, "area": area, "sort": sort * 10},
        )
        created += was_created
    return created

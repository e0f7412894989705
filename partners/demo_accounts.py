"""The demo logins, one per role. Plain data: the launcher prints it before Django is set up."""

DEMO_PASSWORD = "demo-xadacthu-2016"

# username, role (a Membership.Role value, or "admin"), what the login is for
DEMO_ACCOUNTS = [
    ("admin", "admin", "administrator (Django admin at /admin/)"),
    ("tinh", "province_staff", "province staff, Ban Tổ chức Tỉnh ủy"),
    ("coquan", "agency_liaison", "agency liaison"),
    ("doanhnghiep", "enterprise_rep", "enterprise representative"),
    ("xa", "commune_officer", "commune officer"),
]


def describe_demo_accounts() -> str:
    lines = [f"Demo logins (password for all: {DEMO_PASSWORD})"]
    lines += [f"  {username:<12} {label}" for username, _role, label in DEMO_ACCOUNTS]
    return "\n".join(lines)

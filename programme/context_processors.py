from partners.scoping import scope_for


def roles(request) -> dict:
    """What the navigation needs to know of the user's role (read once per request)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_province": False}
    return {"is_province": scope_for(user).is_province}

"""`{% figures_updating_notice %}`: says so when the rollups are behind the records."""

from django import template

from reports import selectors

register = template.Library()


@register.inclusion_tag("reports/_figures_updating.html")
def figures_updating_notice() -> dict:
    return {"pending_since": selectors.rollups_pending_since()}

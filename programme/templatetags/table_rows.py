"""The body of a django-tables2 table written in Python instead of the template language.

`django_tables2/bootstrap5.html` renders every cell through four template tags and an attribute
lookup; on a 25-row list that took as long as computing the cells. Same markup, same escaping
and localisation as `{{ cell }}` in that template (tests/programme/test_table_rows.py).
"""

from django import template
from django.template.base import render_value_in_context
from django.utils import formats
from django.utils.html import conditional_escape, format_html, format_html_join

register = template.Library()


def _shown(context, column, cell) -> str:
    if column.localize is None:
        return render_value_in_context(cell, context)
    # The template's `|localize` / `|unlocalize` filters.
    return conditional_escape(str(formats.localize(cell, use_l10n=column.localize)))


@register.simple_tag(takes_context=True)
def table_rows(context, table) -> str:
    rows = [
        (
            row.attrs.as_html(),
            format_html_join(
                "",
                "<td {}>{}</td>",
                (
                    (column.attrs["td"].as_html(), _shown(context, column, cell))
                    for column, cell in row.items()
                ),
            ),
        )
        for row in table.paginated_rows
    ]
    if not rows and table.empty_text:
        return format_html(
            '<tr><td colspan="{}">{}</td></tr>', len(table.columns), table.empty_text
        )
    return format_html_join("\n", "<tr {}>{}</tr>", rows)

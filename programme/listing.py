"""What every list page shares: a scoped selector, filters, a sortable table, lazy pagination
(no COUNT over millions of rows) and a CSV/XLSX download of exactly what is filtered."""

import io
import json
import re
from datetime import date

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import EmptyResultSet
from django.core.paginator import EmptyPage, PageNotAnInteger
from django.db import connection
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin
from django_tables2.export import ExportMixin, TableExport

from programme.xlsx_stream import FORMULA_PREFIXES, XlsxStreamWriter


def neutralise(value):
    """A cell that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeTableExport(TableExport):
    """The list downloads, every text cell neutralised. CSV goes through tablib; XLSX through
    the streaming writer, with tablib's layout (bold frozen header, columns as wide as their
    longest text, line feeds wrapped): tablib fills openpyxl with a styled object per cell."""

    def __init__(self, export_format, table, exclude_columns=None, dataset_kwargs=None):
        if export_format != self.XLSX:
            super().__init__(export_format, table, exclude_columns, dataset_kwargs)
            return
        self.format = export_format
        self.table, self.exclude_columns = table, exclude_columns
        self.title = (dataset_kwargs or {}).get("title") or "Export Data"

    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        safe = [tuple(neutralise(cell) for cell in row) for row in dataset]
        headers = dataset.headers
        dataset.wipe()
        dataset.headers = headers
        for row in safe:
            dataset.append(row)
        return dataset

    def export(self):
        if self.format != self.XLSX:
            return super().export()
        rows = iter(self.table.as_values(exclude_columns=self.exclude_columns))
        header = next(rows, [])
        buffer = io.BytesIO()
        with XlsxStreamWriter(buffer) as book:
            book.add_sheet(self.title, header, widths="adaptive", wrap_lines=True)
            book.write_rows(rows)
        return buffer.getvalue()


SEEK_KEY = re.compile(r"^(\d{4}-\d{2}-\d{2})_(\d{1,18})$")


class RecordListView(LoginRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """A list of records: subclasses give `selector`, `table_class`, `filterset_class`.

    Nothing on the page counts the rows. In the default order (by `seek_field`, newest first,
    or oldest first when that column is sorted), pages are reached by seeking: "older" asks for
    the rows after the last one shown (`?after=<date>_<id>`), which an index on (date, id)
    answers as fast on the millionth row as on the first. In any other order, pages are numbered
    (LazyPaginator: no COUNT) up to MAX_PAGE, beyond which the page says to narrow the filters.
    """

    template_name = "programme/record_list.html"
    paginate_by = 25
    MAX_PAGE = 200
    SORT_LIMIT = 100_000
    paginator_class = LazyPaginator
    export_class = SafeTableExport
    export_formats = (TableExport.CSV, TableExport.XLSX)
    title = ""
    new_url_name = ""
    # A page (of the reports app) that exports everything filtered in the worker, if any.
    background_export_url = ""
    filterset_fields = None
    # The date field (and table column) of the default order, reached by seeking; None: pages.
    seek_field: str | None = None

    def selector(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.selector(self.request.user)

    def paginate_queryset(self, queryset, page_size):
        # The table paginates (below); ListView's own paginator would fetch the page twice.
        return None, None, queryset, False

    # --- Ordering and paging -------------------------------------------------------------------

    def _seek_direction(self) -> bool | None:
        """True for newest first, False for oldest first, None when the list is not seekable."""
        if not self.seek_field or self.export_trigger_param in self.request.GET:
            return None
        sort = self.request.GET.getlist("sort")
        if not sort or sort == [f"-{self.seek_field}"]:
            return True
        if sort == [self.seek_field]:
            return False
        return None

    def _cursor(self, name: str):
        match = SEEK_KEY.match(self.request.GET.get(name, ""))
        if not match:
            return None
        try:
            return date.fromisoformat(match[1]), int(match[2])
        except ValueError:
            return None

    def _beyond(self, key, descending: bool) -> Q:
        """Rows after `key` in the order given: `field <= day` lets the index seek to the day."""
        day, pk = key
        field = self.seek_field
        if descending:
            return Q(**{f"{field}__lte": day}) & ~Q(**{field: day, "pk__gte": pk})
        return Q(**{f"{field}__gte": day}) & ~Q(**{field: day, "pk__lte": pk})

    def _key(self, row) -> str:
        return f"{getattr(row, self.seek_field).isoformat()}_{row.pk}"

    def _seek_page(self, queryset, descending: bool) -> list:
        field, size = self.seek_field, self.paginate_by
        after, before = self._cursor("after"), self._cursor("before")
        forward = (f"-{field}", "-pk") if descending else (field, "pk")
        backward = (field, "pk") if descending else (f"-{field}", "-pk")
        if before and not after:
            rows = list(
                queryset.filter(self._beyond(before, not descending)).order_by(*backward)[
                    : size + 1
                ]
            )
            more_newer, rows = len(rows) > size, rows[:size]
            rows.reverse()
            more_older = True
        else:
            if after:
                queryset = queryset.filter(self._beyond(after, descending))
            rows = list(queryset.order_by(*forward)[: size + 1])
            more_older, rows = len(rows) > size, rows[:size]
            more_newer = bool(after)
        query = self.request.GET.copy()
        for name in ("page", "after", "before", self.export_trigger_param):
            query.pop(name, None)
        base = query.urlencode()

        def link(**cursor) -> str:
            extra = "&".join(f"{name}={value}" for name, value in cursor.items())
            return "?" + "&".join(part for part in (base, extra) if part)

        self.seek_nav = {
            "first": link() if (after or before) else "",
            "newer": link(before=self._key(rows[0])) if rows and more_newer else "",
            "older": link(after=self._key(rows[-1])) if rows and more_older else "",
        }
        return rows

    def _page_number(self) -> int:
        raw = self.request.GET.get("page", "1")
        number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 9 else 1
        if number > self.MAX_PAGE:
            self.page_capped = True
            return self.MAX_PAGE
        return max(number, 1)

    def _estimated_rows(self, queryset) -> int:
        """PostgreSQL's estimate of the rows of the filtered list (EXPLAIN: no COUNT)."""
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:  # invalid filters give queryset.none(): no SQL, no rows
            return 0
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])

    def get_table(self, **kwargs):
        """Sort, then seek or paginate; `per_page` cannot be raised from the query string.

        A seekable list is sorted by another column only while PostgreSQL estimates it at most
        SORT_LIMIT rows: sorting two million rows for each page costs seconds.
        """
        self.seek_nav, self.page_capped, self.sort_refused = None, False, False
        data = self.get_table_data()
        exporting = self.export_trigger_param in self.request.GET
        descending = self._seek_direction()
        sort = self.request.GET.getlist("sort")
        if (
            self.seek_field
            and descending is None
            and not exporting
            and self._estimated_rows(data) > self.SORT_LIMIT
        ):
            self.sort_refused, descending, sort = True, True, []
        if descending is not None:
            data = self._seek_page(data, descending)
        table = self.get_table_class()(data=data, **kwargs)
        table.request = self.request
        if sort:
            table.order_by = sort
        if descending is None and not exporting:
            options = {"paginator_class": LazyPaginator, "per_page": self.paginate_by}
            try:
                table.paginate(page=self._page_number(), **options)
            except (EmptyPage, PageNotAnInteger):
                table.paginate(page=1, **options)
        return table

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["new_url_name"] = self.new_url_name
        context["export_formats"] = self.export_formats
        context["background_export_url"] = self.background_export_url
        query = self.request.GET.copy()
        for name in ("page", "after", "before", self.export_trigger_param):
            query.pop(name, None)
        context["query_without_page"] = query.urlencode()
        context["seek_nav"] = self.seek_nav
        context["page_capped"] = self.page_capped
        context["sort_refused"] = self.sort_refused
        context["max_page"] = self.MAX_PAGE
        return context

    def get_export_filename(self, export_format):
        return f"{self.export_name}.{export_format}"

    def get_dataset_kwargs(self):
        return {"title": str(self.title)[:31]}


SEARCH_HELP = _("Name or text, with or without diacritics")

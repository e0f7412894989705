"""What every list page shares: a scoped selector, filters, a sortable table, lazy pagination
(no COUNT over millions of rows) and a CSV/XLSX download of exactly what is filtered."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, SingleTableMixin
from django_tables2.export import ExportMixin, TableExport

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A cell that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


class SafeTableExport(TableExport):
    def table_to_dataset(self, table, exclude_columns, dataset_kwargs=None):
        dataset = super().table_to_dataset(table, exclude_columns, dataset_kwargs)
        safe = [tuple(neutralise(cell) for cell in row) for row in dataset]
        headers = dataset.headers
        dataset.wipe()
        dataset.headers = headers
        for row in safe:
            dataset.append(row)
        return dataset


class RecordListView(LoginRequiredMixin, ExportMixin, SingleTableMixin, FilterView):
    """A list of records: subclasses give `selector`, `table_class`, `filterset_class`."""

    template_name = "programme/record_list.html"
    paginate_by = 25
    paginator_class = LazyPaginator
    export_class = SafeTableExport
    export_formats = (TableExport.CSV, TableExport.XLSX)
    title = ""
    new_url_name = ""
    # A page (of the reports app) that exports everything filtered in the worker, if any.
    background_export_url = ""
    filterset_fields = None

    def selector(self, user):
        raise NotImplementedError

    def get_queryset(self):
        return self.selector(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["title"] = self.title
        context["new_url_name"] = self.new_url_name
        context["export_formats"] = self.export_formats
        context["background_export_url"] = self.background_export_url
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("_export", None)
        context["query_without_page"] = query.urlencode()
        return context

    def get_export_filename(self, export_format):
        return f"{self.export_name}.{export_format}"

    def get_dataset_kwargs(self):
        return {"title": str(self.title)[:31]}


SEARCH_HELP = _("Name or text, with or without diacritics")

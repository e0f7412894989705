"""The kinds of record that can be imported: their columns, how a row becomes a record, and the
natural key that makes a second import of the same row a duplicate instead of a new record."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models.expressions import RawSQL
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from partners.models import Agency, Assignment, Enterprise, Role, Twinning
from partners.scoping import Scope
from programme.imports.lookups import (
    AREA_SYNONYMS,
    CategoryIndex,
    ChoiceMap,
    CommuneIndex,
    OrganisationIndex,
    Terms,
)
from programme.imports.reading import Formula
from programme.imports.values import (
    CellError,
    is_blank,
    key,
    parse_amount,
    parse_count,
    parse_date,
    parse_decimal,
    text,
)
from programme.models import (
    MAX_VALUE,
    Area,
    Contribution,
    Difficulty,
    Party,
    Visit,
    check_record_date,
    labour_value,
)


@dataclass(frozen=True)
class Column:
    name: str
    header_vi: str
    header_en: str
    aliases: tuple[str, ...] = ()
    required: bool = False
    help: str = ""
    example: str = ""

    def header_keys(self) -> set[str]:
        return {key(label) for label in (self.name, self.header_vi, self.header_en, *self.aliases)}

    @property
    def label(self) -> str:
        return self.header_vi


class RowError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


@dataclass
class Built:
    """One checked row: the unsaved record, its natural key and the fields an import may update."""

    instance: models.Model
    key: tuple
    updates: dict = field(default_factory=dict)
    inferred_category: bool = False


class Context:
    """What every row of one import looks things up in, loaded once."""

    def __init__(self, *, user, scope: Scope, today: date):
        self.user = user
        self.scope = scope
        self.today = today

    @cached_property
    def communes(self) -> CommuneIndex:
        return CommuneIndex()

    @cached_property
    def organisations(self) -> OrganisationIndex:
        return OrganisationIndex()

    @cached_property
    def agencies(self) -> OrganisationIndex:
        return OrganisationIndex(enterprises=False)

    @cached_property
    def enterprises(self) -> OrganisationIndex:
        return OrganisationIndex(agencies=False)

    @cached_property
    def categories(self) -> CategoryIndex:
        return CategoryIndex()

    @cached_property
    def terms(self) -> Terms:
        return Terms()

    @cached_property
    def scope_communes(self) -> set[int]:
        """Communes this user works for (for telling apart communes of the same name)."""
        ids = set(self.scope.commune_ids)
        for agency_id in self.scope.agency_ids:
            ids |= self.terms.agency_communes.get(agency_id, set())
        return ids


class Row:
    """Reads the cells of one row, collecting every problem instead of stopping at the first."""

    def __init__(self, kind: "Kind", values: dict[str, object]):
        self.kind = kind
        self.values = values
        self.errors: dict[str, str] = {}

    def raw(self, name: str):
        return self.values.get(name)

    def blank(self, name: str) -> bool:
        return is_blank(self.values.get(name))

    def get(self, name: str, parse=text, *, required: bool = False):
        raw = self.values.get(name)
        column = self.kind.column(name)
        if isinstance(raw, Formula):
            self.errors[name] = _(
                "The cell holds a formula (%(formula)s). Replace it by its value (copy, then "
                "Paste Special → Values)."
            ) % {"formula": raw[:40]}
            return None
        if is_blank(raw):
            if required:
                self.errors[name] = _("Fill in “%(column)s”.") % {"column": column.label}
            return parse(raw) if parse is text else None
        try:
            return parse(raw)
        except CellError as error:
            self.errors[name] = str(error)
            return None

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def check(self) -> None:
        if self.errors:
            raise RowError(self.errors)

    def validate_as(self, instance: models.Model, field_columns: dict[str, str], pk) -> None:
        """Full validation (unique fields, constraints), as an update of `pk` when it is given,
        so that the record's own name or key is not taken for a clash with itself."""
        if pk is not None:
            instance.pk, instance._state.adding = pk, False
        try:
            self.validate(instance, field_columns, full=True)
        finally:
            instance.pk, instance._state.adding = None, True

    def validate(self, instance: models.Model, field_columns: dict[str, str], *, full=False):
        """Model validation, with each message put under the column the field came from."""
        try:
            if full:
                instance.full_clean()
            else:
                # Related records came from the in-memory indexes, so they exist: checking each
                # foreign key again would cost one query per field per row.
                related = [f.name for f in instance._meta.concrete_fields if f.is_relation]
                instance.clean_fields(exclude=related)
                instance.clean()
        except ValidationError as error:
            for field_name, messages in error.message_dict.items():
                column = field_columns.get(field_name, field_name)
                column = column if column in self.kind._columns else ""
                self.fail(column, " ".join(messages))
        self.check()


# Records read a chunk at a time, keeping only those whose natural key the file has.
ITERATOR_CHUNK = 5_000


def on_days(model: type[models.Model], day_field: str, keys: list[tuple]) -> models.QuerySet:
    """Records of `model` on one of the (commune, day) pairs that start the natural `keys`.

    Found by joining the pairs, so that a file spread over every commune and year reads only
    the records of its own communes and days, not the whole table between its first and last
    date (two million contributions at full scale)."""
    pairs = {natural[:2] for natural in keys}
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(day_field).column)
    # Only quoted names of our own models go into the text; the pairs are parameters.
    return model.objects.filter(
        RawSQL(  # noqa: S611
            f"({table}.commune_id, {table}.{column}) IN "  # noqa: S608
            "(SELECT * FROM unnest(%s::bigint[], %s::date[]))",
            ([commune for commune, _day in pairs], [day for _commune, day in pairs]),
            output_field=models.BooleanField(),
        )
    )


def commune_of(row: Row, ctx: Context, day: date | None):
    if row.blank("commune") and row.blank("commune_code"):
        row.fail("commune", _("Name the commune."))
        return None
    if isinstance(row.raw("commune"), Formula):
        return row.get("commune")
    try:
        return ctx.communes.resolve(
            row.raw("commune"),
            district=row.raw("district"),
            code=row.raw("commune_code"),
            day=day,
            preferred=ctx.scope_communes,
        )
    except CellError as error:
        row.fail("commune_code" if not row.blank("commune_code") else "commune", str(error))
        return None


def agency_in_charge(row: Row, ctx: Context, column: str, agency, commune, day: date) -> None:
    """The user acts for the agency, and the agency was in charge of the commune that day."""
    if not (ctx.scope.is_province or agency.pk in ctx.scope.agency_ids):
        row.fail(column, _("You do not act for this agency."))
    elif not ctx.terms.is_assigned(agency.pk, commune.pk, day):
        row.fail(
            column,
            _("%(agency)s was not in charge of %(commune)s on %(day)s.")
            % {"agency": agency, "commune": commune.label, "day": day.strftime("%d/%m/%Y")},
        )


def _date(raw):
    return parse_date(raw)


def _record_date(row: Row, name: str, *, required: bool):
    day = row.get(name, _date, required=required)
    if day is not None:
        try:
            check_record_date(day, name)
        except ValidationError as error:
            row.fail(name, " ".join(error.messages))
            return None
    return day


COMMUNE_COLUMNS = (
    Column(
        "commune",
        "Xã",
        "Commune",
        ("tên xã", "xã phường", "xã/phường", "xã, phường, thị trấn", "đơn vị hành chính"),
        help=gettext_lazy(
            "The commune's name, with or without “Xã”/“Phường”; diacritics optional."
        ),
        example="Xã Chất Bình",
    ),
    Column(
        "district",
        "Huyện",
        "District",
        ("huyện/thị xã/thành phố", "huyện, thị xã", "quận huyện"),
        help=gettext_lazy("Only needed where two communes have the same name."),
        example="Huyện Kim Sơn",
    ),
    Column(
        "commune_code",
        "Mã xã",
        "Commune code",
        ("mã đvhc", "mã đơn vị hành chính", "gso code"),
        help=gettext_lazy("The GSO code; when given it decides the commune."),
    ),
)


class Kind:
    code: str
    label = ""
    model: type[models.Model]
    columns: tuple[Column, ...] = ()
    province_only = False
    updatable: tuple[str, ...] = ()
    full_validation = False
    # Groups of columns of which at least one must be present.
    one_of: tuple[tuple[str, ...], ...] = (("commune", "commune_code"),)
    # Model fields whose column has another name (a field's column is the one of its name).
    field_columns: dict[str, str] = {}  # noqa: RUF012 (read only)

    def column(self, name: str) -> Column:
        return self._columns[name]

    @cached_property
    def _columns(self) -> dict[str, Column]:
        return {column.name: column for column in self.columns}

    def allowed(self, scope: Scope) -> bool:
        return scope.is_province or (not self.province_only and not scope.is_empty)

    def build(self, row: Row, ctx: Context) -> Built:
        raise NotImplementedError

    def existing(self, keys: list[tuple]) -> dict[tuple, tuple[int, dict]]:
        """Records already saved with one of the natural `keys`: key → (pk, fields)."""
        raise NotImplementedError


# --- Contributions ------------------------------------------------------------------------------


class ContributionKind(Kind):
    code = "contributions"
    label = gettext_lazy("Contributions")
    model = Contribution
    columns = (
        Column(
            "date",
            "Ngày",
            "Date",
            ("ngày hỗ trợ", "thời gian", "ngày trao"),
            True,
            gettext_lazy("dd/mm/yyyy, d/m/yy or an Excel date."),
            "25/11/2026",
        ),
        *COMMUNE_COLUMNS,
        Column(
            "contributor",
            "Đơn vị hỗ trợ",
            "Contributor",
            (
                "cơ quan, doanh nghiệp",
                "cơ quan/doanh nghiệp",
                "đơn vị",
                "nhà tài trợ",
                "đơn vị, doanh nghiệp",
            ),
            True,
            gettext_lazy("Agency (name or short name) or enterprise (name or tax code)."),
            "Sở Tài chính",
        ),
        Column(
            "area",
            "Lĩnh vực",
            "Area",
            ("lĩnh vực hỗ trợ",),
            False,
            gettext_lazy(
                "Kinh tế, Nông thôn mới, Xây dựng Đảng, Quốc phòng – an ninh, An "
                "sinh xã hội; may be left out when the category says it."
            ),
            "An sinh xã hội",
        ),
        Column(
            "category",
            "Loại hỗ trợ",
            "Category",
            ("danh mục", "danh mục hỗ trợ"),
            False,
            gettext_lazy("A category of the list (e.g. Nhà Đại đoàn kết); “Khác” if none."),
            "Nhà Đại đoàn kết",
        ),
        Column(
            "description",
            "Nội dung hỗ trợ",
            "Description",
            ("nội dung",),
            True,
            gettext_lazy("What was given."),
            "Hỗ trợ xây nhà Đại đoàn kết hộ ông A",
        ),
        Column(
            "form",
            "Hình thức",
            "Form",
            ("hình thức hỗ trợ",),
            True,
            gettext_lazy("Tiền mặt, Hiện vật or Ngày công."),
            "Tiền mặt",
        ),
        Column(
            "value",
            "Giá trị (đồng)",
            "Value (đồng)",
            (
                "giá trị",
                "số tiền",
                "thành tiền",
                "giá trị (vnđ)",
                "giá trị (vnd)",
                "số tiền (đồng)",
                "value",
                "amount",
            ),
            False,
            gettext_lazy("1.500.000, 1.500.000 đ, 1,5 triệu, 22,5 tỷ or a number."),
            "50.000.000",
        ),
        Column("quantity", "Số lượng", "Quantity", (), False, "", "1"),
        Column("unit", "ĐVT", "Unit", ("đơn vị tính",), False, "", "căn"),
        Column(
            "workdays",
            "Số ngày công",
            "Workdays",
            ("ngày công",),
            False,
            gettext_lazy("For labour: number of workdays."),
        ),
        Column(
            "daily_rate",
            "Đơn giá ngày công",
            "Daily rate",
            ("đơn giá",),
            False,
            gettext_lazy("For labour: value of one workday in đồng."),
        ),
        Column(
            "beneficiaries",
            "Số người hưởng lợi",
            "Beneficiaries",
            ("số hộ hưởng lợi", "người hưởng lợi"),
            False,
        ),
        Column(
            "status",
            "Trạng thái",
            "Status",
            (),
            False,
            gettext_lazy("Đã trao (default) or Cam kết."),
        ),
        Column("note", "Ghi chú", "Note", ("note",), False),
    )
    updatable = ("quantity", "unit", "beneficiaries", "status", "note", "workdays", "daily_rate")
    one_of = (("commune", "commune_code"), ("value", "workdays"))
    field_columns = {"agency": "contributor", "enterprise": "contributor"}

    @cached_property
    def forms(self) -> ChoiceMap:
        return ChoiceMap(
            Contribution.Form.choices,
            ("tiền mặt", Contribution.Form.CASH),
            ("TM", Contribution.Form.CASH),
            ("tiền", Contribution.Form.CASH),
            ("chuyển khoản", Contribution.Form.CASH),
            ("hiện vật", Contribution.Form.IN_KIND),
            ("HV", Contribution.Form.IN_KIND),
            ("ngày công", Contribution.Form.LABOUR),
            ("công lao động", Contribution.Form.LABOUR),
        )

    @cached_property
    def statuses(self) -> ChoiceMap:
        return ChoiceMap(
            Contribution.Status.choices,
            ("đã trao", Contribution.Status.DELIVERED),
            ("đã hỗ trợ", Contribution.Status.DELIVERED),
            ("cam kết", Contribution.Status.PLEDGED),
            ("đăng ký", Contribution.Status.PLEDGED),
        )

    @cached_property
    def areas(self) -> ChoiceMap:
        return ChoiceMap(Area.choices, *AREA_SYNONYMS)

    def build(self, row: Row, ctx: Context) -> Built:
        day = _record_date(row, "date", required=True)
        commune = commune_of(row, ctx, day)
        contributor = None
        if not isinstance(row.raw("contributor"), Formula):
            try:
                contributor = ctx.organisations.resolve(
                    row.raw("contributor"), column_label=self.column("contributor").label
                )
            except CellError as error:
                row.fail("contributor", str(error))
        else:
            row.get("contributor")
        area = row.get("area", lambda raw: self.areas.parse(raw, column_label=_("area")))
        category = row.get("category", ctx.categories.resolve)
        form = row.get(
            "form", lambda raw: self.forms.parse(raw, column_label=_("form")), required=True
        )
        value = row.get("value", lambda raw: parse_amount(raw, max_value=MAX_VALUE))
        workdays = row.get("workdays", lambda raw: parse_decimal(raw, places=1))
        daily_rate = row.get("daily_rate", parse_amount)
        status = row.get("status", lambda raw: self.statuses.parse(raw, column_label=_("status")))
        description = row.get("description", required=True)
        if form == Contribution.Form.LABOUR and workdays and daily_rate:
            computed = labour_value(workdays, daily_rate)
            if value is not None and value != computed:
                row.fail(
                    "value",
                    _("For labour the value is workdays × daily rate (%(value)s).")
                    % {"value": f"{int(computed):,}".replace(",", ".")},
                )
            value = computed
        elif value is None and "value" not in row.errors:
            row.fail("value", _("Fill in “%(column)s”.") % {"column": self.column("value").label})
        inferred = False
        if category is None and "category" not in row.errors:
            # Offices' sheets rarely have a category column: the description often names it
            # ("xây nhà Đại đoàn kết"), and the dry run says how many rows were read that way.
            category = ctx.categories.infer(description or "", area=area)
            inferred = category is not None
            category = category or ctx.categories.other
        if category is not None and category.area:
            if area and area != category.area:
                row.fail("category", _("This category belongs to another area of support."))
            area = category.area
        if not area and "area" not in row.errors:
            row.fail(
                "area",
                _("Fill in “%(column)s” (or a category that implies it).")
                % {"column": self.column("area").label},
            )
        if contributor is not None and commune is not None and day is not None:
            self._check_contributor(row, ctx, contributor, commune, day)
        row.check()
        instance = Contribution(
            date=day,
            commune_id=commune.pk,
            agency=contributor if isinstance(contributor, Agency) else None,
            enterprise=contributor if isinstance(contributor, Enterprise) else None,
            area=area,
            category=category,
            form=form,
            value=Decimal(value),
            workdays=workdays,
            daily_rate=daily_rate,
            quantity=row.get("quantity", parse_decimal),
            unit=row.get("unit")[:40],
            beneficiaries=row.get("beneficiaries", parse_count) or 0,
            description=description,
            status=status or Contribution.Status.DELIVERED,
            note=row.get("note"),
        )
        row.validate(instance, self.field_columns)
        return Built(
            instance,
            self.natural_key(instance),
            self._updates(instance),
            inferred_category=inferred,
        )

    @staticmethod
    def _check_contributor(row, ctx, contributor, commune, day):
        scope = ctx.scope
        if isinstance(contributor, Agency):
            agency_in_charge(row, ctx, "contributor", contributor, commune, day)
        else:
            if not (scope.is_province or contributor.pk in scope.enterprise_ids):
                row.fail("contributor", _("You do not act for this enterprise."))
            elif not ctx.terms.is_twinned(contributor.pk, commune.pk, day):
                row.fail(
                    "contributor",
                    _("%(enterprise)s was not twinned with %(commune)s on %(day)s.")
                    % {
                        "enterprise": contributor,
                        "commune": commune.label,
                        "day": day.strftime("%d/%m/%Y"),
                    },
                )

    def _updates(self, instance) -> dict:
        return {name: getattr(instance, name) for name in self.updatable}

    @staticmethod
    def natural_key(c) -> tuple:
        return (
            c.commune_id,
            c.date,
            c.agency_id,
            c.enterprise_id,
            c.category_id,
            c.form,
            int(c.value),
            key(c.description),
        )

    def existing(self, keys):
        if not keys:
            return {}
        found = {}
        rows = on_days(Contribution, "date", keys).values_list(
            "pk",
            "commune_id",
            "date",
            "agency_id",
            "enterprise_id",
            "category_id",
            "form",
            "value",
            "description",
            *self.updatable,
        )
        wanted = set(keys)
        for (
            pk,
            commune,
            day,
            agency,
            enterprise,
            category,
            form,
            value,
            description,
            *rest,
        ) in rows.iterator(chunk_size=ITERATOR_CHUNK):
            natural = (
                commune,
                day,
                agency,
                enterprise,
                category,
                form,
                int(value),
                key(description),
            )
            if natural in wanted:
                found.setdefault(natural, (pk, dict(zip(self.updatable, rest, strict=True))))
        return found


# --- Visits -------------------------------------------------------------------------------------


class VisitKind(Kind):
    code = "visits"
    label = gettext_lazy("Visits")
    model = Visit
    columns = (
        Column(
            "date",
            "Ngày",
            "Date",
            ("ngày làm việc", "ngày dự"),
            True,
            gettext_lazy("dd/mm/yyyy, d/m/yy or an Excel date."),
            "05/11/2026",
        ),
        *COMMUNE_COLUMNS,
        Column(
            "agency",
            "Cơ quan",
            "Agency",
            ("cơ quan phụ trách", "đơn vị", "cơ quan, đơn vị"),
            True,
            gettext_lazy("The agency's name or short name."),
            "Sở Tài chính",
        ),
        Column(
            "kind",
            "Hình thức",
            "Kind",
            ("loại hoạt động", "hoạt động"),
            True,
            gettext_lazy("Sinh hoạt chi bộ, Họp Đảng ủy xã, Khảo sát, Làm việc or Khác."),
            "Sinh hoạt chi bộ",
        ),
        Column(
            "village",
            "Thôn/xóm",
            "Village",
            ("thôn", "thôn xóm", "chi bộ", "thôn, xóm"),
            False,
            gettext_lazy("Required for a Party-cell meeting."),
            "Thôn 3",
        ),
        Column(
            "participants_count",
            "Số người dự",
            "Participants",
            ("số người", "số cán bộ", "số người tham dự"),
            False,
            "",
            "2",
        ),
        Column(
            "participant_names",
            "Người dự",
            "Participant names",
            ("thành phần", "thành phần tham dự", "người tham dự"),
            False,
        ),
        Column(
            "summary",
            "Nội dung",
            "Summary",
            ("nội dung làm việc", "kết quả", "nội dung, kết quả"),
            True,
            "",
            "Dự sinh hoạt chi bộ tháng 11",
        ),
        Column(
            "follow_ups",
            "Việc cần theo dõi",
            "Follow-ups",
            ("kiến nghị", "việc cần làm tiếp"),
            False,
        ),
    )
    updatable = ("participants_count", "participant_names", "summary", "follow_ups")

    @cached_property
    def kinds(self) -> ChoiceMap:
        return ChoiceMap(
            Visit.Kind.choices,
            ("sinh hoạt chi bộ", Visit.Kind.CELL_MEETING),
            ("dự sinh hoạt chi bộ", Visit.Kind.CELL_MEETING),
            ("họp đảng ủy", Visit.Kind.COMMITTEE_MEETING),
            ("họp đảng ủy xã", Visit.Kind.COMMITTEE_MEETING),
            ("khảo sát", Visit.Kind.SURVEY),
            ("làm việc", Visit.Kind.WORKING_SESSION),
            ("làm việc với xã", Visit.Kind.WORKING_SESSION),
            ("khác", Visit.Kind.OTHER),
        )

    def build(self, row: Row, ctx: Context) -> Built:
        day = _record_date(row, "date", required=True)
        commune = commune_of(row, ctx, day)
        agency = None
        if not row.blank("agency") and not isinstance(row.raw("agency"), Formula):
            try:
                agency = ctx.agencies.resolve(
                    row.raw("agency"), column_label=self.column("agency").label
                )
            except CellError as error:
                row.fail("agency", str(error))
        else:
            row.get("agency", required=True)
        kind = row.get(
            "kind", lambda raw: self.kinds.parse(raw, column_label=_("kind")), required=True
        )
        summary = row.get("summary", required=True)
        if agency is not None and commune is not None and day is not None:
            agency_in_charge(row, ctx, "agency", agency, commune, day)
        row.check()
        instance = Visit(
            date=day,
            commune_id=commune.pk,
            agency=agency,
            kind=kind,
            village=row.get("village")[:120],
            summary=summary,
            participants_count=row.get("participants_count", parse_count) or 1,
            participant_names=row.get("participant_names"),
            follow_ups=row.get("follow_ups"),
        )
        row.validate(instance, self.field_columns)
        return Built(
            instance,
            self.natural_key(instance),
            {name: getattr(instance, name) for name in self.updatable},
        )

    @staticmethod
    def natural_key(v) -> tuple:
        return (v.commune_id, v.date, v.agency_id, v.kind, key(v.village))

    def existing(self, keys):
        if not keys:
            return {}
        rows = on_days(Visit, "date", keys).values_list(
            "pk", "commune_id", "date", "agency_id", "kind", "village", *self.updatable
        )
        found, wanted = {}, set(keys)
        for pk, commune, day, agency, kind, village, *rest in rows.iterator(
            chunk_size=ITERATOR_CHUNK
        ):
            natural = (commune, day, agency, kind, key(village))
            if natural in wanted:
                found.setdefault(natural, (pk, dict(zip(self.updatable, rest, strict=True))))
        return found


# --- Difficulties -------------------------------------------------------------------------------


class DifficultyKind(Kind):
    code = "difficulties"
    label = gettext_lazy("Difficulties")
    model = Difficulty
    columns = (
        Column(
            "raised_on",
            "Ngày",
            "Date",
            ("ngày nêu", "ngày phát sinh", "ngày kiến nghị"),
            True,
            gettext_lazy("When the commune raised it."),
            "10/10/2026",
        ),
        *COMMUNE_COLUMNS,
        Column("area", "Lĩnh vực", "Area", (), True, "", "Kinh tế"),
        Column(
            "description",
            "Nội dung khó khăn",
            "Description",
            ("khó khăn, vướng mắc", "khó khăn vướng mắc", "nội dung", "khó khăn"),
            True,
            "",
            "Đường liên thôn xuống cấp",
        ),
        Column("proposal", "Đề xuất", "Proposal", ("kiến nghị, đề xuất", "đề xuất, kiến nghị")),
        Column(
            "owner",
            "Trách nhiệm",
            "Owner",
            ("đơn vị chủ trì", "cấp giải quyết"),
            False,
            gettext_lazy("Xã, Cơ quan, Doanh nghiệp or Tỉnh (default: Cơ quan)."),
            "Tỉnh",
        ),
        Column(
            "status",
            "Trạng thái",
            "Status",
            ("tình trạng",),
            False,
            gettext_lazy(
                "Mới (default), Đang xử lý, Đã chuyển tỉnh, Đã giải quyết, Không giải quyết được."
            ),
        ),
        Column("resolution", "Kết quả giải quyết", "Resolution", ("kết quả",)),
        Column("resolved_on", "Ngày giải quyết", "Resolved on", ("ngày hoàn thành",)),
        Column(
            "unresolvable_reason", "Lý do không giải quyết được", "Why unresolvable", ("lý do",)
        ),
    )
    updatable = (
        "area",
        "proposal",
        "owner",
        "status",
        "resolution",
        "resolved_on",
        "unresolvable_reason",
    )

    @cached_property
    def areas(self) -> ChoiceMap:
        return ChoiceMap(Area.choices, *AREA_SYNONYMS)

    @cached_property
    def owners(self) -> ChoiceMap:
        return ChoiceMap(
            Party.choices,
            ("xã", Party.COMMUNE),
            ("cơ quan", Party.AGENCY),
            ("doanh nghiệp", Party.ENTERPRISE),
            ("tỉnh", Party.PROVINCE),
        )

    @cached_property
    def statuses(self) -> ChoiceMap:
        s = Difficulty.Status
        return ChoiceMap(
            s.choices,
            ("mới", s.OPEN),
            ("chưa giải quyết", s.OPEN),
            ("đang xử lý", s.IN_PROGRESS),
            ("đang giải quyết", s.IN_PROGRESS),
            ("đã chuyển tỉnh", s.ESCALATED),
            ("đã giải quyết", s.RESOLVED),
            ("xã đã xác nhận", s.CONFIRMED),
            ("không giải quyết được", s.UNRESOLVABLE),
        )

    def build(self, row: Row, ctx: Context) -> Built:
        day = _record_date(row, "raised_on", required=True)
        commune = commune_of(row, ctx, day)
        area = row.get(
            "area", lambda raw: self.areas.parse(raw, column_label=_("area")), required=True
        )
        owner = row.get("owner", lambda raw: self.owners.parse(raw, column_label=_("owner")))
        status = row.get("status", lambda raw: self.statuses.parse(raw, column_label=_("status")))
        resolved_on = _record_date(row, "resolved_on", required=False)
        description = row.get("description", required=True)
        if commune is not None and day is not None and not self._may(ctx, commune.pk, day):
            row.fail(
                "commune",
                _("You do not work for this commune on %(day)s.")
                % {"day": day.strftime("%d/%m/%Y")},
            )
        row.check()
        instance = Difficulty(
            raised_on=day,
            commune_id=commune.pk,
            area=area,
            description=description,
            proposal=row.get("proposal"),
            owner=owner or Party.AGENCY,
            status=status or Difficulty.Status.OPEN,
            resolution=row.get("resolution"),
            resolved_on=resolved_on,
            unresolvable_reason=row.get("unresolvable_reason"),
        )
        row.validate(instance, self.field_columns)
        return Built(
            instance,
            self.natural_key(instance),
            {name: getattr(instance, name) for name in self.updatable},
        )

    @staticmethod
    def _may(ctx, commune_id, day) -> bool:
        scope = ctx.scope
        return (
            scope.is_province
            or commune_id in scope.commune_ids
            or any(ctx.terms.is_assigned(a, commune_id, day) for a in scope.agency_ids)
        )

    @staticmethod
    def natural_key(d) -> tuple:
        return (d.commune_id, d.raised_on, key(d.description))

    def existing(self, keys):
        if not keys:
            return {}
        rows = on_days(Difficulty, "raised_on", keys).values_list(
            "pk", "commune_id", "raised_on", "description", *self.updatable
        )
        found, wanted = {}, set(keys)
        for pk, commune, day, description, *rest in rows.iterator(chunk_size=ITERATOR_CHUNK):
            natural = (commune, day, key(description))
            if natural in wanted:
                found.setdefault(natural, (pk, dict(zip(self.updatable, rest, strict=True))))
        return found

    def check_update(self, before: dict, after: dict) -> str | None:
        old, new = before["status"], after["status"]
        if old != new and new not in Difficulty.TRANSITIONS[old]:
            return _("A difficulty cannot go from “%(old)s” to “%(new)s”.") % {
                "old": Difficulty.Status(old).label,
                "new": Difficulty.Status(new).label,
            }
        return None


# --- Agencies and enterprises (province staff) --------------------------------------------------


class AgencyKind(Kind):
    code = "agencies"
    label = gettext_lazy("Agencies")
    model = Agency
    province_only = True
    full_validation = True
    columns = (
        Column(
            "name",
            "Tên cơ quan",
            "Name",
            ("cơ quan", "tên đơn vị", "đơn vị"),
            True,
            "",
            "Sở Tài chính",
        ),
        Column("short_name", "Tên viết tắt", "Short name", ("viết tắt",), False, "", "STC"),
        Column(
            "kind",
            "Loại",
            "Kind",
            ("loại cơ quan", "khối"),
            False,
            gettext_lazy(
                "Khối Đảng, Cơ quan nhà nước, Mặt trận – đoàn thể, Lực lượng vũ "
                "trang, Đơn vị sự nghiệp or Khác."
            ),
            "Cơ quan nhà nước",
        ),
        Column("contact_name", "Người liên hệ", "Contact person", ("đầu mối", "cán bộ đầu mối")),
        Column("phone", "Điện thoại", "Phone", ("số điện thoại", "sđt")),
        Column("email", "Email", "E-mail", ("thư điện tử",)),
        Column("address", "Địa chỉ", "Address"),
    )
    updatable = ("short_name", "kind", "contact_name", "phone", "email", "address")
    one_of = ()

    @cached_property
    def kinds(self) -> ChoiceMap:
        k = Agency.Kind
        return ChoiceMap(
            k.choices,
            ("khối đảng", k.PARTY),
            ("cơ quan đảng", k.PARTY),
            ("cơ quan nhà nước", k.STATE),
            ("nhà nước", k.STATE),
            ("mặt trận đoàn thể", k.MASS),
            ("đoàn thể", k.MASS),
            ("lực lượng vũ trang", k.ARMED),
            ("đơn vị sự nghiệp", k.PUBLIC_SERVICE),
            ("khác", k.OTHER),
        )

    def build(self, row: Row, ctx: Context) -> Built:
        name = row.get("name", required=True)
        kind = row.get("kind", lambda raw: self.kinds.parse(raw, column_label=_("kind")))
        row.check()
        instance = Agency(
            name=name,
            short_name=row.get("short_name"),
            kind=kind or Agency.Kind.STATE,
            contact_name=row.get("contact_name"),
            phone=row.get("phone"),
            email=row.get("email"),
            address=row.get("address"),
        )
        existing = ctx.agencies.agencies.get(key(name), [])
        row.validate_as(instance, self.field_columns, existing[0].pk if existing else None)
        return Built(
            instance,
            (key(instance.name),),
            {name: getattr(instance, name) for name in self.updatable},
        )

    def existing(self, keys):
        found = {}
        for agency in Agency.objects.all():
            found.setdefault(
                (key(agency.name),),
                (agency.pk, {name: getattr(agency, name) for name in self.updatable}),
            )
        return found


class EnterpriseKind(Kind):
    code = "enterprises"
    label = gettext_lazy("Enterprises")
    model = Enterprise
    province_only = True
    full_validation = True
    columns = (
        Column(
            "name",
            "Tên doanh nghiệp",
            "Name",
            ("doanh nghiệp", "tên công ty", "đơn vị"),
            True,
            "",
            "Công ty CP Xi măng Vissai",
        ),
        Column(
            "tax_code",
            "Mã số thuế",
            "Tax code",
            ("mst",),
            True,
            gettext_lazy("10 digits, or 10-3 for a branch."),
            "2700123456",
        ),
        Column("sector", "Ngành nghề", "Sector", ("lĩnh vực", "ngành")),
        Column("address", "Địa chỉ", "Address"),
        Column("contact_name", "Người liên hệ", "Contact person", ("đầu mối",)),
        Column("phone", "Điện thoại", "Phone", ("số điện thoại", "sđt")),
        Column("email", "Email", "E-mail", ("thư điện tử",)),
    )
    updatable = ("name", "sector", "address", "contact_name", "phone", "email")
    one_of = ()

    def build(self, row: Row, ctx: Context) -> Built:
        name = row.get("name", required=True)
        tax_code = row.get("tax_code", required=True).replace(" ", "").replace(".", "")
        row.check()
        instance = Enterprise(
            name=name,
            tax_code=tax_code,
            sector=row.get("sector"),
            address=row.get("address"),
            contact_name=row.get("contact_name"),
            phone=row.get("phone"),
            email=row.get("email"),
        )
        existing = ctx.enterprises.enterprises.get(key(tax_code), [])
        row.validate_as(instance, self.field_columns, existing[0].pk if existing else None)
        return Built(
            instance,
            (instance.tax_code,),
            {name: getattr(instance, name) for name in self.updatable},
        )

    def existing(self, keys):
        wanted = [natural[0] for natural in keys]
        return {
            (e.tax_code,): (e.pk, {name: getattr(e, name) for name in self.updatable})
            for e in Enterprise.objects.filter(tax_code__in=wanted)
        }


# --- Assignments and twinnings (province staff) -------------------------------------------------

TERM_COLUMNS = (
    Column(
        "role",
        "Vai trò",
        "Role",
        ("vai trò phụ trách",),
        False,
        gettext_lazy("Chủ trì (default) or Phối hợp."),
        "Chủ trì",
    ),
    Column(
        "start_date", "Từ ngày", "Start date", ("ngày bắt đầu", "bắt đầu"), True, "", "01/07/2016"
    ),
    Column(
        "end_date",
        "Đến ngày",
        "End date",
        ("ngày kết thúc", "kết thúc"),
        False,
        gettext_lazy("Leave empty while the term runs."),
    ),
    Column(
        "decision_reference",
        "Số quyết định",
        "Decision",
        ("quyết định", "số qđ"),
        False,
        "",
        "140-QĐ/TU",
    ),
    Column("note", "Ghi chú", "Note"),
)


class TermKind(Kind):
    province_only = True
    full_validation = True
    party_field = ""
    updatable = ("role", "end_date", "decision_reference", "note")

    @cached_property
    def roles(self) -> ChoiceMap:
        return ChoiceMap(
            Role.choices,
            ("chủ trì", Role.LEAD),
            ("phụ trách", Role.LEAD),
            ("phối hợp", Role.CO_RESPONSIBLE),
            ("cùng phụ trách", Role.CO_RESPONSIBLE),
        )

    def party(self, row, ctx):
        raise NotImplementedError

    def build(self, row: Row, ctx: Context) -> Built:
        start = row.get("start_date", parse_date, required=True)
        end = row.get("end_date", parse_date)
        commune = commune_of(row, ctx, start)
        party = self.party(row, ctx)
        role = row.get("role", lambda raw: self.roles.parse(raw, column_label=_("role")))
        row.check()
        instance = self.model(
            **{self.party_field: party},
            commune_id=commune.pk,
            role=role or Role.LEAD,
            start_date=start,
            end_date=end,
            decision_reference=row.get("decision_reference")[:120],
            note=row.get("note"),
        )
        row.validate_as(instance, self.field_columns, self.existing_one(instance))
        return Built(
            instance,
            self.natural_key(instance),
            {name: getattr(instance, name) for name in self.updatable},
        )

    def natural_key(self, term) -> tuple:
        return (getattr(term, f"{self.party_field}_id"), term.commune_id, term.start_date)

    def existing_one(self, instance):
        return (
            self.model.objects.filter(
                **{self.party_field: getattr(instance, self.party_field)},
                commune_id=instance.commune_id,
                start_date=instance.start_date,
            )
            .values_list("pk", flat=True)
            .first()
        )

    def existing(self, keys):
        found = {}
        for term in self.model.objects.all():
            found[self.natural_key(term)] = (
                term.pk,
                {name: getattr(term, name) for name in self.updatable},
            )
        return found


class AssignmentKind(TermKind):
    code = "assignments"
    label = gettext_lazy("Assignments of agencies")
    model = Assignment
    party_field = "agency"
    columns = (
        Column(
            "agency", "Cơ quan", "Agency", ("cơ quan phụ trách", "đơn vị"), True, "", "Sở Tài chính"
        ),
        *COMMUNE_COLUMNS,
        *TERM_COLUMNS,
    )

    def party(self, row, ctx):
        if row.blank("agency") or isinstance(row.raw("agency"), Formula):
            return row.get("agency", required=True)
        try:
            return ctx.agencies.resolve(row.raw("agency"), column_label=self.column("agency").label)
        except CellError as error:
            row.fail("agency", str(error))


class TwinningKind(TermKind):
    code = "twinnings"
    label = gettext_lazy("Twinnings of enterprises")
    model = Twinning
    party_field = "enterprise"
    columns = (
        Column(
            "enterprise",
            "Doanh nghiệp",
            "Enterprise",
            ("doanh nghiệp kết nghĩa", "đơn vị"),
            True,
            gettext_lazy("Name or tax code."),
            "2700123456",
        ),
        *COMMUNE_COLUMNS,
        *TERM_COLUMNS,
    )

    def party(self, row, ctx):
        if row.blank("enterprise") or isinstance(row.raw("enterprise"), Formula):
            return row.get("enterprise", required=True)
        try:
            return ctx.enterprises.resolve(
                row.raw("enterprise"), column_label=self.column("enterprise").label
            )
        except CellError as error:
            row.fail("enterprise", str(error))


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in (
        ContributionKind(),
        VisitKind(),
        DifficultyKind(),
        AgencyKind(),
        EnterpriseKind(),
        AssignmentKind(),
        TwinningKind(),
    )
}

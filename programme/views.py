"""Pages of the field work. Every record is fetched through programme.scoping."""

from functools import partial

import redis
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from communes.models import Programme
from partners.scoping import scope_for
from programme import scoping, selectors, services
from programme.filters import ContributionFilter, DifficultyFilter, PlanItemFilter, VisitFilter
from programme.forms import (
    AttachmentForm,
    ContributionForm,
    DifficultyForm,
    DifficultyUpdateForm,
    PlanForm,
    PlanItemForm,
    PlanStatusForm,
    VisitForm,
)
from programme.listing import RecordListView
from programme.models import Contribution
from programme.tables import ContributionTable, DifficultyTable, PlanItemTable, VisitTable


def apply_errors(form, error: ValidationError) -> None:
    """Put a service's ValidationError beside the fields it names, the rest above the form."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            target = field if field in form.fields else None
            for item in errors:
                form.add_error(target, item)
    else:
        form.add_error(None, error)


def _conflict_message(request, conflict: services.ConflictError) -> None:
    messages.error(
        request,
        _(
            "Someone else saved this record after you opened it. Nothing was saved: check "
            "their changes below and enter yours again."
        ),
    )


def _require(request, *, agency=False, enterprise=False, commune=False) -> None:
    """403 unless the user is province staff or acts for one of the kinds named."""
    scope = scope_for(request.user)
    if scope.is_province:
        return
    if (
        (agency and scope.agency_ids)
        or (enterprise and scope.enterprise_ids)
        or (commune and scope.commune_ids)
    ):
        return
    raise PermissionDenied


def _create(request, form, *, record, title: str, done: str) -> HttpResponse:
    """Run a `*_record` service on a valid POST; errors go back beside their fields."""
    if request.method == "POST" and form.is_valid():
        data = form.service_fields()
        if "files" in form.fields:
            data["files"] = form.cleaned_data["files"]
        try:
            with transaction.atomic():
                obj = record(user=request.user, **data)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as denied:
            form.add_error(None, str(denied))
        else:
            messages.success(request, done)
            return redirect(obj)
    return render(request, "programme/record_form.html", {"form": form, "title": title})


def _edit(request, form, *, obj, update, title: str, done: str, back=None) -> HttpResponse:
    """Run an `*_update` service (bound to `obj`) on a valid POST; a stale version is refused."""
    conflict = None
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                update(
                    user=request.user,
                    expected_version=form.cleaned_data["version"] or 0,
                    **form.service_fields(),
                )
        except services.ConflictError as error:
            conflict = error
            _conflict_message(request, error)
        except ValidationError as error:
            apply_errors(form, error)
        except PermissionDenied as denied:
            form.add_error(None, str(denied))
        else:
            messages.success(request, done)
            return redirect(back or obj)
    return render(
        request,
        "programme/record_form.html",
        {"form": form, "title": title, "conflict": conflict, "object": obj},
        status=409 if conflict else 200,
    )


# --- Home and commune page ---------------------------------------------------------------------


HOME_COMMUNES = 100


@login_required
def home(request: HttpRequest) -> HttpResponse:
    scope = scope_for(request.user)
    # A national programme designates thousands of communes: the overview names the first
    # HOME_COMMUNES (the dashboard pages through all of them).
    communes = list(selectors.my_communes(request.user, limit=HOME_COMMUNES + 1))
    context = {
        "scope": scope,
        "communes": communes[:HOME_COMMUNES],
        "more_communes": len(communes) > HOME_COMMUNES,
        "programmes": Programme.objects.all(),
    }
    if scope.is_province:
        context.update(selectors.province_totals())
    return render(request, "home.html", context)


@login_required
def commune_detail(request: HttpRequest, pk: int) -> HttpResponse:
    context = selectors.commune_page(request.user, pk)
    return render(request, "programme/commune_detail.html", context)


# --- Lists --------------------------------------------------------------------------------------


class VisitListView(RecordListView):
    seek_field = "date"
    table_class = VisitTable
    filterset_class = VisitFilter
    title = gettext_lazy("Visits")
    new_url_name = "programme:visit_new"
    export_name = "visits"

    def selector(self, user):
        return selectors.visit_list(user)


class DifficultyListView(RecordListView):
    seek_field = "raised_on"
    table_class = DifficultyTable
    filterset_class = DifficultyFilter
    title = gettext_lazy("Difficulties")
    new_url_name = "programme:difficulty_new"
    export_name = "difficulties"

    def selector(self, user):
        return selectors.difficulty_list(user)


class ContributionListView(RecordListView):
    seek_field = "date"
    table_class = ContributionTable
    filterset_class = ContributionFilter
    title = gettext_lazy("Contributions")
    new_url_name = "programme:contribution_new"
    export_name = "contributions"
    background_export_url = "/exports/contributions/"  # reports app; programme never imports it

    def selector(self, user):
        return selectors.contribution_list(user)


class PlanItemListView(RecordListView):
    table_class = PlanItemTable
    filterset_class = PlanItemFilter
    title = gettext_lazy("Plan items")
    new_url_name = "programme:plan_new"
    export_name = "plan-items"

    def selector(self, user):
        return selectors.plan_item_list(user)


# --- Visits -------------------------------------------------------------------------------------


@login_required
def visit_new(request: HttpRequest) -> HttpResponse:
    _require(request, agency=True)
    form = VisitForm(request.POST or None, request.FILES or None, user=request.user)
    return _create(
        request,
        form,
        record=services.visit_record,
        title=_("Record a visit"),
        done=_("The visit was recorded."),
    )


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visit = scoping.get_visit_for_user(request.user, pk)
    scope = scope_for(request.user)
    return render(
        request,
        "programme/visit_detail.html",
        {
            "visit": visit,
            "can_change": scoping.can_change_visit(scope, visit),
            "difficulties": visit.difficulties.all(),
            "attachments": visit.attachments.all(),
        },
    )


@login_required
def visit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    visit = scoping.get_visit_for_user(request.user, pk, change=True)
    form = VisitForm(request.POST or None, instance=visit, user=request.user)
    return _edit(
        request,
        form,
        obj=visit,
        update=partial(services.visit_update, visit=visit),
        title=_("Edit the visit"),
        done=_("The visit was saved."),
    )


# --- Difficulties -------------------------------------------------------------------------------


@login_required
def difficulty_new(request: HttpRequest) -> HttpResponse:
    _require(request, agency=True, commune=True)
    initial = {}
    visit_id = request.GET.get("visit")
    if visit_id:
        visit = scoping.get_visit_for_user(request.user, visit_id)
        initial = {"visit": visit.pk, "commune": visit.commune_id, "raised_on": visit.date}
    form = DifficultyForm(
        request.POST or None, request.FILES or None, user=request.user, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.service_fields()
        if data.get("visit"):
            # The visit must be one this user may see.
            data["visit"] = scoping.get_visit_for_user(request.user, data["visit"].pk)
        try:
            with transaction.atomic():
                difficulty = services.difficulty_record(
                    user=request.user, files=form.cleaned_data["files"], **data
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The difficulty was recorded."))
            return redirect(difficulty)
    return render(
        request, "programme/record_form.html", {"form": form, "title": _("Record a difficulty")}
    )


@login_required
def difficulty_detail(request: HttpRequest, pk: int) -> HttpResponse:
    difficulty = scoping.get_difficulty_for_user(request.user, pk)
    scope = scope_for(request.user)
    return render(
        request,
        "programme/difficulty_detail.html",
        {
            "difficulty": difficulty,
            "can_change": scoping.can_change_difficulty(scope, difficulty),
            "attachments": difficulty.attachments.all(),
            "history": difficulty.history.select_related("history_user").order_by("-history_date")[
                :20
            ],
        },
    )


@login_required
def difficulty_edit(request: HttpRequest, pk: int) -> HttpResponse:
    difficulty = scoping.get_difficulty_for_user(request.user, pk, change=True)
    form = DifficultyUpdateForm(request.POST or None, instance=difficulty, user=request.user)
    return _edit(
        request,
        form,
        obj=difficulty,
        update=partial(services.difficulty_update, difficulty=difficulty),
        title=_("Update the difficulty"),
        done=_("The difficulty was saved."),
    )


# --- Contributions ------------------------------------------------------------------------------


@login_required
def contribution_new(request: HttpRequest) -> HttpResponse:
    _require(request, agency=True, enterprise=True)
    form = ContributionForm(request.POST or None, request.FILES or None, user=request.user)
    return _create(
        request,
        form,
        record=services.contribution_record,
        title=_("Record a contribution"),
        done=_("The contribution was recorded."),
    )


@login_required
def contribution_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contribution = scoping.get_contribution_for_user(request.user, pk)
    scope = scope_for(request.user)
    return render(
        request,
        "programme/contribution_detail.html",
        {
            "contribution": contribution,
            "can_change": scoping.can_change_contribution(scope, contribution),
            "can_confirm": scoping.can_confirm_contribution(scope, contribution)
            and not contribution.confirmed_at
            and contribution.status == Contribution.Status.DELIVERED,
            "attachments": contribution.attachments.all(),
        },
    )


@login_required
def contribution_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contribution = scoping.get_contribution_for_user(request.user, pk, change=True)
    form = ContributionForm(request.POST or None, instance=contribution, user=request.user)
    return _edit(
        request,
        form,
        obj=contribution,
        update=partial(services.contribution_update, contribution=contribution),
        title=_("Edit the contribution"),
        done=_("The contribution was saved."),
    )


@login_required
@require_POST
def contribution_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    contribution = scoping.get_contribution_to_confirm(request.user, pk)
    try:
        version = int(request.POST.get("version", ""))
    except ValueError:
        version = -1
    try:
        services.contribution_confirm(
            user=request.user, contribution=contribution, expected_version=version
        )
    except services.ConflictError:
        messages.error(
            request, _("The contribution changed meanwhile: check it and confirm again.")
        )
    except ValidationError as error:
        # e.g. a pledge: only what was delivered can be confirmed as received.
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Receipt of the contribution was confirmed."))
    return redirect(contribution)


# --- Plans --------------------------------------------------------------------------------------


@login_required
def plan_new(request: HttpRequest) -> HttpResponse:
    _require(request, agency=True, commune=True)
    form = PlanForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                plan = services.plan_create(
                    user=request.user,
                    commune=form.cleaned_data["commune"],
                    year=form.cleaned_data["year"],
                    note=form.cleaned_data["note"],
                )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(plan)
    return render(request, "programme/record_form.html", {"form": form, "title": _("Start a plan")})


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = scoping.get_plan_for_user(request.user, pk)
    scope = scope_for(request.user)
    can_change = scoping.can_change_plan(scope, plan)
    form = PlanItemForm(request.POST or None, user=request.user) if can_change else None
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        if form.is_valid():
            data = {k: v for k, v in form.service_fields().items()}
            try:
                with transaction.atomic():
                    services.plan_item_add(user=request.user, plan=plan, **data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The plan item was added."))
                return redirect(plan)
    return render(
        request,
        "programme/plan_detail.html",
        {
            "plan": plan,
            "items": plan.items.annotate(
                visit_count=Count("visits", distinct=True),
                contribution_count=Count("contributions", distinct=True),
            ),
            "can_change": can_change,
            "form": form,
        },
    )


@login_required
def plan_item_edit(request: HttpRequest, pk: int) -> HttpResponse:
    item = scoping.get_plan_item_for_user(request.user, pk, change=True)
    form = PlanItemForm(request.POST or None, instance=item, user=request.user)
    return _edit(
        request,
        form,
        obj=item,
        update=partial(services.plan_item_update, item=item),
        title=_("Edit the plan item"),
        done=_("The plan item was saved."),
        back=item.plan,
    )


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = scoping.get_plan_for_user(request.user, pk, change=True)
    form = PlanStatusForm(request.POST or None, instance=plan, user=request.user)
    return _edit(
        request,
        form,
        obj=plan,
        update=partial(services.plan_update, plan=plan),
        title=_("Agree the plan"),
        done=_("The plan was saved."),
    )


# --- Attachments --------------------------------------------------------------------------------

ATTACHABLE = {
    "visit": scoping.get_visit_for_user,
    "difficulty": scoping.get_difficulty_for_user,
    "contribution": scoping.get_contribution_for_user,
}


@login_required
@require_POST
def attachment_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    fetch = ATTACHABLE.get(kind)
    if fetch is None:
        raise Http404
    record = fetch(request.user, pk, change=True)
    form = AttachmentForm(request.POST, request.FILES)
    if form.is_valid():
        services.attachment_add(user=request.user, record=record, files=form.cleaned_data["files"])
        messages.success(request, _("The files were attached."))
    else:
        for error in form.errors.get("files", []):
            messages.error(request, error)
    return redirect(record)


@login_required
def attachment_download(request: HttpRequest, pk: int) -> FileResponse:
    attachment = scoping.get_attachment_for_user(request.user, pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=attachment.content_type not in {"image/jpeg", "image/png", "application/pdf"},
        filename=attachment.original_name,
        content_type=attachment.content_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


# --- Health -------------------------------------------------------------------------------------


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker compose: PostgreSQL and Redis both answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 (any failure means "not healthy")
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)

"""Writes of the programme's work records. Each service validates, then saves in one transaction.

Services take keyword-only arguments and the acting user. They check that the user may act for
the agency, enterprise or commune concerned, that the contributor was assigned or twinned to the
commune on the record's date, and that an edit is based on the latest version (optimistic locking).
"""

import logging
import threading
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import redis
from celery import current_app
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from communes.models import AdminUnit
from partners.models import Agency, Enterprise
from partners.scoping import is_assigned, is_twinned, scope_for
from programme.attachments import ALLOWED_TYPES, detect_attachment_type
from programme.models import (
    Attachment,
    Contribution,
    ContributionCategory,
    Difficulty,
    Plan,
    PlanItem,
    Visit,
    labour_value,
)
from programme.scoping import can_change_plan

logger = logging.getLogger(__name__)


@dataclass
class FieldChange:
    field: str
    label: str
    theirs: str
    yours: str


class ConflictError(Exception):
    """Someone saved the record after this user opened it. Nothing was written."""

    def __init__(self, current: models.Model, changes: list[FieldChange]):
        super().__init__("stale version")
        self.current = current
        self.changes = changes


def _display(instance: models.Model, field: models.Field) -> str:
    value = getattr(instance, field.attname)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if field.is_relation:
        related = getattr(instance, field.name)
        return str(related) if related is not None else ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return "" if value is None else str(value)


def _conflict(instance: models.Model, expected_version: int) -> ConflictError:
    """Describe, field by field, what the other save changed since `expected_version`."""
    model = type(instance)
    current = model.objects.get(pk=instance.pk)
    seen = current.history.filter(version=expected_version).order_by("-history_date").first()
    changes = []
    for field in model._meta.concrete_fields:
        if not field.editable or field.primary_key:
            continue
        theirs = _display(current, field)
        before = _display(seen.instance, field) if seen is not None else None
        if before is not None and before == theirs:
            continue
        changes.append(
            FieldChange(
                field=field.name,
                label=str(field.verbose_name),
                theirs=theirs,
                yours=_display(instance, field),
            )
        )
    return ConflictError(current, changes)


# While this key exists a drain is queued and has not started: a save committed now is in the
# outbox before that drain reads it, so it need not queue another. The drain deletes the key
# first thing (reports.tasks.drain_outbox); the expiry only bounds a lost task's silence, and
# Celery beat drains every minute anyway.
WAKE_KEY = "programme:rollups:wake"
WAKE_SECONDS = 5
_wake = threading.local()


def _wake_redis() -> redis.Redis:
    """The broker's Redis: the key speaks of the queue the drain waits in."""
    url = current_app.conf.broker_url
    client = getattr(_wake, "redis", None)
    if client is None or _wake.redis_url != url:
        # Short timeouts: with Redis down a save must not wait for it.
        client = _wake.redis = redis.Redis.from_url(
            url.replace("redis+socket://", "unix://", 1),
            socket_timeout=0.5,
            socket_connect_timeout=0.5,
        )
        _wake.redis_url = url
    return client


def rollups_wake_done() -> None:
    """The drain has started: the next save queues a new one."""
    try:
        _wake_redis().delete(WAKE_KEY)
    except redis.RedisError:
        logger.warning("could not clear the rollup wake key", exc_info=True)


def _wake_rollups() -> None:
    """Ask a worker to refresh the rollups now, unless a drain is already queued. The outbox row
    is already committed: if the broker is down, the minute-by-minute drain of Celery beat picks
    the refresh up later."""
    try:
        if not _wake_redis().set(WAKE_KEY, "1", nx=True, ex=WAKE_SECONDS):
            return
        # One broker connection per web thread, kept: opening one costs more than the save.
        conn = getattr(_wake, "broker", None)
        if conn is None or _wake.broker_url != current_app.conf.broker_url:
            if conn is not None:
                conn.release()
            # No retries: with the broker down the save must not wait for it.
            conn = _wake.broker = current_app.connection_for_write(
                transport_options={"max_retries": 0}
            )
            _wake.broker_url = current_app.conf.broker_url
        try:
            current_app.send_task(
                "reports.drain_outbox", retry=False, ignore_result=True, connection=conn
            )
        except Exception:
            _wake.broker = None
            conn.release()
            rollups_wake_done()  # nothing was queued: let the next save try again
            raise
    except Exception:  # noqa: BLE001 (the broker being down must never fail a save)
        logger.warning(
            "could not wake the rollup worker; beat will drain the outbox", exc_info=True
        )


def _save(instance: models.Model, *, user, reason: str, expected_version: int | None) -> None:
    """Validate and save; an update must name the version it was based on."""
    instance.full_clean()
    instance._change_reason = reason or ""
    # The history record names who saved, also outside a request (shell, tasks, tests).
    instance._history_user = user
    # The database trigger queued the touched rollup cells; wake a worker once committed,
    # once per transaction however many records it saves (one drain handles them all).
    pending = transaction.get_connection().run_on_commit
    if not any(callback is _wake_rollups for _ids, callback, *_rest in pending):
        transaction.on_commit(_wake_rollups)
    if instance._state.adding:
        instance.created_by = user
        instance.save()
        return
    if expected_version is None:
        raise ValueError("an update must give the version it edits")
    bumped = (
        type(instance)
        .objects.filter(pk=instance.pk, version=expected_version)
        .update(version=F("version") + 1)
    )
    if not bumped:
        raise _conflict(instance, expected_version)
    instance.version = expected_version + 1
    instance.save()


def _store_attachments(record: models.Model, files: list[UploadedFile], *, user) -> None:
    """Check every file first, then store them under random names; a failure removes them.

    Files of a transaction that rolls back after this point are left without a row; the
    `attachments_cleanup` command removes such orphans.
    """
    kinds = [detect_attachment_type(upload) for upload in files]
    stored: list[Attachment] = []
    field = record._meta.model_name
    try:
        for upload, mime in zip(files, kinds, strict=True):
            original_name = upload.name[:255]
            upload.name = "upload" + ALLOWED_TYPES[mime]
            attachment = Attachment(
                **{field: record},
                file=upload,
                original_name=original_name,
                content_type=mime,
                size=upload.size,
                uploaded_by=user,
            )
            attachment._history_user = user
            attachment.save()
            stored.append(attachment)
    except Exception:
        for attachment in stored:
            attachment.file.delete(save=False)
        raise


# --- Who may act for whom -----------------------------------------------------------------------


def _require_agency(user, agency: Agency) -> None:
    scope = scope_for(user)
    if not (scope.is_province or agency.pk in scope.agency_ids):
        raise PermissionDenied(_("You do not act for this agency."))


def _require_enterprise(user, enterprise: Enterprise) -> None:
    scope = scope_for(user)
    if not (scope.is_province or enterprise.pk in scope.enterprise_ids):
        raise PermissionDenied(_("You do not act for this enterprise."))


def _require_assigned(agency: Agency, commune: AdminUnit, day: date, field: str = "commune"):
    if not is_assigned(agency_id=agency.pk, commune_id=commune.pk, day=day):
        raise ValidationError(
            {
                field: _("%(agency)s was not in charge of %(commune)s on %(day)s.")
                % {"agency": agency, "commune": commune, "day": day.strftime("%d/%m/%Y")}
            }
        )


def _require_twinned(enterprise: Enterprise, commune: AdminUnit, day: date):
    if not is_twinned(enterprise_id=enterprise.pk, commune_id=commune.pk, day=day):
        raise ValidationError(
            {
                "commune": _("%(enterprise)s was not twinned with %(commune)s on %(day)s.")
                % {"enterprise": enterprise, "commune": commune, "day": day.strftime("%d/%m/%Y")}
            }
        )


def _check_contributor(contribution: Contribution) -> None:
    if contribution.agency_id:
        _require_assigned(contribution.agency, contribution.commune, contribution.date)
    elif contribution.enterprise_id:
        _require_twinned(contribution.enterprise, contribution.commune, contribution.date)


# --- Visits -------------------------------------------------------------------------------------


@transaction.atomic
def visit_record(
    *,
    user,
    commune: AdminUnit,
    agency: Agency,
    date: date,
    kind: str,
    summary: str,
    village: str = "",
    participants_count: int = 1,
    participant_names: str = "",
    follow_ups: str = "",
    plan_items: list[PlanItem] | None = None,
    files: list[UploadedFile] | None = None,
) -> Visit:
    _require_agency(user, agency)
    visit = Visit(
        commune=commune,
        agency=agency,
        date=date,
        kind=kind,
        village=village,
        participants_count=participants_count,
        participant_names=participant_names,
        summary=summary,
        follow_ups=follow_ups,
    )
    visit.full_clean()
    _require_assigned(agency, commune, date)
    _check_plan_items(plan_items or [], commune)
    _save(visit, user=user, reason=_("Recorded"), expected_version=None)
    if plan_items:
        visit.plan_items.set(plan_items)
    if files:
        _store_attachments(visit, files, user=user)
    return visit


@transaction.atomic
def visit_update(
    *, user, visit: Visit, expected_version: int, plan_items=None, reason: str = "", **fields
) -> Visit:
    for name, value in fields.items():
        setattr(visit, name, value)
    _require_agency(user, visit.agency)
    visit.full_clean()
    _require_assigned(visit.agency, visit.commune, visit.date)
    if plan_items is not None:
        _check_plan_items(plan_items, visit.commune)
    _save(visit, user=user, reason=reason or _("Edited"), expected_version=expected_version)
    if plan_items is not None:
        visit.plan_items.set(plan_items)
    return visit


def _check_plan_items(items: list[PlanItem], commune: AdminUnit) -> None:
    if any(item.plan.commune_id != commune.pk for item in items):
        raise ValidationError({"plan_items": _("A plan item chosen belongs to another commune.")})


# --- Difficulties -------------------------------------------------------------------------------


@transaction.atomic
def difficulty_record(
    *,
    user,
    commune: AdminUnit,
    raised_on: date,
    area: str,
    description: str,
    proposal: str = "",
    owner: str = Difficulty._meta.get_field("owner").default,
    visit: Visit | None = None,
    files: list[UploadedFile] | None = None,
) -> Difficulty:
    scope = scope_for(user)
    allowed = (
        scope.is_province
        or commune.pk in scope.commune_ids
        or any(
            is_assigned(agency_id=a, commune_id=commune.pk, day=raised_on) for a in scope.agency_ids
        )
    )
    difficulty = Difficulty(
        commune=commune,
        raised_on=raised_on,
        area=area,
        description=description,
        proposal=proposal,
        owner=owner,
        visit=visit,
    )
    difficulty.full_clean()
    if not allowed:
        raise ValidationError(
            {
                "commune": _("You do not work for this commune on %(day)s.")
                % {"day": raised_on.strftime("%d/%m/%Y")}
            }
        )
    _save(difficulty, user=user, reason=_("Recorded"), expected_version=None)
    if files:
        _store_attachments(difficulty, files, user=user)
    return difficulty


@transaction.atomic
def difficulty_update(
    *, user, difficulty: Difficulty, expected_version: int, reason: str = "", **fields
) -> Difficulty:
    old_status, stored_version = Difficulty.objects.values_list("status", "version").get(
        pk=difficulty.pk
    )
    for name, value in fields.items():
        setattr(difficulty, name, value)
    if stored_version != expected_version:
        # Judge the move against what this user saw, not a status someone else set meanwhile.
        raise _conflict(difficulty, expected_version)
    new_status = difficulty.status
    if new_status != old_status and new_status not in Difficulty.TRANSITIONS[old_status]:
        raise ValidationError(
            {
                "status": _("A difficulty cannot go from “%(old)s” to “%(new)s”.")
                % {
                    "old": Difficulty.Status(old_status).label,
                    "new": Difficulty.Status(new_status).label,
                }
            }
        )
    if new_status == Difficulty.Status.CONFIRMED and not (
        scope_for(user).is_province or difficulty.commune_id in scope_for(user).commune_ids
    ):
        raise ValidationError({"status": _("Only the commune confirms a resolution.")})
    _save(difficulty, user=user, reason=reason or _("Edited"), expected_version=expected_version)
    return difficulty


# --- Contributions ------------------------------------------------------------------------------


@transaction.atomic
def contribution_record(
    *,
    user,
    date: date,
    commune: AdminUnit,
    category: ContributionCategory,
    form: str,
    description: str,
    note: str = "",
    value: Decimal | int | None = None,
    agency: Agency | None = None,
    enterprise: Enterprise | None = None,
    area: str | None = None,
    workdays: Decimal | None = None,
    daily_rate: Decimal | None = None,
    quantity: Decimal | None = None,
    unit: str = "",
    beneficiaries: int = 0,
    status: str = Contribution.Status.DELIVERED,
    plan_item: PlanItem | None = None,
    files: list[UploadedFile] | None = None,
) -> Contribution:
    if agency is not None:
        _require_agency(user, agency)
    if enterprise is not None:
        _require_enterprise(user, enterprise)
    if form == Contribution.Form.LABOUR and workdays and daily_rate:
        value = labour_value(workdays, daily_rate)
    contribution = Contribution(
        date=date,
        commune=commune,
        agency=agency,
        enterprise=enterprise,
        area=area or category.area,
        category=category,
        form=form,
        value=value,
        workdays=workdays,
        daily_rate=daily_rate,
        quantity=quantity,
        unit=unit,
        beneficiaries=beneficiaries,
        description=description,
        note=note,
        status=status,
        plan_item=plan_item,
    )
    contribution.full_clean()
    _check_contributor(contribution)
    _save(contribution, user=user, reason=_("Recorded"), expected_version=None)
    if files:
        _store_attachments(contribution, files, user=user)
    return contribution


@transaction.atomic
def contribution_update(
    *, user, contribution: Contribution, expected_version: int, reason: str = "", **fields
) -> Contribution:
    stored_value = Contribution.objects.values_list("value", flat=True).get(pk=contribution.pk)
    for name, value in fields.items():
        setattr(contribution, name, value)
    if contribution.agency_id:
        _require_agency(user, contribution.agency)
    if contribution.enterprise_id:
        _require_enterprise(user, contribution.enterprise)
    if (
        contribution.form == Contribution.Form.LABOUR
        and contribution.workdays
        and contribution.daily_rate
    ):
        contribution.value = labour_value(contribution.workdays, contribution.daily_rate)
    contribution.full_clean()
    _check_contributor(contribution)
    if contribution.confirmed_at and contribution.value != stored_value:
        # A changed value is no longer what the commune confirmed.
        contribution.confirmed_at = None
        contribution.confirmed_by = None
    _save(contribution, user=user, reason=reason or _("Edited"), expected_version=expected_version)
    return contribution


@transaction.atomic
def contribution_confirm(
    *, user, contribution: Contribution, expected_version: int
) -> Contribution:
    """The commune confirms it received the contribution."""
    if contribution.confirmed_at:
        raise ValidationError(_("The commune has already confirmed this contribution."))
    if contribution.status != Contribution.Status.DELIVERED:
        raise ValidationError(
            {"status": _("Only a delivered contribution can be confirmed as received.")}
        )
    contribution.confirmed_by = user
    contribution.confirmed_at = timezone.now()
    _save(
        contribution,
        user=user,
        reason=_("Confirmed by the commune"),
        expected_version=expected_version,
    )
    return contribution


# --- Plans --------------------------------------------------------------------------------------


@transaction.atomic
def plan_create(*, user, commune: AdminUnit, year: int, note: str = "") -> Plan:
    plan = Plan(commune=commune, year=year, note=note)
    try:
        plan.full_clean()
    except ValidationError as error:
        if "__all__" in error.message_dict:
            raise ValidationError(
                {"year": _("This commune already has a plan for %(year)s.") % {"year": year}}
            ) from None
        raise
    _save(plan, user=user, reason=_("Recorded"), expected_version=None)
    if not can_change_plan(scope_for(user), plan):
        # Rolls the plan back with the transaction.
        raise ValidationError(
            {"commune": _("You do not work for this commune in %(year)s.") % {"year": year}}
        )
    return plan


@transaction.atomic
def plan_update(*, user, plan: Plan, expected_version: int, reason: str = "", **fields) -> Plan:
    for name, value in fields.items():
        setattr(plan, name, value)
    _save(plan, user=user, reason=reason or _("Edited"), expected_version=expected_version)
    return plan


@transaction.atomic
def plan_item_add(*, user, plan: Plan, **fields) -> PlanItem:
    item = PlanItem(plan=plan, **fields)
    _save(item, user=user, reason=_("Recorded"), expected_version=None)
    return item


@transaction.atomic
def plan_item_update(
    *, user, item: PlanItem, expected_version: int, reason: str = "", **fields
) -> PlanItem:
    for name, value in fields.items():
        setattr(item, name, value)
    _save(item, user=user, reason=reason or _("Edited"), expected_version=expected_version)
    return item


@transaction.atomic
def attachment_add(*, user, record: Visit | Difficulty | Contribution, files: list[UploadedFile]):
    _store_attachments(record, files, user=user)

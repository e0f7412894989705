"""Reminder e-mails to agency liaisons about Party-cell meetings not yet recorded.

Run daily by beat (task `reports.send_reminders`):

- **before**: from `REMINDER_DAYS_BEFORE` days (default 5) before the due date of the current
  reporting month up to the due date itself, for each obligation of that month that is still
  short of meetings (see reports.completeness for obligations and due dates). A window rather
  than one day, so that a day without beat does not lose the reminder;
- **after**: once the due date of the previous reporting month has passed, for each of its
  obligations still short of meetings. The mail gives the end of the grace period, until which
  a meeting recorded still counts as on time.

Recipients are the active users with an agency-liaison membership of the obligation's agency and
an e-mail address. Each gets one mail per run and stage, listing their obligations.

Never twice: before a mail is sent, one `ReminderLog` row per (obligation, stage, recipient) is
inserted with `INSERT … ON CONFLICT DO NOTHING RETURNING`, and committed; only the rows this run
inserted go into the mail. Two beat processes, a retry or a second run the same day find the rows
already there and send nothing. If sending fails, the rows just inserted are deleted again, so the
next run tries again; a crash between the insert and the send loses that reminder rather than
risk sending it twice.
"""

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from partners.models import Membership
from partners.scoping import Scope
from programme.periods import Period, reporting_month
from reports.completeness import completeness, grace_days
from reports.models import ReminderLog

logger = logging.getLogger(__name__)

Stage = ReminderLog.Stage


class RemindersNotSent(Exception):
    """Some mails could not be sent; their log rows were removed so that a retry sends them."""


def days_before() -> int:
    return int(getattr(settings, "REMINDER_DAYS_BEFORE", 5))


@dataclass(frozen=True)
class Obligation:
    agency_id: int
    agency: str
    commune_id: int
    commune: str
    month: date
    due: date
    expected: int
    done: int

    @property
    def key(self) -> str:
        return f"cell_meeting:{self.agency_id}:{self.commune_id}:{self.month:%Y-%m}"

    @property
    def grace_until(self) -> date:
        return self.due + timedelta(days=grace_days())


def obligations_short(month: date, *, today: date) -> list[Obligation]:
    """Obligations of a reporting month with fewer meetings recorded than expected."""
    report = completeness(
        Period("month", month.year, month.month),
        scope=Scope(user_id=None, is_province=True),
        today=today,
    )
    short = []
    for row in report.rows:
        cell = row.months[0]
        if cell.expected and cell.done < cell.expected:
            short.append(
                Obligation(
                    agency_id=row.agency.pk,
                    agency=str(row.agency),
                    commune_id=row.commune.pk,
                    commune=row.commune.full_name,
                    month=cell.month,
                    due=cell.due,
                    expected=cell.expected,
                    done=cell.done,
                )
            )
    return short


def reminders_due(*, today: date) -> dict[str, list[Obligation]]:
    """The obligations to remind of today, per stage (an empty list when not in the window)."""
    this_month = reporting_month(today)
    _first, due = Period("month", this_month.year, this_month.month).days()
    due_soon = []
    if due - timedelta(days=days_before()) <= today <= due:
        due_soon = obligations_short(this_month, today=today)
    last_month = reporting_month(this_month - timedelta(days=1))
    overdue = [o for o in obligations_short(last_month, today=today) if o.due < today]
    return {Stage.BEFORE: due_soon, Stage.AFTER: overdue}


CLAIM_SQL = """
    INSERT INTO reports_reminderlog (obligation, stage, recipient_id, sent_at)
    SELECT obligation, %s, %s, now() FROM unnest(%s::text[]) AS t(obligation)
    ON CONFLICT (obligation, stage, recipient_id) DO NOTHING
    RETURNING obligation
"""


def _claim(stage: str, recipient_id: int, keys: list[str]) -> set[str]:
    """Insert the log rows and commit them; returns the keys this call inserted."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, [stage, recipient_id, keys])
        return {row[0] for row in cursor.fetchall()}


def _message(stage: str, obligations: list[Obligation], *, name: str) -> tuple[str, str]:
    """Subject and body, in Vietnamese whatever the language of the run."""
    first = obligations[0]
    with translation.override("vi"):
        if stage == Stage.BEFORE:
            subject = _("Reminder: Party-cell meetings to attend by %(due)s") % {
                "due": f"{first.due:%d/%m/%Y}"
            }
        else:
            subject = _("Overdue: Party-cell meetings of %(month)s not recorded") % {
                "month": f"{first.month:%m/%Y}"
            }
        body = render_to_string(
            f"email/reminder_{stage}.txt",
            {"name": name, "obligations": obligations, "first": first},
        )
    return subject, body


def reminders_send(*, today: date | None = None) -> int:
    """Send the reminders due today that were not sent before; returns the mails sent.

    Raises RemindersNotSent after trying every recipient when some mails failed.
    """
    today = today or timezone.localdate()
    due = reminders_due(today=today)
    agency_ids = {o.agency_id for obligations in due.values() for o in obligations}
    if not agency_ids:
        return 0
    liaisons: dict[int, list[tuple[int, str, str]]] = {}
    memberships = (
        Membership.objects.filter(
            role=Membership.Role.AGENCY_LIAISON,
            agency_id__in=agency_ids,
            user__is_active=True,
        )
        .exclude(user__email="")
        .values_list("agency_id", "user_id", "user__email", "user__first_name", "user__last_name")
        .order_by("user_id")
    )
    for agency_id, user_id, email, first_name, last_name in memberships:
        name = f"{last_name} {first_name}".strip()
        liaisons.setdefault(agency_id, []).append((user_id, email, name))

    sent = failed = 0
    for stage, obligations in due.items():
        per_recipient: dict[tuple[int, str, str], list[Obligation]] = {}
        for obligation in obligations:
            for recipient in liaisons.get(obligation.agency_id, []):
                per_recipient.setdefault(recipient, []).append(obligation)
        for (user_id, email, name), wanted in per_recipient.items():
            claimed = _claim(stage, user_id, [o.key for o in wanted])
            fresh = [o for o in wanted if o.key in claimed]
            if not fresh:
                continue
            subject, body = _message(stage, fresh, name=name)
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
            except Exception:
                logger.exception("reminder to user %s not sent; will try again", user_id)
                ReminderLog.objects.filter(
                    stage=stage, recipient_id=user_id, obligation__in=claimed
                ).delete()
                failed += 1
                continue
            sent += 1
    if failed:
        raise RemindersNotSent(f"{failed} reminder mails not sent, {sent} sent")
    return sent

"""Reminder e-mails to liaisons before and after the due date of their Party-cell meetings.

Agency A is in charge of commune 1, agency B of commune 2; both attended their February 2024
meeting. March 2024 is due on 31/3; with the default of 5 days, "before" reminders go from 26/3
to 31/3, "after" ones from 1/4.
"""

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection

from partners.models import Membership
from partners.services import membership_create
from reports import reminders, rollups
from reports.models import ReminderLog
from reports.tasks_completeness import send_reminders
from tests.factories import (
    AgencyFactory,
    AssignmentFactory,
    CommuneFactory,
    UserFactory,
    VisitFactory,
)

pytestmark = pytest.mark.django_db

BEFORE = datetime.date(2024, 3, 27)
AFTER = datetime.date(2024, 4, 2)


@pytest.fixture
def world():
    commune1 = CommuneFactory(name="Gia Hưng")
    commune2 = CommuneFactory(name="Kim Đông")
    agency_a = AgencyFactory(short_name="Sở TC")
    agency_b = AgencyFactory(short_name="Sở YT")
    AssignmentFactory(agency=agency_a, commune=commune1, start_date=datetime.date(2016, 6, 1))
    AssignmentFactory(agency=agency_b, commune=commune2, start_date=datetime.date(2016, 6, 1))

    meeting(agency_a, commune1, datetime.date(2024, 2, 10))
    meeting(agency_b, commune2, datetime.date(2024, 2, 10))

    def liaison(username, agency, **fields):
        user = UserFactory(username=username, **fields)
        membership_create(user=user, role=Membership.Role.AGENCY_LIAISON, agency=agency)
        return user

    return {
        "commune1": commune1,
        "commune2": commune2,
        "agency_a": agency_a,
        "agency_b": agency_b,
        "liaison_a": liaison("lien_lac_a", agency_a, email="a@example.vn", last_name="Nguyễn"),
        "liaison_b": liaison("lien_lac_b", agency_b, email="b@example.vn"),
    }


def meeting(agency, commune, day):
    VisitFactory(agency=agency, commune=commune, date=day, kind="cell_meeting", village="Thôn 1")
    rollups.outbox_drain()


def recipients() -> list[str]:
    return sorted(address for message in mail.outbox for address in message.to)


def test_it_reminds_each_liaison_before_the_due_date(world):
    assert reminders.reminders_send(today=BEFORE) == 2
    assert recipients() == ["a@example.vn", "b@example.vn"]
    message = next(m for m in mail.outbox if m.to == ["a@example.vn"])
    assert "31/03/2024" in message.subject
    assert "Xã Gia Hưng" in message.body and "Kim Đông" not in message.body
    assert ReminderLog.objects.filter(stage="before", recipient=world["liaison_a"]).exists()


def test_it_reminds_of_last_month_when_the_month_is_missing(world):
    meeting(world["agency_a"], world["commune1"], datetime.date(2024, 3, 5))
    meeting(world["agency_b"], world["commune2"], datetime.date(2024, 3, 5))
    AssignmentFactory(
        agency=world["agency_a"],
        commune=CommuneFactory(name="Ninh Hòa"),
        start_date=datetime.date(2024, 2, 1),
        end_date=datetime.date(2024, 2, 29),
    )
    assert reminders.reminders_send(today=BEFORE) == 1
    (message,) = mail.outbox
    assert message.to == ["a@example.vn"] and "Ninh Hòa" in message.body
    assert ReminderLog.objects.get().stage == "after"


def test_it_sends_nothing_before_the_window(world):
    assert reminders.reminders_send(today=datetime.date(2024, 3, 25)) == 0
    assert mail.outbox == []


def test_the_window_follows_the_setting(world, settings):
    settings.REMINDER_DAYS_BEFORE = 10
    assert reminders.reminders_send(today=datetime.date(2024, 3, 21)) == 2


def test_it_does_not_remind_of_a_meeting_already_recorded(world):
    meeting(world["agency_a"], world["commune1"], datetime.date(2024, 3, 5))
    reminders.reminders_send(today=BEFORE)
    assert recipients() == ["b@example.vn"]


def test_it_never_sends_the_same_reminder_twice(world):
    reminders.reminders_send(today=BEFORE)
    assert reminders.reminders_send(today=datetime.date(2024, 3, 28)) == 0
    assert len(mail.outbox) == 2


def test_a_reminder_logged_by_another_process_is_not_sent(world):
    ReminderLog.objects.create(
        obligation=f"cell_meeting:{world['agency_a'].pk}:{world['commune1'].pk}:2024-03",
        stage="before",
        recipient=world["liaison_a"],
    )
    reminders.reminders_send(today=BEFORE)
    assert recipients() == ["b@example.vn"]


def test_it_reminds_after_the_due_date_of_last_month(world):
    meeting(world["agency_b"], world["commune2"], datetime.date(2024, 3, 5))
    assert reminders.reminders_send(today=AFTER) == 1
    (message,) = mail.outbox
    assert message.to == ["a@example.vn"]
    assert "03/2024" in message.subject
    assert "05/04/2024" in message.body  # the end of the grace period
    assert ReminderLog.objects.filter(stage="after").count() == 1


def test_the_after_reminder_comes_once_even_if_before_was_sent(world):
    reminders.reminders_send(today=BEFORE)
    reminders.reminders_send(today=AFTER)
    reminders.reminders_send(today=AFTER + datetime.timedelta(days=1))
    stages = sorted(ReminderLog.objects.values_list("stage", flat=True))
    assert stages == ["after", "after", "before", "before"]
    assert len(mail.outbox) == 4


def test_one_mail_lists_every_commune_of_the_liaison(world):
    AssignmentFactory(
        agency=world["agency_a"],
        commune=CommuneFactory(name="Ninh Hòa"),
        start_date=datetime.date(2024, 3, 1),
    )
    reminders.reminders_send(today=BEFORE)
    message = next(m for m in mail.outbox if m.to == ["a@example.vn"])
    assert "Gia Hưng" in message.body and "Ninh Hòa" in message.body
    assert ReminderLog.objects.filter(recipient=world["liaison_a"]).count() == 2


def test_liaisons_without_an_address_or_inactive_are_skipped(world):
    world["liaison_a"].email = ""
    world["liaison_a"].save(update_fields=["email"])
    world["liaison_b"].is_active = False
    world["liaison_b"].save(update_fields=["is_active"])
    assert reminders.reminders_send(today=BEFORE) == 0
    assert not ReminderLog.objects.exists()


def test_other_roles_of_the_agency_are_not_mailed(world):
    staff = UserFactory(username="ban_to_chuc", email="staff@example.vn")
    membership_create(user=staff, role=Membership.Role.PROVINCE_STAFF)
    reminders.reminders_send(today=BEFORE)
    assert "staff@example.vn" not in recipients()


def test_a_failed_mail_is_tried_again_on_the_next_run(world, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("SMTP server down")

    monkeypatch.setattr(reminders, "send_mail", broken)
    with pytest.raises(reminders.RemindersNotSent):
        reminders.reminders_send(today=BEFORE)
    assert not ReminderLog.objects.exists()
    monkeypatch.undo()
    assert reminders.reminders_send(today=BEFORE) == 2


def test_the_mail_is_rendered_in_vietnamese(world, monkeypatch):
    from django.utils import translation

    languages = []
    render = reminders.render_to_string

    def spy(*args, **kwargs):
        languages.append(translation.get_language())
        return render(*args, **kwargs)

    monkeypatch.setattr(reminders, "render_to_string", spy)
    with translation.override("en"):
        reminders.reminders_send(today=BEFORE)
    assert languages == ["vi", "vi"]


def test_the_beat_task_sends_the_reminders(world, monkeypatch):
    monkeypatch.setattr(
        reminders.timezone, "localdate", lambda *args, **kwargs: BEFORE, raising=True
    )
    assert send_reminders.apply().get() == 2


@pytest.fixture
def categories_back(django_db_blocker):
    """A transactional test empties every table; put back the categories the migrations seed."""
    yield
    from programme.categories import categories_seed
    from programme.models import ContributionCategory

    with django_db_blocker.unblock():
        categories_seed(ContributionCategory)


@pytest.mark.django_db(transaction=True)
def test_two_processes_at_once_send_each_reminder_once(categories_back, world):
    """Two runs in two threads (two database connections) race on the same reminders."""
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(reminders.reminders_send(today=BEFORE))
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(results) == 2
    assert sorted(recipients()) == ["a@example.vn", "b@example.vn"]

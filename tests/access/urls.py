"""Every URL pattern of the project, found by walking the resolver, with its kwargs filled in.

`all_patterns()` walks `get_resolver().url_patterns` recursively (the admin and every app
included), so a view added tomorrow is in the matrix without anybody listing it. `fill()` turns
a pattern into concrete paths pointing at side B's records, choosing the record by the kwarg's
name and the literal path before it:

- `pk`, `id`, `object_id`, `<thing>_id`, `<thing>_pk` point at a record. Its model is, in
  order: the model named by a kwarg filled before it (`kind` of the attachment upload, the
  content type of the admin's "view on site"); the admin's own model; the model named by the
  kwarg (`job_id` under `imports/` → a model called `importjob` or `job`); the model named by the
  path before it (`plans/items/<pk>` → `planitem`, `reports/<pk>` → the one model whose name
  ends with `report`, `exports/<pk>` → the one whose name starts with `export`).
- other kwargs are not records: their values come from NON_RECORD_KWARGS below, read from the
  app's own registries where there is one.

A pattern that cannot be filled raises `Unfillable` naming the pattern: the matrix test fails,
and whoever added the view extends the world (tests/access/conftest.py) or this file.
"""

import inspect
import re
from dataclasses import dataclass, field

from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.regex_helper import normalize

from communes.models import AdminUnit

# Path words that are not model names. A commune page shows an administrative unit.
MODEL_ALIASES = {"commune": AdminUnit}

OBJECT_KWARG = re.compile(r"^(?:pk|id|object_id|(?P<thing>[a-z_]+?)_(?:id|pk))$")


class Unfillable(Exception):
    """The matrix cannot build a URL for this pattern: extend the world or this file."""


@dataclass
class Pattern:
    """One endpoint: the regex of its whole path, its view and, for the admin, its ModelAdmin."""

    regex: str
    name: str
    callback: object
    model_admin: object = None
    is_admin: bool = False

    @property
    def label(self) -> str:
        return f"{self.name or '(unnamed)'} [{self.regex}]"


@dataclass
class Target:
    """A concrete path of a pattern, and the side-B records (if any) it points at."""

    pattern: Pattern
    path: str
    records: list = field(default_factory=list)
    # The same path with every record id replaced by one that does not exist.
    missing_path: str = ""


def _piece(pattern) -> str:
    regex = pattern.pattern.regex.pattern
    return regex.removeprefix("^").removesuffix(r"\Z").removesuffix("$")


def _model_admin(callback):
    found = getattr(callback, "model_admin", None)
    if found is not None:
        return found
    wrapped = getattr(callback, "__wrapped__", None)
    owner = getattr(wrapped, "__self__", None)
    return owner if isinstance(owner, admin.ModelAdmin) else None


def all_patterns() -> list[Pattern]:
    found = []

    def walk(patterns, prefix: str, namespace: str, in_admin: bool):
        for entry in patterns:
            here = prefix + _piece(entry)
            if isinstance(entry, URLResolver):
                ns = namespace
                if entry.namespace:
                    ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
                walk(entry.url_patterns, here, ns, in_admin or entry.app_name == "admin")
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                found.append(
                    Pattern(
                        regex=here,
                        name=name or "",
                        callback=entry.callback,
                        model_admin=_model_admin(entry.callback),
                        is_admin=in_admin,
                    )
                )

    walk(get_resolver().url_patterns, "", "", False)
    return found


def _positional_names(callback, count: int) -> list[str]:
    """Names of a regex's unnamed groups, from the view's signature (after `request`)."""
    view = inspect.unwrap(callback)
    params = [p for p in inspect.signature(view).parameters if p not in ("self", "request")]
    if len(params) < count:
        raise Unfillable(f"{count} positional groups but the view names only {params}")
    return params[:count]


def _singular(word: str) -> str:
    word = word.replace("-", "").replace("_", "")
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") else word


def _model_named(*candidates: str):
    # Historical twins (django-simple-history) are never what a path names.
    models = {
        model._meta.model_name: model
        for model in apps.get_models()
        if not model._meta.model_name.startswith("historical")
    }
    for candidate in candidates:
        if not candidate:
            continue
        if candidate in MODEL_ALIASES:
            return MODEL_ALIASES[candidate]
        if candidate in models:
            return models[candidate]
    for candidate in candidates:
        if not candidate:
            continue
        for test in (str.endswith, str.startswith):
            matches = [model for name, model in models.items() if test(name, candidate)]
            if len(matches) == 1:
                return matches[0]
    return None


def _object_model(pattern: Pattern, name: str, words: list[str], hint):
    """The model a record kwarg points at (see the module's docstring)."""
    if hint is not None:
        return hint
    if pattern.model_admin is not None and name == "object_id":
        return pattern.model_admin.model
    thing = OBJECT_KWARG.match(name)["thing"]
    last = _singular(words[-1]) if words else ""
    before = _singular(words[-2]) if len(words) > 1 else ""
    if thing:
        thing = thing.replace("_", "")
        return _model_named(last + thing, thing, thing + "job")
    return _model_named(before + last, last, last + "job")


def _non_record_values(name: str, world, pattern) -> list[str]:
    """Values of a kwarg that is not a record (see NON_RECORD_KWARGS)."""
    if name not in NON_RECORD_KWARGS:
        return []
    return NON_RECORD_KWARGS[name](world, pattern)


def _kinds(world, pattern) -> list[str]:
    """`kind` means a different registry on each page that has one."""
    if pattern.name == "programme:attachment_add":
        from programme.views import ATTACHABLE

        return list(ATTACHABLE)
    if pattern.name == "programme:import_template":
        from programme.imports.kinds import KINDS

        return list(KINDS)
    raise Unfillable(f"{pattern.label}: which values may `kind` take? Say so in _kinds()")


def _picker_sources(world, pattern) -> list[str]:
    from programme import picker

    return list(getattr(picker, "SOURCES", {}))


def _report_formats(world, pattern) -> list[str]:
    from reports.views_reviews import EXPORTS

    return list(EXPORTS)


# Kwargs that do not name a record of anybody's, with the values the matrix tries. Keep this short
# and say why each is here.
NON_RECORD_KWARGS = {
    # A registry key: the kind of record an attachment is added to (the pk after it is then of
    # that model), or the kind of records a spreadsheet import template is for.
    "kind": _kinds,
    # A search-as-you-type source ("communes", "agencies", ...): answers are scoped to the user.
    "source": _picker_sources,
    # A report's file format: the report itself is the pk before it.
    "file_format": _report_formats,
    # The admin's app index: lists models, no record.
    "app_label": lambda world, pattern: ["programme"],
    # The admin's catch-all (unknown admin URLs): no record.
    "url": lambda world, pattern: ["no-such-page/"],
    # A rollup rebuild's Celery task id: kept in the session of whoever started it (the world's
    # superuser), never listed, so it behaves like a record of theirs.
    "task_id": lambda world, pattern: [world.rebuild_task_id],
    # Password reset links: the token is the credential (Django's own view checks it); an
    # invalid token for side B's liaison must show the "invalid link" page, never a form.
    "uidb64": lambda world, pattern: [urlsafe_base64_encode(force_bytes(world.b.liaison.pk))],
    "token": lambda world, pattern: ["invalid-token"],
}


def _history_id(obj) -> list[str]:
    history = getattr(obj, "history", None)
    if history is None:
        return []
    return [str(row.history_id) for row in history.order_by("-history_id")[:1]]


MISSING_ID = "987654321"


def fill(pattern: Pattern, world) -> list[Target]:
    """Concrete paths of `pattern` pointing at side B's records (all combinations)."""
    possibilities = normalize(pattern.regex)
    template, params = possibilities[0]
    positional = [p for p in params if p.startswith("_") and p[1:].isdigit()]
    renames = dict(
        zip(positional, _positional_names(pattern.callback, len(positional)), strict=True)
    )
    # Each element: (values so far, records so far, missing values so far, model hint).
    combos = [({}, [], {}, None)]
    for param in params:
        name = renames.get(param, param)
        before = template.split(f"%({param})s", 1)[0]
        words = [w for w in before.split("/") if w and "%(" not in w]
        following = []
        for values, records, missing, hint in combos:
            is_record = OBJECT_KWARG.match(name) or name in ("version_id", "history_id")
            if is_record and name not in NON_RECORD_KWARGS:
                if name in ("version_id", "history_id"):
                    # A history row of the record filled before it (the admin's revert page).
                    parent = records[-1] if records else None
                    if parent is None:
                        raise Unfillable(f"{pattern.label}: {name} without a record before it")
                    history = _history_id(parent)
                    if not history:
                        raise Unfillable(
                            f"{pattern.label}: {parent._meta.label} {parent.pk} has no history row;"
                            " save it once in tests/access/conftest.py"
                        )
                    for value in history:
                        following.append(
                            (
                                {**values, param: value},
                                records,
                                {**missing, param: MISSING_ID},
                                None,
                            )
                        )
                    continue
                if name == "content_type_id":
                    # The admin's "view on site": a content type, then an object of it (a visit).
                    from programme.models import Visit

                    model = Visit
                    content_type = ContentType.objects.get_for_model(model)
                    following.append(
                        (
                            {**values, param: str(content_type.pk)},
                            records,
                            {**missing, param: str(content_type.pk)},
                            model,
                        )
                    )
                    continue
                model = _object_model(pattern, name, words, hint)
                if model is None:
                    raise Unfillable(
                        f"{pattern.label}: cannot tell which model the kwarg {name!r} points at;"
                        " add an alias to tests/access/urls.py MODEL_ALIASES"
                    )
                objects = world.records_of_b(model)
                if not objects and pattern.is_admin:
                    # The admin is not scoped by side: any row of the model will do.
                    objects = list(model._default_manager.order_by("pk")[:1])
                if not objects:
                    raise Unfillable(
                        f"{pattern.label}: the world has no record of side B of "
                        f"{model._meta.label}; add one in tests/access/conftest.py"
                    )
                for obj in objects:
                    following.append(
                        (
                            {**values, param: str(obj.pk)},
                            [*records, obj],
                            {**missing, param: MISSING_ID},
                            None,
                        )
                    )
            else:
                choices = _non_record_values(name, world, pattern)
                if not choices:
                    raise Unfillable(
                        f"{pattern.label}: no value for the kwarg {name!r}; if it names a record"
                        " call it pk/…_id, else add it to NON_RECORD_KWARGS in tests/access/urls.py"
                    )
                for choice in choices:
                    next_hint = None
                    if name == "kind" and pattern.name == "programme:attachment_add":
                        next_hint = apps.get_model("programme", choice)
                    following.append(
                        ({**values, param: choice}, records, {**missing, param: choice}, next_hint)
                    )
        combos = following
    return [
        Target(
            pattern=pattern,
            path="/" + template % values,
            records=records,
            missing_path="/" + template % missing if records else "",
        )
        for values, records, missing, _hint in combos
    ]

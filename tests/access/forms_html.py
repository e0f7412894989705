"""The forms a page renders, read from its HTML: what a browser would let a person post."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Field:
    name: str
    tag: str  # input, select, textarea
    type: str = ""  # the input's type
    value: str = ""
    options: list[str] = field(default_factory=list)
    multiple: bool = False
    attrs: dict = field(default_factory=dict)


@dataclass
class Form:
    method: str
    action: str
    fields: dict[str, Field] = field(default_factory=dict)


class FormsParser(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = Form(
                method=(attrs.get("method") or "get").lower(), action=attrs.get("action", "")
            )
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = attrs.get("name")
        if tag in ("input", "textarea", "select") and name:
            kind = attrs.get("type", "text").lower() if tag == "input" else ""
            if kind in ("submit", "button", "reset", "image"):
                return
            found = Field(
                name=name,
                tag=tag,
                type=kind,
                value=attrs.get("value", ""),
                multiple="multiple" in attrs,
                attrs=attrs,
            )
            if kind in ("checkbox", "radio") and name in self._form.fields:
                self._form.fields[name].options.append(found.value or "on")
                return
            if kind in ("checkbox", "radio"):
                found.options.append(found.value or "on")
            self._form.fields[name] = found
            if tag == "select":
                self._select = found
            elif tag == "textarea":
                self._textarea = found
        elif tag == "option" and self._select is not None:
            self._select.options.append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select.value = attrs.get("value", "")

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "textarea" and self._textarea is not None:
            self._textarea.value = self._textarea.value.removeprefix("\n")
            self._textarea = None
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def forms_of(html: str) -> list[Form]:
    parser = FormsParser()
    parser.feed(html)
    return parser.forms


def main_post_form(html: str, path: str) -> Form:
    """The page's own POST form (not the language switch or the logout button in the header)."""
    candidates = [
        form for form in forms_of(html) if form.method == "post" and form.action in ("", path)
    ]
    if not candidates:
        raise AssertionError(f"{path} renders no POST form of its own")
    return max(candidates, key=lambda form: len(form.fields))

"""The services a citizen can pre-register for, loaded from TOML files an office can edit.

Each service is one file in ``kiosk/services/`` named after its id (``ektp.toml``, ``kk_change.toml``,
``birth_certificate.toml``, ``death_certificate.toml``). A file says what the service is called (in Bahasa
Indonesia and English), which fields the citizen fills in and on which step, whether a face photo and a
signature are taken, and the document checklist the citizen must bring to the counter. No code changes are
needed to edit a checklist, reword a label or add a service.

File layout (every key is checked; an unknown key or a wrong type is an error naming the file and the key)::

    id = "ektp"                     # must equal the file name without .toml
    order = 10                      # position on the service screen (smaller first)
    enabled = true                  # false hides the service (an office override can switch one off)
    photo = true                    # take a face photo (skipped with a note when the camera is down)
    signature = true                # take a signature (pad, or the touchscreen when no pad works)
    name = { id = "Perekaman KTP-el", en = "e-KTP recording" }
    description = { id = "...", en = "..." }

    [[fields]]
    id = "nik"                      # key of the value in the record
    kind = "nik"                    # nik, kk_number, name, text, date, sex, choice, kecamatan, phone
    step = "identity"               # identity or details
    required = true
    label = { id = "NIK", en = "NIK (national identity number)" }
    hint = { id = "...", en = "..." }          # optional help line under the field
    # kind = "choice" needs options = [{ value = "...", label = { id = "...", en = "..." } }, ...]
    # kind = "name" / "text" may set max_length; kind = "name" may set min_words
    # kind = "sex" / "date" may set agrees_with = "<id of a nik field>": the sex and birth date encoded in
    #   that NIK must agree with what the citizen entered here.

    [[documents]]
    id = "kk"
    label = { id = "Kartu Keluarga (KK) asli", en = "Original family card (KK)" }
    note = { id = "...", en = "..." }          # optional
    required = true                 # false = "if applicable"

Office overrides: when the config's ``kiosk.services_dir`` names a folder, each file there replaces the
shipped file of the same name, and files with new names add services. ``enabled = false`` in an override
hides a shipped service.

Visible strings of the UI itself go through gettext catalogs; service data carries its own id/en text
because offices edit it, not translators.
"""

from __future__ import annotations

import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from kiosk import strict_toml

#: The languages every visible text of a service must be written in.
LANGUAGES: tuple[str, ...] = ("id", "en")

#: Where the services shipped with the firmware live.
SHIPPED_DIR = Path(__file__).with_name("services")

FieldKind = Literal["nik", "kk_number", "name", "text", "date", "sex", "choice", "kecamatan", "phone"]
#: The journey steps that show fields.
FieldStep = Literal["identity", "details"]

Identifier = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=400, pattern=r"\S")]


class ServiceFileError(ValueError):
    """A service file cannot be used; the message names the file, the key and the problem."""


class _Strict(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """Base of every part of a service file: unknown keys are rejected, values are immutable."""


class Text(_Strict):
    """A visible text in both kiosk languages."""

    id: NonEmpty
    en: NonEmpty

    def get(self, language: str) -> str:
        """The text in ``language`` (``"id"`` or ``"en"``); Bahasa Indonesia for any other code."""
        return self.en if language == "en" else self.id


class Option(_Strict):
    """One choice of a ``choice`` field: the value stored in the record and its label."""

    value: Identifier
    label: Text


#: Labels of the ``sex`` field kind; values follow the NIK (day + 40 for women).
SEX_OPTIONS: tuple[Option, ...] = (
    Option(value="male", label=Text(id="Laki-laki", en="Male")),
    Option(value="female", label=Text(id="Perempuan", en="Female")),
)

_LENGTH_KINDS = ("name", "text")
_AGREEMENT_KINDS = ("sex", "date")


class FieldSpec(_Strict):
    """A field the citizen fills in.

    Attributes:
        id: Key of the value in the record's ``fields``.
        kind: How it is entered and validated (see :mod:`kiosk.validation`).
        step: The journey step that shows it.
        label: Its label.
        required: Whether it must be filled in.
        hint: Optional help line under the field.
        options: The choices of a ``choice`` field.
        max_length: Longest value of a ``name`` or ``text`` field (defaults in :mod:`kiosk.validation`).
        min_words: Fewest words of a ``name`` field (a new child's name needs two, Permendagri 73/2022).
        agrees_with: For ``sex`` and ``date`` fields: the id of a ``nik`` field whose encoded sex or birth
            date must agree with this value.
    """

    id: Identifier
    kind: FieldKind
    step: FieldStep
    label: Text
    required: bool = True
    hint: Text | None = None
    options: tuple[Option, ...] = ()
    max_length: Annotated[int, msgspec.Meta(ge=1, le=200)] | None = None
    min_words: Annotated[int, msgspec.Meta(ge=1, le=10)] | None = None
    agrees_with: Identifier | None = None

    def __post_init__(self) -> None:
        if self.kind == "choice":
            if len(self.options) < 2:
                raise ValueError(f"field {self.id!r}: a choice needs at least two options")
            values = [option.value for option in self.options]
            if len(set(values)) != len(values):
                raise ValueError(f"field {self.id!r}: option values must be unique")
        elif self.options:
            raise ValueError(f"field {self.id!r}: options are only for kind 'choice'")
        if self.max_length is not None and self.kind not in _LENGTH_KINDS:
            raise ValueError(f"field {self.id!r}: max_length is only for kinds 'name' and 'text'")
        if self.min_words is not None and self.kind != "name":
            raise ValueError(f"field {self.id!r}: min_words is only for kind 'name'")
        if self.agrees_with is not None and self.kind not in _AGREEMENT_KINDS:
            raise ValueError(f"field {self.id!r}: agrees_with is only for kinds 'sex' and 'date'")

    def choices(self) -> tuple[Option, ...]:
        """The options of a ``choice`` or ``sex`` field (``kecamatan`` ones come from kiosk.regions)."""
        return SEX_OPTIONS if self.kind == "sex" else self.options


class DocumentItem(_Strict):
    """One document of the checklist the citizen brings to the counter."""

    id: Identifier
    label: Text
    note: Text | None = None
    #: False for documents needed only in some cases ("if applicable").
    required: bool = True


class Service(_Strict):
    """One service: what it is called, its fields, its steps and its document checklist."""

    id: Identifier
    name: Text
    description: Text
    fields: tuple[FieldSpec, ...]
    documents: tuple[DocumentItem, ...]
    order: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100
    enabled: bool = True
    photo: bool = False
    signature: bool = True

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError("a service needs at least one field")
        if not self.documents:
            raise ValueError("a service needs at least one document in its checklist")
        field_ids = [spec.id for spec in self.fields]
        if len(set(field_ids)) != len(field_ids):
            raise ValueError(f"field ids must be unique (repeated: {_repeated(field_ids)})")
        document_ids = [item.id for item in self.documents]
        if len(set(document_ids)) != len(document_ids):
            raise ValueError(f"document ids must be unique (repeated: {_repeated(document_ids)})")
        kinds = {spec.id: spec.kind for spec in self.fields}
        for spec in self.fields:
            if spec.agrees_with is not None and kinds.get(spec.agrees_with) != "nik":
                raise ValueError(f"field {spec.id!r}: agrees_with {spec.agrees_with!r} is not a nik field")

    def fields_for(self, step: str) -> tuple[FieldSpec, ...]:
        """The fields shown on ``step`` (``"identity"`` or ``"details"``), in file order."""
        return tuple(spec for spec in self.fields if spec.step == step)

    def field(self, field_id: str) -> FieldSpec | None:
        """The field called ``field_id``, or None."""
        return next((spec for spec in self.fields if spec.id == field_id), None)


def _repeated(values: list[str]) -> str:
    return ", ".join(sorted({v for v in values if values.count(v) > 1}))


class ServiceCatalog:
    """The enabled services, in the order the service screen shows them."""

    def __init__(self, services: typing.Iterable[Service]) -> None:
        enabled = [service for service in services if service.enabled]
        self._services = tuple(sorted(enabled, key=lambda s: (s.order, s.id)))
        self._by_id = {service.id: service for service in self._services}

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services)

    def __len__(self) -> int:
        return len(self._services)

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._by_id

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of the enabled services, in display order."""
        return tuple(self._by_id)

    def get(self, service_id: str) -> Service | None:
        """The service called ``service_id``, or None when there is no such enabled service."""
        return self._by_id.get(service_id)


def parse_service(data: str | bytes, source: str = "<service>") -> Service:
    """Decode one service file's TOML text, raising :class:`ServiceFileError` on any problem."""
    try:
        return strict_toml.decode(data, Service, source)
    except strict_toml.StrictTomlError as exc:
        raise ServiceFileError(str(exc)) from None


def load_service_file(path: Path) -> Service:
    """Load and check one service file; its ``id`` must equal its file name."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ServiceFileError(f"{path}: cannot be read ({exc.strerror})") from None
    service = parse_service(data, str(path))
    if service.id != path.stem:
        raise ServiceFileError(f"{path}: id: {service.id!r} must equal the file name {path.stem!r}")
    return service


def load_services(office_dir: str | Path | None = None, *, shipped_dir: Path = SHIPPED_DIR) -> ServiceCatalog:
    """Load the shipped services, then the office's overrides from ``office_dir`` (when given).

    Args:
        office_dir: The config's ``kiosk.services_dir``; empty or None = only the shipped services.
        shipped_dir: Folder of the shipped services (tests point it elsewhere).

    Raises:
        ServiceFileError: A file is invalid, ``office_dir`` does not exist, or no service is enabled.
    """
    files = {path.stem: path for path in sorted(shipped_dir.glob("*.toml"))}
    searched = [str(shipped_dir)]
    if office_dir:
        office = Path(office_dir).expanduser()
        if not office.is_dir():
            raise ServiceFileError(f"{office}: services_dir is not a folder")
        files.update({path.stem: path for path in sorted(office.glob("*.toml"))})
        searched.append(str(office))
    catalog = ServiceCatalog(load_service_file(path) for path in files.values())
    if not len(catalog):
        raise ServiceFileError(f"no service is enabled (looked in {' and '.join(searched)})")
    return catalog

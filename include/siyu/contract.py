"""The landing-zone contract (docs/landing-contract.md) as data.

One ``Entity`` per ``<source>/<entity>`` folder of the landing zone. The loader builds its
parsing and validation SQL from these definitions, the dbt sources mirror them, and the tests
check the generator against them. Everything here is literal to the contract; where the
contract is silent the choice is written next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SOURCES = ("crm", "shop", "community")

# Kinds of field the loader validates.
TEXT = "text"  # free or id text, stored as delivered
KEY = "key"  # part of the record key: required, non-empty
CRM_TIME = "crm_time"  # 'YYYY-MM-DD HH:MM:SS', business-timezone wall time
DATE = "date"  # 'YYYY-MM-DD'
ISO_TIME = "iso_time"  # ISO 8601 with a UTC offset (shop); no offset is rejected
EPOCH_MS = "epoch_ms"  # integer epoch milliseconds, UTC (community)
AMOUNT = "amount"  # decimal string in yuan
INTEGER = "integer"
BOOL = "bool"  # 'true' / 'false'
JSON = "json"  # nested JSON (arrays, objects), kept as JSON


@dataclass(frozen=True)
class Field:
    name: str
    kind: str = TEXT
    required: bool = False
    enum: tuple[str, ...] | None = None  # closed set: other values are rejected
    doc: str = ""


@dataclass(frozen=True)
class Entity:
    source: str
    name: str
    fmt: str  # 'csv' or 'jsonl'
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    version_field: str | None = None  # field that orders versions of a key
    doc: str = ""
    extra_checks: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Delivered every day: from its first partition on, a day without its dt= folder is a
    # missing delivery (siyu check-landing). the landing contract gives no cadence per entity ("a day
    # may have zero, one or several part files"), so this is the project's choice: the
    # shop's orders and the WeCom message archive are continuous streams of a running
    # business; every other entity changes only when something happens (a new contact, a tag,
    # a campaign, a refund, a survey...), and a day without its partition is normal (the
    # shared sample landing skips days of each of them).
    daily: bool = False

    @property
    def path(self) -> str:
        return f"{self.source}/{self.name}"

    @property
    def table(self) -> str:
        """Raw table name inside the source's raw database."""
        return self.name

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


def _f(name: str, kind: str = TEXT, required: bool = False, enum=None, doc: str = "") -> Field:
    if kind == KEY:
        required = True
    return Field(name, kind, required, tuple(enum) if enum else None, doc)


ORDER_STATUSES = ("created", "paid", "shipped", "completed", "cancelled", "refunded")
CHAT_TYPES = ("single", "group")
FROM_TYPES = ("customer", "staff", "bot")
MSG_TYPES = ("text", "image", "voice", "video", "link", "miniprogram", "file", "emotion", "revoke")
CONTENT_EVENTS = ("delivered", "opened", "clicked")
TAG_ACTIONS = ("add", "remove")
MEMBER_ACTIONS = ("join", "leave")
MEMBER_TYPES = ("customer", "staff")
BOOLEANS = ("true", "false")

ENTITIES: tuple[Entity, ...] = (
    Entity(
        "crm",
        "contacts",
        "csv",
        (
            _f("contact_id", KEY),
            _f("external_userid"),
            _f("unionid"),
            _f("name"),
            _f("phone"),
            _f("email"),
            _f("city"),
            _f("source_channel"),
            _f("owner_staff_id"),
            _f("created_at", CRM_TIME, required=True),
            _f("updated_at", CRM_TIME, required=True),
            _f("is_deleted", BOOL, required=True, enum=BOOLEANS),
        ),
        key=("contact_id",),
        version_field="updated_at",
        doc="One row per contact version; latest updated_at is current.",
    ),
    Entity(
        "crm",
        "contact_tags",
        "csv",
        (
            _f("contact_id", KEY),
            _f("tag_group", required=True),
            _f("tag_name", required=True),
            _f("action", required=True, enum=TAG_ACTIONS),
            _f("tagged_at", CRM_TIME, required=True),
            _f("staff_id", doc="empty when an automation tagged"),
        ),
        key=("contact_id", "tag_group", "tag_name", "action", "tagged_at"),
        doc="Tag events (add/remove).",
    ),
    Entity(
        "crm",
        "staff",
        "csv",
        (
            _f("staff_id", KEY),
            _f("name"),
            _f("department"),
            _f("role"),
            _f("is_active", BOOL),
            _f("updated_at", CRM_TIME, required=True),
        ),
        key=("staff_id",),
        version_field="updated_at",
        doc="One row per staff version; latest updated_at wins.",
    ),
    Entity(
        "crm",
        "campaigns",
        "csv",
        (
            _f("campaign_id", KEY),
            _f("channel"),
            _f("department"),
            _f("start_date", DATE, required=True),
            _f("end_date", DATE, required=True),
            _f("spend_cny", AMOUNT, required=True),
            _f("updated_at", CRM_TIME, required=True),
        ),
        key=("campaign_id",),
        version_field="updated_at",
        doc="Marketing spend per campaign.",
    ),
    Entity(
        "crm",
        "surveys",
        "csv",
        (
            _f("response_id", KEY),
            _f("contact_id", required=True),
            _f("score", INTEGER, required=True),
            _f("submitted_at", CRM_TIME, required=True),
        ),
        key=("response_id",),
        version_field="submitted_at",
        doc="NPS answers, score 0-10.",
        extra_checks=(("score", "score outside 0-10"),),
    ),
    Entity(
        "shop",
        "orders",
        "jsonl",
        (
            _f("order_id", KEY),
            _f("buyer_id", required=True),
            _f("buyer_phone"),
            _f("unionid"),
            _f("channel"),
            _f("status", required=True, enum=ORDER_STATUSES),
            _f("created_at", ISO_TIME, required=True),
            _f("paid_at", ISO_TIME),
            _f("updated_at", ISO_TIME, required=True),
            _f("currency"),
            _f("total_amount", AMOUNT),
            _f("discount_amount", AMOUNT),
            _f("shipping_amount", AMOUNT),
            _f("paid_amount", AMOUNT),
            _f("coupon_code"),
            _f("items", JSON),
        ),
        key=("order_id",),
        version_field="updated_at",
        doc="One line per order snapshot; latest updated_at is current.",
        daily=True,
    ),
    Entity(
        "shop",
        "refunds",
        "jsonl",
        (
            _f("refund_id", KEY),
            _f("order_id", required=True),
            _f("amount", AMOUNT, required=True),
            _f("refunded_at", ISO_TIME, required=True),
            _f("reason"),
        ),
        key=("refund_id",),
        version_field="refunded_at",
        doc="Refunds; an order may have several partial refunds.",
    ),
    Entity(
        "shop",
        "customers",
        "jsonl",
        (
            _f("buyer_id", KEY),
            _f("phone"),
            _f("unionid"),
            _f("nickname"),
            _f("registered_at", ISO_TIME),
            _f("updated_at", ISO_TIME, required=True),
        ),
        key=("buyer_id",),
        version_field="updated_at",
        doc="Shop customer accounts.",
    ),
    Entity(
        "community",
        "messages",
        "jsonl",
        (
            _f("msgid", KEY),
            _f("chat_type", required=True, enum=CHAT_TYPES),
            _f("roomid"),
            _f("from", required=True),
            _f("from_type", required=True, enum=FROM_TYPES),
            _f("tolist", JSON),
            _f("msgtime", EPOCH_MS, required=True),
            _f("msgtype", required=True, enum=MSG_TYPES),
            _f("content"),
        ),
        key=("msgid",),
        version_field="msgtime",
        doc="WeCom message archive; re-pulls deliver the same msgid again.",
        daily=True,
    ),
    Entity(
        "community",
        "groups",
        "jsonl",
        (
            _f("roomid", KEY),
            _f("name"),
            _f("owner_staff_id"),
            _f("created_at", EPOCH_MS),
            _f("category"),
            _f("updated_at", EPOCH_MS, required=True),
        ),
        key=("roomid",),
        version_field="updated_at",
        doc="Customer groups.",
    ),
    Entity(
        "community",
        "group_members",
        "jsonl",
        (
            _f("roomid", KEY),
            _f("member_id", KEY),
            _f("member_type", required=True, enum=MEMBER_TYPES),
            _f("action", required=True, enum=MEMBER_ACTIONS),
            _f("event_time", EPOCH_MS, required=True),
        ),
        key=("roomid", "member_id", "action", "event_time"),
        doc="Group join/leave events.",
    ),
    Entity(
        "community",
        "content_pushes",
        "jsonl",
        (
            _f("push_id", KEY),
            _f("content_id"),
            _f("title"),
            _f("channel"),
            _f("staff_id"),
            _f("sent_time", EPOCH_MS, required=True),
        ),
        key=("push_id",),
        version_field="sent_time",
        doc="Content sent to customers by groups, moments or 1v1.",
    ),
    Entity(
        "community",
        "content_events",
        "jsonl",
        (
            _f("push_id", KEY),
            _f("external_userid", KEY),
            _f("event", required=True, enum=CONTENT_EVENTS),
            _f("event_time", EPOCH_MS, required=True),
        ),
        key=("push_id", "external_userid", "event", "event_time"),
        doc="Delivered/opened/clicked events of content pushes.",
    ),
)

BY_PATH = {e.path: e for e in ENTITIES}


def entities_of(source: str) -> tuple[Entity, ...]:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    return tuple(e for e in ENTITIES if e.source == source)


# Lineage columns every raw row carries (see loader).
LINEAGE_COLUMNS = ("_dt", "_file", "_line", "_load_id", "_loaded_at", "_extra")

"""The schema, defined once; Alembic migrations in ``store/migrations`` create it.

Instants are UTC epoch milliseconds in BIGINT columns. Surrogate keys are integers (``pk``);
the identifiers MPS callers see (AppId, AccessKeyId, task ids) are their own columns.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)

from tidings.instants import DAY_MS

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# An auto-incrementing 64-bit key that SQLite stores as its rowid.
Serial = BigInteger().with_variant(Integer(), "sqlite")

meta = Table(
    "meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
)

apps = Table(
    "apps",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("workspace_pk", Serial, ForeignKey("workspaces.pk"), nullable=False),
    Column("app_id", String(64), nullable=False),
    Column("tenant_id", String(64)),
    Column("timezone", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("workspace_pk", "app_id"),
)

access_keys = Table(
    "access_keys",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("access_key_id", String(64), nullable=False, unique=True),
    Column("secret_ciphertext", LargeBinary, nullable=False),
    Column("workspace_pk", Serial, ForeignKey("workspaces.pk"), nullable=False),
    Column("read_only", Boolean, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

access_key_apps = Table(
    "access_key_apps",
    metadata,
    Column("key_pk", Serial, ForeignKey("access_keys.pk", ondelete="CASCADE"), primary_key=True),
    Column("app_pk", Serial, ForeignKey("apps.pk", ondelete="CASCADE"), primary_key=True),
)

templates = Table(
    "templates",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("app_pk", Serial, ForeignKey("apps.pk"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", String(200)),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("uri", Text),
    Column("variables", Text, nullable=False),
    Column("show_style", SmallInteger, nullable=False),
    Column("push_style", SmallInteger, nullable=False),
    Column("jump_action", SmallInteger, nullable=False),
    Column("image_urls", Text),
    Column("icon_urls", Text),
    Column("revision", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    UniqueConstraint("app_pk", "name"),
)

# One accepted push call, or one occurrence of a scheduled or loop push (a child task whose
# parent_id is the scheduled task; it has no messages of its own and sends its parent's).
# state: "scheduled" (a parent with occurrences to come; due_at is the next one), "accepted"
# (due for delivery from due_at on), and the later states delivery and scheduling give it.
# An occurrence exists at most once: (parent_id, due_at) is unique. audience is a broadcast's
# choice of devices (push/broadcast.py's Audience as JSON); other pushes name their targets.
# request_id: the RequestId the accepting call was answered with (none for a console push), for
# delivery's log lines; an occurrence keeps its scheduled parent's.
tasks = Table(
    "tasks",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("parent_id", Serial, ForeignKey("tasks.id")),
    Column("app_pk", Serial, ForeignKey("apps.pk"), nullable=False),
    Column("action", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("delivery_type", SmallInteger, nullable=False),
    Column("template_pk", Serial),
    Column("template_name", String(200)),
    Column("expired_seconds", Integer, nullable=False),
    Column("strategy_type", SmallInteger, nullable=False),
    Column("strategy", Text),
    Column("options", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("message_count", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("due_at", BigInteger),
    Column("audience", Text),
    Column("request_id", String(64)),
    Index(None, "app_pk", "state"),
    Index(None, "state", "due_at"),
    UniqueConstraint("parent_id", "due_at"),
)

# One TargetMsg: its msgKey, its target and the text rendered for it. A broadcast's one message
# has an empty target. revoked_at: RevokePushMessage or RevokePushTask took it back; delivery
# never makes deliveries of a revoked message (a loop's later occurrences skip it too).
# A msgKey is unique per app and UTC day of acceptance (message_day), not for all time: random
# msgKeys in one index over every stored message put each new key on a page of its own, and a
# commit then writes a page per message; kept per day, new keys land among today's only.
# store/msg_keys.py keeps the retry window (24 hours) across the day's boundary.
messages = Table(
    "messages",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("task_id", Serial, ForeignKey("tasks.id"), nullable=False),
    Column("app_pk", Serial, nullable=False),
    Column("msg_key", String(128), nullable=False),
    Column("target", String(128), nullable=False),
    Column("title", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("uri", Text),
    Column("extended_params", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger),
    Index(None, "task_id"),
)
message_day = messages.c.created_at // literal_column(str(DAY_MS), BigInteger)
Index(
    "uq_messages_app_pk_day_msg_key",
    messages.c.app_pk,
    message_day,
    messages.c.msg_key,
    unique=True,
)

# Signature nonces seen recently, when several processes must agree on them (PostgreSQL).
nonces = Table(
    "nonces",
    metadata,
    Column("access_key_id", String(64), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "expires_at"),
)

# Vendor channel settings per app (APNs, FCM, HMS, ...): the JSON config, sealed at rest.
channel_configs = Table(
    "channel_configs",
    metadata,
    Column("app_pk", Serial, ForeignKey("apps.pk", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("config_ciphertext", LargeBinary, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# A device an app pushes to. Devices that register on the self-built channel get a DeliveryToken
# and a secret (only its hash is kept); devices known only through PushReport (an APNs token, say)
# have no secret and are reached through their vendor channel. user_id is the PushBind binding;
# phone_ciphertext the PhoneNumber given with it (for the SMS supplement), sealed with the
# service's SecretBox, never kept in plain text. phone_number is where bindings made before the SMS
# supplement kept it in plain text: each start seals what it finds there and empties it.
devices = Table(
    "devices",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("app_pk", Serial, ForeignKey("apps.pk"), nullable=False),
    Column("token", String(256), nullable=False),
    Column("secret_hash", LargeBinary),
    Column("platform", String(16), nullable=False),
    Column("user_id", String(128)),
    Column("phone_ciphertext", LargeBinary),
    Column("phone_number", String(32)),
    Column("bound_at", BigInteger),
    Column("unbound_at", BigInteger),
    Column("third_channel", SmallInteger),
    Column("third_token", String(512)),
    Column("manufacturer", String(16), nullable=False),
    Column("facts", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("last_seen_at", BigInteger),
    UniqueConstraint("app_pk", "token"),
    Index(None, "app_pk", "user_id"),
    Index(None, "app_pk", "platform", "pk"),  # a broadcast walks a platform's devices in pk order
)

# A Live Activity an app's device started: its id (what DeliveryType 6 targets name) and the APNs
# push token ActivityKit gave it, registered by the device over its connection. A row goes when
# an end event is sent to the activity, or with its device.
live_activities = Table(
    "live_activities",
    metadata,
    Column("app_pk", Serial, ForeignKey("apps.pk", ondelete="CASCADE"), primary_key=True),
    Column("activity_id", String(128), primary_key=True),
    Column("push_token", String(512), nullable=False),
    Column("device_pk", Serial, ForeignKey("devices.pk", ondelete="CASCADE"), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "device_pk"),
    Index(None, "push_token"),  # an end sent by token, and a token APNs calls dead, find it
)

# A push-to-start token (iOS 17.2+): what ActivityKit gave the device to start Live Activities
# of one ActivityAttributes type by push, renewed by the device whenever it changes.
live_activity_start_tokens = Table(
    "live_activity_start_tokens",
    metadata,
    Column("device_pk", Serial, ForeignKey("devices.pk", ondelete="CASCADE"), primary_key=True),
    Column("attributes_type", String(128), primary_key=True),
    Column("push_token", String(512), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Index(None, "updated_at"),
    Index(None, "push_token"),  # a token APNs calls dead finds it
)

# One message to one device: the unit a device acknowledges. A user-addressed message with no
# bound device is one row with device_pk NULL and status 1 (NoBindInfo), turned into a delivery
# to the device the user binds next within the message's validity. status holds the MPS
# per-message codes (contract.Status lists them). An occurrence of a scheduled push delivers
# its parent's messages again, so a message and a device meet once per task, not once in all.
# sent_at: a vendor gateway accepted it; acked_at: it arrived (the device acknowledged it, or
# the vendor's receipt said so);
# opened_at: the device reported the user opened it. revoked_at: it was revoked (status 4); if
# it was sent over the self-built channel, revoke_confirmed_at is when the device confirmed the
# revoke frame. recall_due_at: a revocation is asking its vendor to take it back; it stays
# delivered (status 2) until the vendor agrees (then revoked) or refuses (then the column is
# cleared), and from this time on (epoch ms: the asker's lease ran out, as when its process
# died before the answer was written, or the vendor could not be reached and is to be asked
# again then) a recall sweep asks again. recall_asked_at: when the vendor was last asked by a
# revocation (kept after its answer, for the trace; the retries' intervals grow from it).
# stat_pk is the push_stats row its analytics are counted in. push_token: a delivery to a Live
# Activity (no device) keeps the activity's APNs push token, to send again.
WAITING = 1  # contract.Status.NO_BIND, which the store does not import
_WAITING = text(f"status = {WAITING}")
WAITING_BY_USER = "ix_deliveries_waiting_by_user"
PENDING = 0  # contract.Status.PENDING
# Pending deliveries with a next attempt: vendor ones handed to their channel (due again when the
# lease runs out) or to be retried; self-built ones have none.
_RETRYABLE = text(f"status = {PENDING} AND next_attempt_at IS NOT NULL")
RETRIES = "ix_deliveries_retries"
# The open deliveries: waiting for a device or for a binding, until the expiry sweep closes them.
# Written as an OR of equalities: SQLite proves a query lies within a partial index only when a
# condition of the query is the index's condition or one of its ORed terms.
_OPEN = text(f"status = {PENDING} OR status = {WAITING}")
OPEN_BY_EXPIRY = "ix_deliveries_open_by_expiry"
# The recalls a vendor is being asked for: few at any time, each leaving as it is answered.
_RECALLING = text("recall_due_at IS NOT NULL")
RECALLS = "ix_deliveries_recalls"

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Serial, primary_key=True, autoincrement=True),
    Column("task_id", Serial, ForeignKey("tasks.id"), nullable=False),
    Column("message_pk", Serial, ForeignKey("messages.pk"), nullable=False),
    Column("app_pk", Serial, nullable=False),
    Column("device_pk", Serial, ForeignKey("devices.pk")),
    Column("user_id", String(128)),
    Column("push_token", String(512)),
    Column("channel", String(16)),
    Column("status", Integer, nullable=False),
    Column("reason", Text),
    Column("attempts", SmallInteger, nullable=False),
    Column("next_attempt_at", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("acked_at", BigInteger),
    Column("opened_at", BigInteger),
    Column("sent_at", BigInteger),
    Column("revoked_at", BigInteger),
    Column("revoke_confirmed_at", BigInteger),
    Column("recall_due_at", BigInteger),
    Column("recall_asked_at", BigInteger),
    Column("stat_pk", Serial),
    UniqueConstraint("task_id", "message_pk", "device_pk"),
    Index(None, "message_pk"),
    Index(None, "device_pk", "status"),
    # The expiry sweep's and /metrics' open counts: the open deliveries by status and expiry.
    # Only those: settled ones (most of the table) are read by id, device, message or task. Over
    # every delivery, each new delivery went into the middle of the index and each settled one
    # moved within it (SQLite: 11 % more CPU to write a broadcast's deliveries, 20 % to settle
    # acks, beside 1,000,000 settled ones), and SQLite's planner, with no statistics, took it
    # to find a task's deliveries to revoke, walking every acked one (84 ms, 10 by the task).
    Index(OPEN_BY_EXPIRY, "status", "expires_at", sqlite_where=_OPEN, postgresql_where=_OPEN),
    # The deliveries waiting for a user to bind a device, found when one binds. Only those: an
    # index of every delivery's user id puts each new delivery on a page of its own (user ids
    # spread over the whole index), so every commit wrote a page per delivery and ingest slowed
    # as the table grew; waiting rows are few and leave the index once routed or expired.
    # status (one value here) as a third column: without statistics (Tidings runs no ANALYZE)
    # SQLite's planner rated a two-column partial index below (status, expires_at), then an
    # index of every delivery.
    Index(
        WAITING_BY_USER,
        "app_pk",
        "user_id",
        "status",
        sqlite_where=_WAITING,
        postgresql_where=_WAITING,
    ),
    # The retry sweep's (every 10 s): the vendor deliveries due again, in the order they fell
    # due. Without it the sweep walked every pending delivery, self-built ones included (1M
    # pending: 100 ms on SQLite, a scan of the whole table on PostgreSQL). Only rows with a
    # next attempt, so only vendor deliveries pay for it. status as a column too: SQLite's
    # planner, with no statistics, took (status, expires_at), then an index of every delivery,
    # over an index of next_attempt_at alone.
    Index(
        RETRIES,
        "status",
        "next_attempt_at",
        sqlite_where=_RETRYABLE,
        postgresql_where=_RETRYABLE,
    ),
    # The recall sweep's (every delivery sweep): the vendor recalls whose asker's lease ran out.
    Index(RECALLS, "recall_due_at", sqlite_where=_RECALLING, postgresql_where=_RECALLING),
)

# The SMS supplement of one message (SmsStrategy 1 or 2 of PushSimple and PushTemplate), at most
# one per message. state: "due" (to be looked at from due_at on: strategy 2 at once, strategy 1
# once its push had the supplement delay to arrive), "sending" (claimed: a sender committed this
# before asking the provider, and holds it until lease_until), and the ends "sent", "failed",
# "skipped" (no phone number, revoked) and "arrived" (the push arrived in time: none needed).
# detail: the provider's id for a sent SMS, or why it was not sent.
sms_supplements = Table(
    "sms_supplements",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("message_pk", Serial, ForeignKey("messages.pk"), nullable=False, unique=True),
    Column("task_id", Serial, nullable=False),
    Column("app_pk", Serial, nullable=False),
    Column("strategy", SmallInteger, nullable=False),
    Column("state", String(16), nullable=False),
    Column("due_at", BigInteger, nullable=False),
    Column("lease_until", BigInteger),
    Column("detail", Text),
    Column("settled_at", BigInteger),
    Index(None, "state", "due_at"),
)

# What happened to a delivery that its own columns do not keep: every vendor refusal and retry
# (status and the vendor's words), and what a vendor answered to its recall, for the message
# trace.
delivery_events = Table(
    "delivery_events",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("delivery_id", Serial, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status", Integer, nullable=False),
    Column("reason", Text),
    # None for an event of its sending; else the vendor, asked to take it back, would not
    # ("refused"), could not be reached ("unreached": asked again later) or was still not
    # reached when its recall was given up ("given_up")
    Column("recall", Text),
    Index(None, "delivery_id"),
)

# Analytics counters, kept up to date as deliveries are made and change state (analytics/): one
# row per task (or occurrence), quarter hour of the deliveries' creation, platform and channel
# (MPS's labels: ANDROID, IOS, HMS, ...; '' when not known). pushed counts deliveries made,
# successful those a device acknowledged or a vendor accepted, arrived those a device
# acknowledged, opened those a device reported opened. push_id is the push (the parent of an
# occurrence); action its push action.
push_stats = Table(
    "push_stats",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("app_pk", Serial, nullable=False),
    Column("task_id", Serial, nullable=False),
    Column("push_id", Serial, nullable=False),
    Column("action", String(32), nullable=False),
    Column("slot", BigInteger, nullable=False),
    Column("platform", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("pushed", BigInteger, nullable=False),
    Column("successful", BigInteger, nullable=False),
    Column("arrived", BigInteger, nullable=False),
    Column("opened", BigInteger, nullable=False),
    UniqueConstraint("task_id", "slot", "platform", "channel"),
    Index(None, "app_pk", "slot"),
    Index(None, "push_id"),
)

# People who sign in to the web console. password_hash is an argon2 hash; all_workspaces makes a
# superuser, otherwise operator_workspaces lists the workspaces (by name, so a grant may precede
# the workspace's first app) the operator may see and act on.
operators = Table(
    "operators",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(256), nullable=False),
    Column("all_workspaces", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

operator_workspaces = Table(
    "operator_workspaces",
    metadata,
    Column("operator_pk", Serial, ForeignKey("operators.pk", ondelete="CASCADE"), primary_key=True),
    Column("workspace", String(64), primary_key=True),
)

# A signed-in console session. Only a hash of the cookie's token is kept, so reading this table
# does not let anyone sign in; csrf_token is what every form of the session must carry back.
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("operator_pk", Serial, ForeignKey("operators.pk", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index(None, "expires_at"),
)

# Recent failed sign-ins, by username and by client address: the rate limit every process shares.
console_login_failures = Table(
    "console_login_failures",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("address", String(64), nullable=False),
    Column("at", BigInteger, nullable=False),
    Index(None, "username", "at"),
    Index(None, "address", "at"),
)

# An app's webhook endpoint: where its delivery events are POSTed (webhooks/). events is the
# comma-separated event types it takes; secrets_ciphertext the sealed JSON list of its signing
# secrets (the newest first; two while a rotation lets the old one live on). failing_since is
# when its attempts began to fail (NULL while they succeed); an endpoint failing for too long
# is disabled (enabled false) and sent nothing until enabled again.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column("app_pk", Serial, ForeignKey("apps.pk", ondelete="CASCADE"), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),
    Column("secrets_ciphertext", LargeBinary, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("failing_since", BigInteger),
    Column("created_at", BigInteger, nullable=False),
    Index(None, "app_pk"),
)

# The outbox: one event owed to one endpoint, written in the transaction that made the event
# happen. state: "pending" (due from next_attempt_at; a sender that claims it pushes that time
# past its attempt, the lease), "delivered" (delivered_at set; pruned after the retention
# period), "expired" (retried for the whole retry period without success). payload is the
# event's data as sent; its id (evt_<pk>) is stable across attempts. msg_key and message_pk:
# the message it concerns, if any. The message trace finds a message's rows by message_pk
# (store/traces.py), whose index grows in the order rows are written: events come about recent
# messages, so each insert lands in the index's last pages. An index of (endpoint_pk, msg_key)
# took random msgKeys at random places, and cost the writer more per event than the row.
webhook_outbox = Table(
    "webhook_outbox",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column(
        "endpoint_pk",
        Serial,
        ForeignKey("webhook_endpoints.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("event_type", String(32), nullable=False),
    Column("msg_key", String(128)),
    Column("message_pk", BigInteger),
    Column("payload", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    Index(None, "state", "next_attempt_at"),
    Index(None, "endpoint_pk", "pk"),
    Index(None, "message_pk", "pk"),
)

# One POST to an endpoint: which batch (webhook_id), how many events, what came back (the
# status code and the start of the answer's body, or the error when none came), for the console.
webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("pk", Serial, primary_key=True, autoincrement=True),
    Column(
        "endpoint_pk",
        Serial,
        ForeignKey("webhook_endpoints.pk", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("webhook_id", String(64), nullable=False),
    Column("events", Integer, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("status_code", Integer),
    Column("response", Text),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Index(None, "endpoint_pk", "at"),
)

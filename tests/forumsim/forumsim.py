#!/usr/bin/env python3
"""forumsim - a Discourse forum simulator for the forumgate integration tests.

The bridge talks to Discourse over its HTTP API and receives Discourse's
``post_created`` webhooks.  This program stands in for the forum during the
integration tests:

* It serves the parts of the Discourse API the bridge uses (``POST
  /posts.json``, ``GET /t/{id}.json``, ``GET /posts/{id}.json``, ``GET
  /posts.json``, ``GET /t/external_id/{external_id}.json``) and answers the way
  Discourse does, including its validation errors (short title or body,
  duplicate title, "too similar" bodies, unknown topics) and its error bodies.

* Every API request is checked against the published Discourse OpenAPI
  contract, loaded at run time (``--contract``): the path and method must be an
  operation of the contract, declared query parameters must have the declared
  types, and a JSON (or form-encoded) request body must validate against the
  operation's request schema.  A request that breaks the contract is answered
  ``400 {"errors": [...]}`` and recorded as a violation, so that a test can
  assert there were none.  Every 200 answer is validated against the
  operation's 200 response schema; a mismatch is a simulator bug and is
  recorded under ``response_errors``.

* After each post is created (through the API or through the test endpoints),
  the ``post_created`` webhook is delivered to ``--webhook-url`` from a
  background thread, signed with ``--webhook-secret`` exactly like Discourse
  signs it, and retried with backoff while the receiver fails.

* Test control endpoints under ``/__sim/`` (no API key needed) let a test read
  the whole state, play forum users who post in the web UI, inject failures
  (429 rate limiting, 502/503, a dropped connection) and reset everything.

Run ``forumsim.py --help`` for the options and ``forumsim.py --self-test`` for
a self-contained check of the simulator itself.  See README.md next to this
file for the control endpoints.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import heapq
import hmac
import html
import http.client
import itertools
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import unicodedata
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, Optional

import jsonschema

sys.path.insert(0, str(Path(__file__).resolve().parent))
import forumsim_generic  # noqa: E402  (the generic mode, its own file)

SCRIPT = Path(__file__).resolve()
REPO_ROOT = SCRIPT.parents[2]
DEFAULT_CONTRACT = REPO_ROOT.parent / "shared" / "contracts" / "discourse-openapi.json"
DEFAULT_NODEBB_CONTRACT = REPO_ROOT.parent / "shared" / "contracts" / "nodebb-write-openapi"

LISTEN_HOST = "127.0.0.1"
MAX_BODY_BYTES = 10 * 1024 * 1024
FIRST_TOPIC_ID = 10
FIRST_POST_ID = 100
FIRST_USER_ID = 2
UNCATEGORIZED_ID = 1
PM_MIN_TITLE_LENGTH = 2        # Discourse's min_personal_message_title_length
PM_MIN_POST_LENGTH = 10        # Discourse's min_personal_message_post_length
NODEBB_CHAT_MAX = 1000         # NodeBB's maximumChatMessageLength
POSTS_PER_CHUNK = 20           # Discourse's post_stream chunk size
LATEST_POSTS_PAGE = 50
MAX_TITLE_LENGTH = 255         # Discourse's max_topic_title_length (and NodeBB's
                               # maximumTitleLength)
# NodeBB's defaults (install/data/defaults.json); it counts JavaScript string
# length (UTF-16 code units) of the text without HTML tags, trimmed
# (src/topics/create.js check()).  minimumTitleLength is 0 since NodeBB 4.10,
# 3 before.
NODEBB_MIN_TITLE_LENGTH = 3
NODEBB_MIN_POST_LENGTH = 8
NODEBB_MAX_POST_LENGTH = 32767
# NodeBB's error texts (public/language/en-GB/error.json), as the Write API
# answers them translated: 400 {"status": {"code": "bad-request", "message"}}
NODEBB_ERRORS = {
    "title-too-short": "Please enter a longer title. Titles should contain at least "
                       "%1 character(s).",
    "title-too-long": "Please enter a shorter title. Titles can't be longer than "
                      "%1 character(s).",
    "content-too-short": "Please enter a longer post. Posts should contain at least "
                         "%1 character(s).",
    "content-too-long": "Please enter a shorter post. Posts can't be longer than "
                        "%1 character(s).",
}
EXTERNAL_ID_MAX_LENGTH = 50    # Topic::EXTERNAL_ID_MAX_LENGTH
WEBHOOK_TIMEOUT = 5.0
LOG_LIMIT = 5000               # entries kept in request_log

# Error bodies exactly as Discourse sends them.
INVALID_ACCESS = {
    "errors": ["You are not permitted to view the requested resource. "
               "The API username or key is invalid."],
    "error_type": "invalid_access",
}
NOT_FOUND = {
    "errors": ["The requested URL or resource could not be found."],
    "error_type": "not_found",
}


def rate_limit_body(seconds: int) -> dict:
    """Discourse's 429 body (RateLimiter::LimitExceeded)."""
    return {
        "errors": ["You\u2019ve performed this action too many times. "
                   f"Please wait {seconds} seconds before trying again."],
        "error_type": "rate_limit",
        "extras": {"wait_seconds": seconds},
    }


def iso_now() -> str:
    """The current time the way Rails renders it: ISO 8601, ms, 'Z'."""
    return iso(datetime.now(timezone.utc))


def iso(moment: datetime) -> str:
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str) -> Optional[datetime]:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def dump_json(obj: Any) -> bytes:
    """Compact UTF-8 JSON, as Rails/Oj writes it (no \\u escapes)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------------------
# Text handling, following Discourse (TextCleaner, PostCreator, Slug)
# ---------------------------------------------------------------------------

_UNICODE_SPACES = re.compile("[\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def normalize_whitespaces(text: str) -> str:
    return _UNICODE_SPACES.sub(" ", text)


def clean_raw(raw: str) -> str:
    """PostCreator stores raw with unicode spaces normalised and trailing
    whitespace removed."""
    return re.sub(r"\s+\Z", "", normalize_whitespaces(raw))


def clean_title(title: str, prettify: bool) -> str:
    """TextCleaner.clean_title with Discourse's default settings
    (title_prettify on, default locale en, allow_uppercase_posts off)."""
    text = title
    if prettify:
        text = re.sub(r"!+", "!", text)
        text = re.sub(r"\?+", "?", text)
        if text == text.upper():
            text = text.lower()
        first, sep, rest = text.partition(" ")
        if first and first == first.lower():
            text = first[:1].upper() + first[1:] + sep + rest
        text = re.sub(r"([^.])\.+(\s*)\Z", r"\1\2", text)
        text = re.sub(r"\s+([!?]\s*)\Z", r"\1", text)
    text = re.sub(r" +", " ", text)
    text = normalize_whitespaces(text).strip()
    return text.replace("\u200b", "")


def escape_html(text: str) -> str:
    return html.escape(text, quote=False).replace('"', "&quot;")


def cook(raw: str) -> str:
    """A much simplified Markdown rendering: paragraphs separated by blank
    lines, single newlines as <br>, everything HTML-escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", raw.strip()) if p.strip()]
    return "\n".join("<p>" + escape_html(p.strip()).replace("\n", "<br>\n") + "</p>"
                     for p in paragraphs)


def slugify(title: str) -> str:
    """Slug.for with the default 'ascii' method; 'topic' when nothing is left."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.replace("'", "").lower()).strip("-")
    return slug or "topic"


def excerpt(raw: str, limit: int = 300) -> tuple[str, bool]:
    text = re.sub(r"\s+", " ", raw).strip()
    if len(text) <= limit:
        return escape_html(text), False
    return escape_html(text[:limit]) + "&hellip;", True


# NodeBB's posting delays (src/user/posts.js isReady(): initialPostDelay,
# newbiePostDelay below newbieReputationThreshold, postDelay) and its post
# lock (src/api/topics.js lockPosting): thrown as [[error:KEY, ARGS]] and
# answered 400 - not 429 - by helpers.formatApiResponse with the message
# of public/language/en-GB/error.json.  The fail modes of the same names
# answer them; Discourse answers its rate limits with 429 (rate_limit_body).
NODEBB_DELAY_ERRORS = {
    "post-delay": "You can only post once every %1 second(s) - please wait "
                  "before posting again",
    "newbie-delay": "As a new user, you can only post once every %1 second(s) "
                    "until you have earned %2 reputation - please wait before "
                    "posting again",
    "user-too-new": "Sorry, you are required to wait %1 second(s) before "
                    "making your first post",
    "already-posting": "You are already posting",
}
NODEBB_NEWBIE_REPUTATION = 3   # newbieReputationThreshold (install/data/defaults.json)
# A wrong or revoked master token makes NodeBB go on as a guest
# (src/middleware/user.js authenticate(): no user, next()); a guest's post
# is refused by the privilege check with [[error:no-privileges]], which
# formatApiResponse answers 403 (src/controllers/helpers.js).
NODEBB_NO_PRIVILEGES = "You do not have enough privileges for this action."


def delay_refusal(forum_type: str, mode: str, seconds: int) -> Optional["Answer"]:
    """The answer of a posting-delay fail mode, as the forum sends it:
    NodeBB's 400 envelope, Discourse's 429; None for other modes."""
    text = NODEBB_DELAY_ERRORS.get(mode)
    if text is None:
        return None
    if forum_type != "nodebb":
        return Answer(429, rate_limit_body(max(seconds, 1)),
                      {"Retry-After": str(max(seconds, 1))})
    text = text.replace("%1", str(seconds)).replace("%2", str(NODEBB_NEWBIE_REPUTATION))
    return Answer(400, nodebb_envelope(400, message=text))


def nodebb_guest_refusal(route: tuple) -> "Answer":
    """NodeBB's answer to a request without a valid token: a guest may
    not post (403 no-privileges); the routes behind ensureLoggedIn
    (chats) answer 401 not-authorised (helpers.notAllowed)."""
    if route in (("POST", "/api/v3/topics"), ("POST", "/api/v3/topics/{tid}")):
        return Answer(403, nodebb_envelope(403, message=NODEBB_NO_PRIVILEGES))
    return Answer(401, nodebb_envelope(
        401, message="A valid login session was not found. Please log in and try again."))


def js_length(text: str) -> int:
    """JavaScript's String length: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def nodebb_length_error(settings: "Settings", title: Optional[str], raw: str) -> Optional[str]:
    """NodeBB's Topics.checkTitle and Topics.checkContent: the first limit
    broken, in NodeBB's words, or None.  The text is measured without HTML
    tags (utils.stripHTMLTags), trimmed."""
    def check(item: str, low: int, high: int, short: str, long: str) -> Optional[str]:
        item = re.sub(r"</?[A-Za-z][^>]*>", "", item).strip()
        if js_length(item) < low:
            return NODEBB_ERRORS[short].replace("%1", str(low))
        if js_length(item) > high:
            return NODEBB_ERRORS[long].replace("%1", str(high))
        return None
    if title is not None:
        error = check(title.strip(), settings.min_title_length, settings.max_title_length,
                      "title-too-short", "title-too-long")
        if error:
            return error
    return check(raw.rstrip(), settings.min_post_length, settings.max_post_length,
                 "content-too-short", "content-too-long")


def body_errors(settings: "Settings", raw: str, minimum: int) -> list[str]:
    """Discourse's StrippedLengthValidator on a post's raw: blank, else
    the length against max_post_length, else the stripped length against
    the minimum."""
    if not raw.strip():
        return ["Body can't be blank"]
    if len(raw) > settings.max_post_length:
        return [f"Body is limited to {settings.max_post_length} characters; "
                f"you entered {len(raw)}."]
    if len(raw.strip()) < minimum:
        return [f"Body is too short (minimum is {minimum} characters)"]
    return []


def raw_hash(raw: str) -> str:
    """Post#raw_hash: whitespace removed, lower-cased, SHA1."""
    return hashlib.sha1(re.sub(r"\s+", "", raw).lower().encode()).hexdigest()


# ---------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------

def inline_refs(node: Any, root: dict, depth: int = 0) -> Any:
    """Replace local "$ref": "#/..." pointers by their targets."""
    if depth > 50:
        raise ValueError("$ref nesting too deep (cyclic schema?)")
    if isinstance(node, list):
        return [inline_refs(item, root, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/"):
        target: Any = root
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        merged = dict(target)
        merged.update({k: v for k, v in node.items() if k != "$ref"})
        return inline_refs(merged, root, depth + 1)
    return {key: inline_refs(value, root, depth) for key, value in node.items()}


def apply_response_errata(schema: Any) -> tuple[Any, int]:
    """The published contract types ``reply_to_post_number`` as
    ``["string", "null"]`` in every post schema, but Discourse sends the post
    number as an integer (e.g. 1).  The simulator answers like Discourse, so
    its own answers are checked against the contract with that one property
    widened to also accept an integer.  Returns the patched copy and the
    number of places patched."""
    schema = copy.deepcopy(schema)
    patched = 0

    def walk(node: Any) -> None:
        nonlocal patched
        if isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, dict):
            prop = node.get("properties", {}).get("reply_to_post_number")
            if isinstance(prop, dict) and prop.get("type") == ["string", "null"]:
                prop["type"] = ["integer", "string", "null"]
                patched += 1
            for value in node.values():
                walk(value)

    walk(schema)
    return schema, patched


def describe_error(error: jsonschema.ValidationError, what: str) -> str:
    where = "/".join(str(p) for p in error.absolute_path)
    return f"{what}{'.' + where if where else ''}: {error.message}"


class FilePart(str):
    """A multipart file field: validates as a string, carries the bytes."""

    def __new__(cls, filename: str, content_type: str, payload: bytes):
        obj = super().__new__(cls, filename)
        obj.filename, obj.content_type, obj.payload = filename, content_type, payload
        return obj


def parse_multipart(content_type: str, body: bytes, props: dict) -> tuple[Any, Optional[str]]:
    """A multipart/form-data body as a dict: files as FilePart, other
    fields coerced to the schema's types.  (data, problem)"""
    import email.parser
    import email.policy
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not msg.is_multipart():
        return None, "multipart body without parts"
    data: dict = {}
    for part in msg.iter_parts():
        disposition = part.get("Content-Disposition", "")
        params = dict(part.get_params(header="content-disposition") or [])
        name = params.get("name")
        if not disposition.startswith("form-data") or not name:
            return None, "a multipart part without Content-Disposition: form-data; name=..."
        payload = part.get_payload(decode=True) or b""
        if "filename" in params:
            data[name] = FilePart(part.get_filename() or "", part.get_content_type(), payload)
        else:
            data[name] = Contract.coerce(payload.decode("utf-8", "replace"),
                                         props.get(name, {}))
    return data, None


@dataclass
class Operation:
    method: str
    template: str
    spec: dict
    regex: re.Pattern
    root: dict
    _validators: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    def _validator(self, kind: str, schema: Any) -> Optional[jsonschema.Draft202012Validator]:
        if kind not in self._validators:
            self._validators[kind] = (
                None if schema is None
                else jsonschema.Draft202012Validator(inline_refs(schema, self.root)))
        return self._validators[kind]

    def request_schema(self) -> Optional[dict]:
        content = self.spec.get("requestBody", {}).get("content", {})
        if "application/json" not in content and "multipart/form-data" in content:
            return content["multipart/form-data"].get("schema")
        return content.get("application/json", {}).get("schema")

    def body_required(self) -> bool:
        return bool(self.spec.get("requestBody", {}).get("required"))

    def request_validator(self):
        return self._validator("request", self.request_schema())

    def response_validator(self):
        content = self.spec.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            schema, _ = apply_response_errata(schema)
        return self._validator("response", schema)

    def query_parameters(self) -> list[dict]:
        return [p for p in self.spec.get("parameters", []) if p.get("in") == "query"]


class Contract:
    """The Discourse OpenAPI document, indexed by method and path."""

    METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

    def __init__(self, path: Path):
        with open(path, encoding="utf-8") as f:
            self.document = json.load(f)
        self.path = path
        self.operations: list[Operation] = []
        for template, item in self.document.get("paths", {}).items():
            pattern = "".join(
                "(?P<%s>[^/]+)" % part[1:-1] if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", template))
            for method, spec in item.items():
                if method in self.METHODS:
                    self.operations.append(Operation(
                        method.upper(), template, spec, re.compile("^" + pattern + "$"),
                        self.document))
        # Literal paths win over templated ones (/posts.json vs /posts/{id}.json).
        self.operations.sort(key=lambda op: op.template.count("{"))
        _, self.errata_count = apply_response_errata(self.document.get("paths", {}))

    def match(self, method: str, path: str) -> tuple[Optional[Operation], dict]:
        for op in self.operations:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                return op, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    def operation(self, method: str, template: str) -> Operation:
        for op in self.operations:
            if op.method == method and op.template == template:
                return op
        raise KeyError(f"{method} {template} is not in the contract {self.path}")

    @staticmethod
    def coerce(value: str, schema: dict) -> Any:
        """Form and query values arrive as strings; turn them into the type the
        schema asks for where they have that shape (as Rails would)."""
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "integer" in types and re.fullmatch(r"-?\d+", value):
            return int(value)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
        if "boolean" in types and value in ("true", "false"):
            return value == "true"
        return value

    def check_query(self, op: Operation, query: dict[str, list[str]]) -> list[str]:
        problems = []
        for param in op.query_parameters():
            name, schema = param["name"], param.get("schema", {})
            if name not in query:
                if param.get("required"):
                    problems.append(f"query parameter '{name}' is required")
                continue
            value = self.coerce(query[name][-1], schema)
            for error in jsonschema.Draft202012Validator(schema).iter_errors(value):
                problems.append(describe_error(error, f"query parameter '{name}'"))
        return problems

    def parse_body(self, op: Operation, content_type: str, body: bytes) -> tuple[Any, list[str]]:
        """Decode and validate a request body.  Returns (data, problems)."""
        schema = op.request_schema()
        if not body.strip():
            if schema is not None and op.body_required():
                return None, ["a request body is required"]
            return None, []
        if schema is None:
            return None, [f"{op.name} takes no request body in the contract"]
        mime = content_type.split(";")[0].strip().lower()
        if mime == "application/json":
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                return None, [f"request body is not valid JSON: {e}"]
        elif mime == "application/x-www-form-urlencoded":
            try:
                fields = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True)
            except UnicodeDecodeError as e:
                return None, [f"form body is not valid UTF-8: {e}"]
            props = schema.get("properties", {})
            data = {k: self.coerce(v[-1], props.get(k, {})) for k, v in fields.items()}
        elif mime == "multipart/form-data" and \
                "multipart/form-data" in op.spec.get("requestBody", {}).get("content", {}):
            data, problem = parse_multipart(content_type, body, schema.get("properties", {}))
            if problem:
                return None, [problem]
        else:
            return None, [f"unsupported Content-Type '{content_type or '(none)'}' "
                          "(use application/json or application/x-www-form-urlencoded)"]
        if not isinstance(data, dict):
            return None, ["request body must be a JSON object"]
        errors = sorted(op.request_validator().iter_errors(data),
                        key=lambda e: list(map(str, e.absolute_path)))
        return data, [describe_error(e, "request body") for e in errors]


# ---------------------------------------------------------------------------
# The forum
# ---------------------------------------------------------------------------

@dataclass
class Settings:
    api_key: str = ""
    min_title_length: int = 15
    min_post_length: int = 20
    min_first_post_length: int = 20
    max_post_length: int = 32000
    max_title_length: int = MAX_TITLE_LENGTH
    forum_type: str = "discourse"
    unique_posts_mins: float = 5
    allow_duplicate_titles: bool = False
    title_prettify: bool = True
    staff: frozenset = frozenset({"system"})
    post_interval: float = 0.0
    topic_interval: float = 0.0


@dataclass
class User:
    id: int
    username: str
    name: str
    staff: bool


@dataclass
class Topic:
    id: int
    title: str
    slug: str
    category_id: int
    user: User
    created_at: str
    external_id: Optional[str] = None
    posts: list = field(default_factory=list)


@dataclass
class Post:
    id: int
    topic: Topic
    post_number: int
    user: User
    raw: str
    cooked: str
    created_at: str
    reply_to_post_number: Optional[int]
    via: str
    to_pid: Optional[int] = None     # NodeBB's reply link (toPid)


class Rejected(Exception):
    """A request the forum refuses: carries Discourse's status and body."""

    def __init__(self, status: int, body: dict, headers: Optional[dict] = None):
        super().__init__(body)
        self.status, self.body, self.headers = status, body, headers or {}


def create_post_error(*messages: str) -> Rejected:
    return Rejected(422, {"action": "create_post", "errors": list(messages)})


# Field lists of Discourse's serializers, limited to what the contract allows
# for each answer (the schemas have additionalProperties: false).
CREATED_POST_FIELDS = (
    "id", "name", "username", "avatar_template", "created_at", "raw", "cooked",
    "post_number", "post_type", "posts_count", "updated_at", "reply_count",
    "reply_to_post_number", "quote_count", "incoming_link_count", "reads",
    "readers_count", "score", "yours", "topic_id", "topic_slug", "display_username",
    "primary_group_name", "flair_name", "flair_url", "flair_bg_color", "flair_color",
    "flair_group_id", "badges_granted", "version", "can_edit", "can_delete",
    "can_recover", "can_see_hidden_post", "can_wiki", "user_title", "bookmarked",
    "actions_summary", "moderator", "admin", "staff", "user_id", "draft_sequence",
    "hidden", "trust_level", "deleted_at", "user_deleted", "edit_reason",
    "can_view_edit_history", "wiki", "reviewable_id", "reviewable_score_count",
    "reviewable_score_pending_count", "post_url")
SINGLE_POST_FIELDS = tuple(f for f in CREATED_POST_FIELDS
                           if f not in ("draft_sequence", "badges_granted"))
TOPIC_POST_FIELDS = (
    "id", "name", "username", "avatar_template", "created_at", "cooked", "post_number",
    "post_type", "updated_at", "reply_count", "reply_to_post_number", "quote_count",
    "incoming_link_count", "reads", "readers_count", "score", "yours", "topic_id",
    "topic_slug", "display_username", "primary_group_name", "flair_name", "flair_url",
    "flair_bg_color", "flair_color", "version", "can_edit", "can_delete", "can_recover",
    "can_see_hidden_post", "can_wiki", "link_counts", "read", "user_title", "bookmarked",
    "actions_summary", "moderator", "admin", "staff", "user_id", "hidden", "trust_level",
    "deleted_at", "user_deleted", "edit_reason", "can_view_edit_history", "wiki",
    "reviewable_id", "reviewable_score_count", "reviewable_score_pending_count")
LATEST_POST_FIELDS = (
    "id", "name", "username", "avatar_template", "created_at", "cooked", "post_number",
    "post_type", "posts_count", "updated_at", "reply_count", "reply_to_post_number",
    "quote_count", "incoming_link_count", "reads", "readers_count", "score", "yours",
    "topic_id", "topic_slug", "topic_title", "topic_html_title", "category_id",
    "display_username", "primary_group_name", "flair_name", "flair_url",
    "flair_bg_color", "flair_color", "flair_group_id", "badges_granted", "version",
    "can_edit", "can_delete", "can_recover", "can_see_hidden_post", "can_wiki",
    "user_title", "bookmarked", "raw", "actions_summary", "moderator", "admin", "staff",
    "user_id", "hidden", "trust_level", "deleted_at", "user_deleted", "edit_reason",
    "can_view_edit_history", "wiki", "excerpt", "truncated", "reviewable_id",
    "reviewable_score_count", "reviewable_score_pending_count", "post_url")
# WebHookPostSerializer: PostSerializer with topic_title, raw and category_id
# forced on, the can_* / yours / actions_summary / flair_url... fields off, and
# topic_posts_count, topic_filtered_posts_count, topic_archetype, category_slug.
WEBHOOK_POST_FIELDS = (
    "id", "name", "username", "avatar_template", "created_at", "cooked", "post_number",
    "post_type", "updated_at", "reply_count", "reply_to_post_number", "quote_count",
    "incoming_link_count", "reads", "score", "topic_id", "topic_slug", "topic_title",
    "topic_html_title", "category_id", "display_username", "primary_group_name",
    "flair_name", "flair_group_id", "version", "user_title", "bookmarked", "raw",
    "moderator", "admin", "staff", "user_id", "hidden", "trust_level", "deleted_at",
    "user_deleted", "edit_reason", "wiki", "reviewable_id", "reviewable_score_count",
    "reviewable_score_pending_count", "topic_posts_count", "topic_filtered_posts_count",
    "topic_archetype", "category_slug")


# Reviewable.statuses (app/models/reviewable.rb)
REVIEWABLE_REJECTED = 2


def pick(attrs: dict, fields: tuple) -> dict:
    return {name: attrs[name] for name in fields}


class Forum:
    """All forum state, behind one lock."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.users: dict[str, User] = {}
            self.topics: dict[int, Topic] = {}
            self.posts: dict[int, Post] = {}
            self.topic_ids = itertools.count(FIRST_TOPIC_ID)
            self.post_ids = itertools.count(FIRST_POST_ID)
            self.user_ids = itertools.count(FIRST_USER_ID)
            self.event_ids = itertools.count(1)
            self.recent_raw: dict[tuple[int, str], float] = {}
            self.last_created: dict[tuple[int, str], float] = {}
            self.requests = 0
            self.request_log: list[dict] = []
            self.violations: list[dict] = []
            self.unimplemented: list[dict] = []
            self.response_errors: list[dict] = []
            self.webhooks: list[dict] = []
            self.uploads: list[dict] = []
            self.private_messages: list[dict] = []
            self.chat_rooms: dict[int, dict] = {}
            self.chats: list[dict] = []
            self.failure = {"mode": "none", "remaining": 0, "retry_after": 1}
            self.review_init()
            self.nodebb_raw_fail = 0   # raw requests still to answer 404

    # -- users ---------------------------------------------------------------

    def user(self, username: str, name: Optional[str] = None) -> User:
        with self.lock:
            key = username.lower()
            user = self.users.get(key)
            if user is None:
                uid = -1 if key == "system" else next(self.user_ids)
                user = User(uid, username, name or username, key in self.settings.staff)
                self.users[key] = user
            elif name:
                user.name = name
            return user

    # -- administration --------------------------------------------------------

    def change_settings(self, data: dict) -> dict:
        """Set api_key and the length minimums an administrator may change
        while the forum runs; the values now in force."""
        with self.lock:
            key = data.get("api_key")
            if key is not None:
                if not isinstance(key, str) or not key:
                    raise ValueError("'api_key' must be a non-empty string")
                self.settings.api_key = key
            for name in ("min_post_length", "min_first_post_length", "min_title_length"):
                value = data.get(name)
                if value is None:
                    continue
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"'{name}' must be a non-negative integer")
                setattr(self.settings, name, value)
            if data.get("min_post_length") is not None and self.settings.forum_type == "nodebb":
                # NodeBB has one minimumPostLength for topics and replies
                self.settings.min_first_post_length = self.settings.min_post_length
            return {"min_post_length": self.settings.min_post_length,
                    "min_first_post_length": self.settings.min_first_post_length,
                    "min_title_length": self.settings.min_title_length}

    # -- failure injection ---------------------------------------------------

    def set_failure(self, mode: str, count: int, retry_after: int) -> dict:
        with self.lock:
            self.failure = {"mode": mode, "remaining": 0 if mode == "none" else count,
                            "retry_after": retry_after}
            return dict(self.failure)

    def take_failure(self) -> Optional[tuple[str, int]]:
        """Consume one injected failure, if any is pending."""
        with self.lock:
            if self.failure["mode"] == "none" or self.failure["remaining"] <= 0:
                return None
            self.failure["remaining"] -= 1
            result = (self.failure["mode"], self.failure["retry_after"])
            if self.failure["remaining"] == 0:
                self.failure["mode"] = "none"
            return result

    # -- recording -----------------------------------------------------------

    def note_request(self, entry: dict) -> None:
        with self.lock:
            self.request_log.append(entry)
            del self.request_log[:-LOG_LIMIT]

    def note_violation(self, method: str, path: str, errors: list[str], body: bytes) -> None:
        with self.lock:
            self.violations.append({
                "time": iso_now(), "method": method, "path": path, "errors": errors,
                "body": body[:2000].decode("utf-8", "replace")})

    # -- posting -------------------------------------------------------------

    def create_post(self, username: str, name: Optional[str], data: dict, via: str) -> Post:
        """Create a topic (``title``) or a reply (``topic_id``) as Discourse's
        PostCreator would.  Raises Rejected with Discourse's answer."""
        s = self.settings
        with self.lock:
            user = self.user(username, name)
            raw = clean_raw(str(data.get("raw") or ""))
            errors: list[str] = []
            topic: Optional[Topic] = None
            reply_to = data.get("reply_to_post_number")
            title = external_id = None
            topic_id = data.get("topic_id")
            if topic_id is not None:
                topic = self.topics.get(topic_id) if isinstance(topic_id, int) else None
                if topic is None:
                    raise Rejected(404, NOT_FOUND)
                if reply_to is not None and not any(p.post_number == reply_to for p in topic.posts):
                    errors.append(f"Reply to post number {reply_to} does not exist in this topic")
            else:
                reply_to = None
                title = clean_title(str(data.get("title") or ""), s.title_prettify)
                if s.forum_type == "nodebb":
                    pass    # nodebb_length_error() below
                elif not title:
                    errors.append("Title can't be blank")
                elif len(title) < s.min_title_length:
                    errors.append("Title is too short "
                                  f"(minimum is {s.min_title_length} characters)")
                elif len(title) > s.max_title_length:
                    errors.append(f"Title is too long (maximum is {s.max_title_length} characters)")
                elif not s.allow_duplicate_titles and any(
                        t.title.lower() == title.lower() for t in self.topics.values()):
                    errors.append("Title has already been used")
                external_id = data.get("external_id")
                if external_id is not None:
                    if len(external_id) > EXTERNAL_ID_MAX_LENGTH:
                        errors.append("External is too long (maximum is "
                                      f"{EXTERNAL_ID_MAX_LENGTH} characters)")
                    elif not re.fullmatch(r"[\w-]+", external_id):
                        errors.append("External is invalid")
                    elif any((t.external_id or "").lower() == external_id.lower()
                             for t in self.topics.values()):
                        errors.append("External has already been taken")
            # Discourse's StrippedLengthValidator: blank, else the length of
            # raw against max_post_length, else the stripped length against
            # min_first_post_length (a topic) or min_post_length (a reply)
            minimum = s.min_post_length if topic is not None else s.min_first_post_length
            if s.forum_type == "nodebb":
                nodebb_error = nodebb_length_error(s, title if topic is None else None,
                                                   str(data.get("raw") or ""))
                if nodebb_error:
                    raise Rejected(400, {"errors": [nodebb_error]})
            else:
                errors += body_errors(s, raw, minimum)
            now = time.monotonic()
            unique_key = (user.id, raw_hash(raw))
            if (raw and s.unique_posts_mins > 0 and not user.staff
                    and now - self.recent_raw.get(unique_key, -1e18) < s.unique_posts_mins * 60):
                errors.append("Body is too similar to what you recently posted")
            if errors:
                raise create_post_error(*errors)
            self._check_rate_limit(user, "topic" if topic is None else "post", now)

            # API callers may backdate a post with created_at.
            backdate = parse_time(data["created_at"]) if isinstance(
                data.get("created_at"), str) else None
            created_at = iso(backdate) if backdate else iso_now()
            if topic is None:
                category = data.get("category")
                topic = Topic(next(self.topic_ids), title, slugify(title),
                              category if isinstance(category, int) else UNCATEGORIZED_ID,
                              user, created_at, external_id)
                self.topics[topic.id] = topic
            post = Post(next(self.post_ids), topic, len(topic.posts) + 1, user, raw,
                        cook(raw), created_at, reply_to, via)
            topic.posts.append(post)
            self.posts[post.id] = post
            self.recent_raw[unique_key] = now
            return post

    # -- review queue --------------------------------------------------------
    # Discourse: NewPostManager enqueues a post of a user or category that
    # needs approval as a ReviewableQueuedPost and answers NewPostResult
    # {action: "enqueued", pending_post: {id, raw, created_at} (the
    # reviewable, TopicPendingPostSerializer), pending_count, success}
    # (lib/new_post_manager.rb, app/serializers/new_post_result_serializer.rb);
    # approving it runs PostCreator, so post_created fires as for any post.
    # NodeBB: Posts.shouldQueue (postQueue per category, users below the
    # reputation threshold) and Posts.addToQueue answer {id: "TYPE-MS",
    # type, queued: true, message: "[[success:post-queued]]"} with 200;
    # submitFromQueue() creates it (action:topic.post/reply fire) and
    # removeFromQueue() rejects it, firing
    # action:post-queue:removeFromQueue {data: {id, uid, type, data}}
    # (src/posts/queue.js).

    def review_init(self) -> None:
        self.review_users: set[str] = set()
        self.review_categories: set[int] = set()
        self.review_queue: dict[str, dict] = {}
        self.review_done: list[dict] = []
        self.review_ids = itertools.count(1)
        self.review_last_ms = 0

    def review_set(self, users: list, categories: list) -> dict:
        with self.lock:
            self.review_users = {str(u).lower() for u in users}
            self.review_categories = {int(c) for c in categories}
            return {"users": sorted(self.review_users),
                    "categories": sorted(self.review_categories)}

    def review_needed(self, username: str, data: dict) -> bool:
        with self.lock:
            topic_id = data.get("topic_id")
            if topic_id is not None:
                topic = self.topics.get(topic_id)
                category = topic.category_id if topic is not None else None
            else:
                category = data.get("category")
            return username.lower() in self.review_users or category in self.review_categories

    def review_hold(self, username: str, data: dict) -> dict:
        """Queue the post: the entry as the forum keeps it."""
        with self.lock:
            kind = "reply" if data.get("topic_id") is not None else "topic"
            if data.get("topic_id") is not None and data["topic_id"] not in self.topics:
                raise Rejected(404, NOT_FOUND)
            if self.settings.forum_type == "nodebb":
                ms = max(int(time.time() * 1000), self.review_last_ms + 1)
                self.review_last_ms = ms
                held_id = f"{kind}-{ms}"
            else:
                held_id = str(next(self.review_ids))
            entry = {"id": held_id, "type": kind, "username": username,
                     "data": dict(data), "created_at": iso_now()}
            self.review_queue[held_id] = entry
            return entry

    def review_answer(self, entry: dict) -> dict:
        """What the API answers for a queued post."""
        with self.lock:
            if self.settings.forum_type == "nodebb":
                return {"id": entry["id"], "type": entry["type"], "queued": True,
                        "message": "[[success:post-queued]]"}
            return {"action": "enqueued", "success": True,
                    "pending_count": len(self.review_queue),
                    "pending_post": {"id": int(entry["id"]),
                                     "raw": clean_raw(str(entry["data"].get("raw") or "")),
                                     "created_at": entry["created_at"]}}

    def review_approve(self, held_id: str) -> Post:
        with self.lock:
            entry = self.review_queue.get(held_id)
            if entry is None:
                raise Rejected(404, NOT_FOUND)
            post = self.create_post(entry["username"], None, entry["data"], via="api")
            del self.review_queue[held_id]
            self.review_done.append({"id": held_id, "outcome": "approved",
                                     "post_id": post.id, "topic_id": post.topic.id})
            return post

    def review_reject(self, held_id: str) -> dict:
        with self.lock:
            entry = self.review_queue.pop(held_id, None)
            if entry is None:
                raise Rejected(404, NOT_FOUND)
            self.review_done.append({"id": held_id, "outcome": "rejected"})
            return entry

    def reviewable_json(self, entry: dict, status: int) -> dict:
        """The members of ReviewableSerializer a webhook receiver reads:
        id, type, status (status_for_database: 0 pending, 1 approved,
        2 rejected, 3 ignored, 4 deleted), topic_id, category_id,
        created_at, and the queued post's payload."""
        with self.lock:
            data = entry["data"]
            topic = self.topics.get(data.get("topic_id")) if data.get("topic_id") else None
            return {"id": int(entry["id"]), "type": "ReviewableQueuedPost",
                    "type_source": "core", "status": status,
                    "topic_id": topic.id if topic else None,
                    "category_id": topic.category_id if topic else data.get("category"),
                    "created_at": entry["created_at"],
                    "payload": {"raw": data.get("raw"), "title": data.get("title")}}

    def review_state(self) -> dict:
        with self.lock:
            return {"queue": [{"id": e["id"], "type": e["type"], "username": e["username"],
                               "topic_id": e["data"].get("topic_id"),
                               "title": e["data"].get("title"),
                               "category": e["data"].get("category"),
                               "raw": e["data"].get("raw")}
                              for e in self.review_queue.values()],
                    "done": copy.deepcopy(self.review_done),
                    "users": sorted(self.review_users),
                    "categories": sorted(self.review_categories)}

    # -- moving topics (Discourse: PUT /t/-/{id}.json category_id, NodeBB:
    # PUT /api/v3/topics/{tid}/move; the topic's posts keep their ids) ------

    def move_topic(self, topic_id: int, category: int) -> Topic:
        with self.lock:
            topic = self.topics.get(topic_id)
            if topic is None:
                raise Rejected(404, NOT_FOUND)
            topic.category_id = category
            return topic

    def create_private_message(self, username: str, data: dict) -> Post:
        """A private message, as Discourse's PostCreator makes one for
        archetype private_message: a title, the text, and
        target_recipients (comma-separated usernames) who must exist;
        its own topic outside every category, visible only to the sender
        and the recipients (kept apart from the public topics)."""
        s = self.settings
        with self.lock:
            user = self.user(username)
            raw = clean_raw(str(data.get("raw") or ""))
            title = clean_title(str(data.get("title") or ""), s.title_prettify)
            names = [n.strip() for n in str(data.get("target_recipients")
                                            or data.get("target_usernames") or "").split(",")
                     if n.strip()]
            errors: list[str] = []
            if data.get("topic_id") is not None or data.get("archetype") != "private_message":
                errors.append("A private message needs archetype private_message and no topic_id")
            if not names:
                errors.append("You must choose a valid user.")
            unknown = [n for n in names if n.lower() not in self.users]
            if unknown:
                errors.append("The following users could not be found: " + ", ".join(unknown))
            if not title:
                errors.append("Title can't be blank")
            elif len(title) < PM_MIN_TITLE_LENGTH:
                errors.append(f"Title is too short (minimum is {PM_MIN_TITLE_LENGTH} characters)")
            elif len(title) > s.max_title_length:
                errors.append(f"Title is too long (maximum is {s.max_title_length} characters)")
            errors += body_errors(s, raw, PM_MIN_POST_LENGTH)
            if errors:
                raise create_post_error(*errors)
            topic = Topic(next(self.topic_ids), title, slugify(title), UNCATEGORIZED_ID,
                          user, iso_now())
            post = Post(next(self.post_ids), topic, 1, user, raw, cook(raw), topic.created_at,
                        None, "api")
            topic.posts.append(post)
            self.private_messages.append({
                "topic_id": topic.id, "post_id": post.id, "title": title, "raw": raw,
                "username": user.username, "target_recipients": names,
                "created_at": topic.created_at})
            return post

    def nodebb_chat_room(self, uid: int, uids: Any):
        """NodeBB's POST /api/v3/chats: a room of the caller and uids (who
        must exist); the RoomObject, or the error message."""
        with self.lock:
            if not isinstance(uids, list) or not uids or not all(
                    isinstance(u, int) and not isinstance(u, bool) for u in uids):
                return "Invalid data"
            if any(str(u) not in self.users for u in uids):
                return "No user found"
            room_id = len(self.chat_rooms) + 1
            members = [uid] + [u for u in uids if u != uid]
            self.chat_rooms[room_id] = {"roomId": room_id, "owner": uid, "uids": members}
            return {"roomId": room_id, "roomName": "", "groupChat": len(members) > 2,
                    "public": False, "userCount": len(members), "messageCount": 0,
                    "timestamp": int(time.time() * 1000)}

    def nodebb_chat_message(self, uid: int, room_id: int, message: Any):
        """NodeBB's POST /api/v3/chats/{roomId}: the caller must be in the
        room; at most maximumChatMessageLength (1000) characters. The
        MessageObject, or the error message."""
        with self.lock:
            room = self.chat_rooms.get(room_id)
            if room is None or uid not in room["uids"]:
                return "You are not allowed to chat with this user"
            if not isinstance(message, str) or not message.strip():
                return "Invalid chat message"
            if js_length(message) > NODEBB_CHAT_MAX:
                return f"Chat messages can not be longer than {NODEBB_CHAT_MAX} characters."
            stamp = int(time.time() * 1000)
            self.chats.append({"roomId": room_id, "fromuid": uid,
                               "uids": [u for u in room["uids"] if u != uid],
                               "content": message, "timestamp": stamp})
            return {"content": escape_html(message), "timestamp": stamp, "fromuid": uid,
                    "roomId": room_id, "deleted": 0, "system": 0, "edited": 0,
                    "timestampISO": iso_now(), "mid": len(self.chats),
                    "messageId": len(self.chats), "self": 1, "newSet": True}

    def _check_rate_limit(self, user: User, kind: str, now: float) -> None:
        """Discourse's rate_limit_create_post / rate_limit_create_topic for
        non-staff users (off unless --post-interval / --topic-interval)."""
        interval = self.settings.topic_interval if kind == "topic" else self.settings.post_interval
        if interval <= 0 or user.staff:
            return
        key = (user.id, kind)
        wait = interval - (now - self.last_created.get(key, -1e18))
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise Rejected(429, rate_limit_body(seconds), {"Retry-After": str(seconds)})
        self.last_created[key] = now

    # -- serialisation -------------------------------------------------------

    @staticmethod
    def avatar_template(user: User) -> str:
        letter = (user.username[:1] or "x").lower()
        return f"/letter_avatar_proxy/v4/letter/{letter}/8e7dd6/{{size}}.png"

    def category_slug(self, category_id: int) -> str:
        return "uncategorized" if category_id == UNCATEGORIZED_ID else f"category-{category_id}"

    def _post_attributes(self, post: Post, viewer: Optional[str]) -> dict:
        """Every attribute any of the serializers may need."""
        topic, user = post.topic, post.user
        yours = viewer is not None and viewer.lower() == user.username.lower()
        text, truncated = excerpt(post.raw)
        return {
            "id": post.id, "name": user.name, "username": user.username,
            "avatar_template": self.avatar_template(user),
            "created_at": post.created_at, "updated_at": post.created_at,
            "raw": post.raw, "cooked": post.cooked, "post_number": post.post_number,
            "post_type": 1, "posts_count": len(topic.posts),
            "reply_count": sum(1 for p in topic.posts
                               if p.reply_to_post_number == post.post_number),
            "reply_to_post_number": post.reply_to_post_number,
            "quote_count": 0, "incoming_link_count": 0, "reads": 1, "readers_count": 0,
            "score": 0, "yours": yours, "topic_id": topic.id, "topic_slug": topic.slug,
            "topic_title": topic.title, "topic_html_title": escape_html(topic.title),
            "category_id": topic.category_id,
            "category_slug": self.category_slug(topic.category_id),
            "topic_posts_count": len(topic.posts), "topic_filtered_posts_count": len(topic.posts),
            "topic_archetype": "regular",
            "display_username": user.name, "primary_group_name": None, "flair_name": None,
            "flair_url": None, "flair_bg_color": None, "flair_color": None,
            "flair_group_id": None, "badges_granted": [], "version": 1,
            "can_edit": yours, "can_delete": yours and post.post_number > 1,
            "can_recover": False, "can_see_hidden_post": False, "can_wiki": False,
            "link_counts": [], "read": True, "user_title": None, "bookmarked": False,
            "actions_summary": [] if yours else [{"id": 2, "can_act": True}],
            "moderator": user.staff, "admin": user.staff, "staff": user.staff,
            "user_id": user.id, "draft_sequence": 1, "hidden": False,
            "trust_level": 4 if user.staff else 1, "deleted_at": None,
            "user_deleted": False, "edit_reason": None, "can_view_edit_history": True,
            "wiki": False, "reviewable_id": None, "reviewable_score_count": 0,
            "reviewable_score_pending_count": 0, "excerpt": text, "truncated": truncated,
            "post_url": f"/t/{topic.slug}/{topic.id}/{post.post_number}",
        }

    def created_post_json(self, post: Post, viewer: str) -> dict:
        with self.lock:
            return pick(self._post_attributes(post, viewer), CREATED_POST_FIELDS)

    def single_post_json(self, post: Post, viewer: str) -> dict:
        with self.lock:
            return pick(self._post_attributes(post, viewer), SINGLE_POST_FIELDS)

    def webhook_post_json(self, post: Post) -> dict:
        with self.lock:
            return pick(self._post_attributes(post, None), WEBHOOK_POST_FIELDS)

    def latest_posts_json(self, viewer: str, before: Optional[int]) -> dict:
        with self.lock:
            posts = sorted((p for p in self.posts.values() if before is None or p.id < before),
                           key=lambda p: p.id, reverse=True)[:LATEST_POSTS_PAGE]
            return {"latest_posts": [pick(self._post_attributes(p, viewer), LATEST_POST_FIELDS)
                                     for p in posts]}

    def topic_json(self, topic: Topic, viewer: str) -> dict:
        with self.lock:
            posts = []
            for post in topic.posts[:POSTS_PER_CHUNK]:
                attrs = pick(self._post_attributes(post, viewer), TOPIC_POST_FIELDS)
                attrs["reviewable_id"] = 0     # TopicView serialises "none" as 0
                posts.append(attrs)
            last = topic.posts[-1]
            basic = lambda u: {"id": u.id, "username": u.username, "name": u.name,
                               "avatar_template": self.avatar_template(u)}
            return {
                "post_stream": {"posts": posts, "stream": [p.id for p in topic.posts]},
                "timeline_lookup": [[1, 0]], "suggested_topics": [], "tags": [],
                "tags_descriptions": {}, "id": topic.id, "title": topic.title,
                "fancy_title": escape_html(topic.title), "posts_count": len(topic.posts),
                "created_at": topic.created_at, "views": 1,
                "reply_count": len(topic.posts) - 1, "like_count": 0,
                "last_posted_at": last.created_at, "visible": True, "closed": False,
                "archived": False, "has_summary": False, "archetype": "regular",
                "slug": topic.slug, "category_id": topic.category_id,
                "word_count": sum(len(p.raw.split()) for p in topic.posts),
                "deleted_at": None, "user_id": topic.user.id, "featured_link": None,
                "pinned_globally": False, "pinned_at": None, "pinned_until": None,
                "image_url": None, "slow_mode_seconds": 0, "draft": None,
                "draft_key": f"topic_{topic.id}", "draft_sequence": 0, "unpinned": None,
                "pinned": False, "current_post_number": 1,
                "highest_post_number": len(topic.posts), "deleted_by": None,
                "has_deleted": False,
                "actions_summary": [{"id": 4, "count": 0, "hidden": False, "can_act": True}],
                "chunk_size": POSTS_PER_CHUNK, "bookmarked": False, "bookmarks": [],
                "topic_timer": None, "message_bus_last_id": 0,
                "participant_count": len({p.user.id for p in topic.posts}),
                "show_read_indicator": False, "thumbnails": None,
                "slow_mode_enabled_until": None,
                "details": {
                    "can_edit": False, "notification_level": 1, "can_move_posts": False,
                    "can_delete": False, "can_remove_allowed_users": False,
                    "can_create_post": True, "can_reply_as_new_topic": True,
                    "can_convert_topic": False, "can_review_topic": False,
                    "can_close_topic": False, "can_archive_topic": False,
                    "can_split_merge_topic": False, "can_edit_staff_notes": False,
                    "can_toggle_topic_visibility": False, "can_pin_unpin_topic": False,
                    "can_moderate_category": False, "can_remove_self_id": 0,
                    "created_by": basic(topic.user), "last_poster": basic(last.user),
                },
            }

    def state_json(self) -> dict:
        with self.lock:
            return {
                "topics": [{
                    "id": t.id, "title": t.title, "slug": t.slug, "category_id": t.category_id,
                    "external_id": t.external_id,
                    "posts": [{"id": p.id, "post_number": p.post_number,
                               "username": p.user.username, "name": p.user.name,
                               "raw": p.raw, "reply_to_post_number": p.reply_to_post_number,
                               "created_at": p.created_at, "via": p.via}
                              for p in t.posts]}
                    for t in self.topics.values()],
                "violations": copy.deepcopy(self.violations),
                "webhooks": copy.deepcopy(self.webhooks),
                "requests": self.requests,
                "request_log": copy.deepcopy(self.request_log),
                "unimplemented": copy.deepcopy(self.unimplemented),
                "response_errors": copy.deepcopy(self.response_errors),
                "fail": dict(self.failure),
                "private_messages": copy.deepcopy(self.private_messages),
                "chats": copy.deepcopy(self.chats),
                "review": self.review_state(),
                "uploads": [{k: u[k] for k in ("id", "original_filename", "filesize",
                                               "short_url", "sha1", "content_type", "username")}
                            for u in self.uploads],
            }


# ---------------------------------------------------------------------------
# Webhooks
# ---------------------------------------------------------------------------

class WebhookDispatcher:
    """Delivers post_created webhooks from one background thread, like a
    Sidekiq queue: in order, retried with exponential backoff."""

    def __init__(self, forum: Forum, url: Optional[str], secret: str, instance: str,
                 retries: int, retry_delay: float, log: Callable[[str], None]):
        self.forum, self.url, self.secret, self.instance = forum, url, secret, instance
        self.retries, self.retry_delay, self.log = retries, retry_delay, log
        self._queue: list = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="webhooks", daemon=True)
        # another forum's headers for the same body (the generic mode)
        self.headers_hook: Optional[Callable[[bytes, dict], dict]] = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout=WEBHOOK_TIMEOUT + 1)

    def cancel_all(self) -> None:
        with self._cond:
            self._queue.clear()

    def submit(self, post: Post, request: Optional[dict] = None) -> None:
        """Queue the post_created event; the payload is built now, as
        Discourse serialises it when the job is enqueued.  In NodeBB mode
        the event is nodebb-plugin-webhooks' instead (nodebb_webhook()),
        with the headers of the request that made the post."""
        record = {"event": "post_created", "post_id": post.id, "topic_id": post.topic.id,
                  "event_id": None, "event_ids": [], "status": None, "attempts": 0,
                  "delivered": False, "done": False, "history": []}
        if self.forum.settings.forum_type == "nodebb" and self.url:
            payload, record["secrets"] = nodebb_webhook(self.forum, post, request or {})
            record["event"] = payload["hook"]
            body = dump_json(payload)
        else:
            body = dump_json({"post": self.forum.webhook_post_json(post)})
        self._enqueue(record, body)

    def submit_reviewable(self, reviewable: dict) -> None:
        """Queue reviewable_transitioned_to (event type reviewable):
        WebHook.enqueue_object_hooks(:reviewable, ...) sends
        {"reviewable": ReviewableSerializer} (config/initializers/
        012-web_hook_events.rb)."""
        body = dump_json({"reviewable": reviewable})
        record = {"event": "reviewable_transitioned_to", "event_type": "reviewable",
                  "post_id": None, "topic_id": reviewable.get("topic_id"),
                  "reviewable_id": reviewable["id"],
                  "event_id": None, "event_ids": [], "status": None, "attempts": 0,
                  "delivered": False, "done": False, "history": []}
        self._enqueue(record, body)

    def submit_nodebb_rejected(self, entry: dict) -> None:
        """NodeBB's action:post-queue:removeFromQueue {data: the queued
        post {id, uid, type, data}} (src/posts/queue.js), as
        nodebb-plugin-webhooks forwards every hook it is configured for."""
        with self.forum.lock:
            uid = int(entry["username"]) if entry["username"].isdigit() else 0
            data = {k: v for k, v in entry["data"].items() if k != "raw"}
            data.update(content=entry["data"].get("raw"), uid=uid, fromQueue=True)
            if "category" in data:
                data["cid"] = data.pop("category")
            if "topic_id" in data:
                data["tid"] = data.pop("topic_id")
        payload = {"hook": "action:post-queue:removeFromQueue",
                   "params": {"data": {"id": entry["id"], "uid": uid,
                                       "type": entry["type"], "data": data}}}
        record = {"event": payload["hook"], "post_id": None, "held_id": entry["id"],
                  "topic_id": data.get("tid"), "event_id": None, "event_ids": [],
                  "status": None, "attempts": 0, "delivered": False, "done": False,
                  "history": []}
        self._enqueue(record, dump_json(payload))

    def _enqueue(self, record: dict, body: bytes) -> None:
        with self.forum.lock:
            self.forum.webhooks.append(record)
        if not self.url:
            with self.forum.lock:
                record.update(done=True, error="no --webhook-url configured")
            return
        with self._cond:
            heapq.heappush(self._queue, (time.monotonic(), next(self._seq), record, body))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (
                        not self._queue or self._queue[0][0] > time.monotonic()):
                    timeout = self._queue[0][0] - time.monotonic() if self._queue else None
                    self._cond.wait(timeout)
                if self._stopping:
                    return
                _, _, record, body = heapq.heappop(self._queue)
            status, error = self._attempt(record, body)
            if 200 <= status < 300:
                continue
            with self.forum.lock:
                attempts = record["attempts"]
                # nodebb-plugin-webhooks only logs a failure, never retries
                if attempts > self.retries or record["event"].startswith("action:"):
                    record["done"] = True
                    continue
            delay = self.retry_delay * 2 ** (attempts - 1)
            with self._cond:
                heapq.heappush(self._queue, (time.monotonic() + delay, next(self._seq),
                                             record, body))

    def _attempt(self, record: dict, body: bytes) -> tuple[int, Optional[str]]:
        with self.forum.lock:
            event_id = next(self.forum.event_ids)
        target = urllib.parse.urlsplit(self.url)
        headers = {
            "Accept": "*/*",
            "Connection": "close",
            "Content-Length": str(len(body)),
            "Content-Type": "application/json",
            "Host": target.netloc,
            "User-Agent": "Discourse/3.4.0 (forumsim)",
            "X-Discourse-Instance": self.instance,
            "X-Discourse-Event-Id": str(event_id),
            "X-Discourse-Event-Type": record.get("event_type", "post"),
            "X-Discourse-Event": record["event"],
        }
        if self.secret:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Discourse-Event-Signature"] = f"sha256={digest}"
        if record["event"].startswith("action:"):
            headers = nodebb_webhook_headers(target.netloc, body, self.secret)
        if self.headers_hook:
            headers = self.headers_hook(body, headers)
        status, error = -1, None
        try:
            conn_class = (http.client.HTTPSConnection if target.scheme == "https"
                          else http.client.HTTPConnection)
            conn = conn_class(target.hostname, target.port, timeout=WEBHOOK_TIMEOUT)
            try:
                path = target.path or "/"
                conn.request("POST", path + ("?" + target.query if target.query else ""),
                             body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as e:
            error = f"{type(e).__name__}: {e}"
        with self.forum.lock:
            record["attempts"] += 1
            record["event_id"] = event_id
            record["event_ids"].append(event_id)
            record["status"] = status
            record["history"].append({"event_id": event_id, "status": status, "error": error})
            if 200 <= status < 300:
                record.update(delivered=True, done=True)
        self.log(f"webhook {record['event']} post={record['post_id']} event={event_id} "
                 f"-> {status}{' ' + error if error else ''}")
        return status, error


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

@dataclass
class Answer:
    status: int
    body: Any = None                      # dict -> JSON, bytes -> as is
    headers: dict = field(default_factory=dict)
    after: Optional[Callable[[], None]] = None   # runs once the answer is sent
    content_type: str = "application/json; charset=utf-8"
    # False: an answer the contract does not describe (a queued post)
    checked: bool = True


class BodyTooLarge(Exception):
    pass


TOPIC_SLUG_PATH = re.compile(r"^/t/[^/]+/(\d+)\.json$")


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, forum: Forum, contract: Contract, log_file=None):
        super().__init__((LISTEN_HOST, port), Handler)
        self.forum, self.contract = forum, contract
        self.port = self.server_address[1]
        self.base_url = f"http://{LISTEN_HOST}:{self.port}"
        self.dispatcher: Optional[WebhookDispatcher] = None
        self.nodebb: Optional["NodebbContract"] = None    # --forum-type nodebb
        self.generic: Optional[forumsim_generic.GenericEndpoint] = None  # generic
        self._log_file = log_file
        self._log_lock = threading.Lock()

    def log(self, message: str) -> None:
        line = f"{iso_now()} {message}\n"
        with self._log_lock:
            stream = self._log_file or sys.stderr
            stream.write(line)
            stream.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "forumsim"
    timeout = 120
    server: SimServer

    # -- plumbing ------------------------------------------------------------

    def log_request(self, code="-", size="-") -> None:   # we log ourselves
        pass

    def log_message(self, format, *args) -> None:
        self.server.log("%s %s" % (self.address_string(), format % args))

    def handle_expect_100(self) -> bool:
        length = self.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            self._too_large()
            return False
        return super().handle_expect_100()

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise BodyTooLarge()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise BodyTooLarge()
        return self.rfile.read(length) if length > 0 else b""

    def _too_large(self) -> None:
        self.close_connection = True
        self._send(Answer(413, {"errors": [f"request body larger than {MAX_BODY_BYTES} bytes"]}))

    def _send(self, answer: Answer) -> None:
        if isinstance(answer.body, (dict, list)):
            payload = dump_json(answer.body)
        else:
            payload = answer.body or b""
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, no-store")
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        self.server.log(f"{self.command} {self.path} {answer.status}")

    def _drop_connection(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.server.log(f"{self.command} {self.path} (connection dropped)")

    def _dispatch(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
        except BodyTooLarge:
            self._too_large()
            return
        except ValueError:
            self.close_connection = True
            self._send(Answer(400, {"errors": ["malformed Content-Length or chunked body"]}))
            return
        if url.path.startswith("/__sim/"):
            answer = self._control(url.path, body)
        elif self.server.nodebb is not None:
            answer = nodebb_api(self, url.path, body, urllib.parse.parse_qs(url.query))
            if answer is None:
                self._drop_connection()
                return
        elif self.server.generic is not None:
            answer = self.server.generic.api(self, url.path, body, Answer, Rejected)
            if answer is None:
                self._drop_connection()
                return
        else:
            answer = self._api(url.path, urllib.parse.parse_qs(url.query), body)
            if answer is None:
                self._drop_connection()
                return
        self._send(answer)
        if answer.after:
            answer.after()

    # -- the Discourse API ---------------------------------------------------

    def _api(self, path: str, query: dict, body: bytes) -> Optional[Answer]:
        forum, method = self.server.forum, self.command
        username = self.headers.get("Api-Username", "")
        with forum.lock:
            forum.requests += 1
        answer = self._api_answer(method, path, query, body, username)
        forum.note_request({"method": method, "path": path, "username": username,
                            "status": answer.status if answer else None})
        return answer

    def _api_answer(self, method: str, path: str, query: dict, body: bytes,
                    username: str, lost: bool = False) -> Optional[Answer]:
        forum, contract = self.server.forum, self.server.contract

        failure = None if lost else forum.take_failure()
        if failure:
            mode, retry_after = failure
            if mode == "down":
                return None
            if mode == "lost":
                # the request is carried out, only the answer is lost
                answer = self._api_answer(method, path, query, body, username, lost=True)
                if answer is not None and answer.after:
                    answer.after()
                return None
            if mode == "slow":
                # carried out at once (the webhook goes out), answered
                # retry_after seconds later: a forum under load
                answer = self._api_answer(method, path, query, body, username, lost=True)
                if answer is not None and answer.after:
                    answer.after()
                    answer.after = None
                time.sleep(retry_after)
                return answer
            if mode == "429":
                return Answer(429, rate_limit_body(retry_after),
                              {"Retry-After": str(retry_after)})
            if mode in NODEBB_DELAY_ERRORS:
                return delay_refusal("discourse", mode, retry_after)
            if mode == "422":
                return Answer(422, {"action": "create_post",
                                    "errors": ["Refused by the simulator (fail mode 422)"]})
            page = f"<html><body><h1>{mode} {http.HTTPStatus(int(mode)).phrase}</h1></body></html>"
            return Answer(int(mode), page.encode(), content_type="text/html")

        op, params = contract.match(method, path)
        alias = TOPIC_SLUG_PATH.match(path) if method == "GET" and op is None else None
        if alias:   # /t/{slug}/{id}.json: where Discourse's own redirects point
            op, params = contract.operation("GET", "/t/{id}.json"), {"id": alias.group(1)}
        if op is None:
            return self._violation(method, path, body,
                                   [f"{method} {path} is not an operation of the contract"])

        key = self.headers.get("Api-Key")
        if not key or not username:
            missing = [h for h, v in (("Api-Key", key), ("Api-Username", username)) if not v]
            forum.note_violation(method, path, [f"missing header(s): {', '.join(missing)}"], body)
            return Answer(403, INVALID_ACCESS)
        if not hmac.compare_digest(key.encode(), self.server.forum.settings.api_key.encode()):
            return Answer(403, INVALID_ACCESS)

        problems = contract.check_query(op, query)
        data, body_problems = contract.parse_body(op, self.headers.get("Content-Type", ""), body)
        problems += body_problems
        if problems:
            return self._violation(method, path, body, problems)

        handler = {
            ("POST", "/posts.json"): self._create_post,
            ("GET", "/posts.json"): self._latest_posts,
            ("GET", "/posts/{id}.json"): self._show_post,
            ("GET", "/t/{id}.json"): self._show_topic,
            ("GET", "/t/external_id/{external_id}.json"): self._topic_by_external_id,
            ("POST", "/uploads.json"): self._create_upload,
        }.get((op.method, op.template))
        if handler is None:
            with forum.lock:
                forum.unimplemented.append({"method": method, "path": path})
            return Answer(501, {"errors": [f"forumsim does not simulate {op.name}"]})
        try:
            answer = handler(username, params, query, data or {})
        except Rejected as e:
            return Answer(e.status, e.body, e.headers)
        if answer.status == 200 and isinstance(answer.body, dict) and answer.checked:
            self._check_response(op, path, answer.body)
        return answer

    def _violation(self, method: str, path: str, body: bytes, problems: list[str]) -> Answer:
        self.server.forum.note_violation(method, path, problems, body)
        self.server.log(f"contract violation: {method} {path}: {'; '.join(problems)}")
        return Answer(400, {"errors": problems})

    def _check_response(self, op: Operation, path: str, body: dict) -> None:
        validator = op.response_validator()
        if validator is None:
            return
        errors = [describe_error(e, "response") for e in validator.iter_errors(body)]
        if errors:
            forum = self.server.forum
            with forum.lock:
                forum.response_errors.append({"operation": op.name, "path": path,
                                              "errors": errors})
            self.server.log(f"BUG: answer to {op.name} breaks the contract: {errors}")

    def _deliver_later(self, post: Post, request: Optional[dict] = None) -> Callable[[], None]:
        dispatcher = self.server.dispatcher
        return (lambda: dispatcher.submit(post, request)) if dispatcher else (lambda: None)

    def _create_post(self, username: str, params: dict, query: dict, data: dict) -> Answer:
        if data.get("archetype") == "private_message" or data.get("target_recipients") \
                or data.get("target_usernames"):
            post = self.server.forum.create_private_message(username, data)
            # a private message fires no webhook of the bridged categories
            return Answer(200, self.server.forum.created_post_json(post, username))
        held = self._review_hold(username, data)
        if held is not None:
            return held
        post = self.server.forum.create_post(username, None, data, via="api")
        return Answer(200, self.server.forum.created_post_json(post, username),
                      after=self._deliver_later(post))

    def _review_hold(self, username: str, data: dict) -> Optional[Answer]:
        """A post the review settings queue: Discourse's enqueued answer
        (200; the contract describes only a created post)."""
        forum = self.server.forum
        if not forum.review_needed(username, data):
            return None
        return Answer(200, forum.review_answer(forum.review_hold(username, data)),
                      checked=False)

    def _create_upload(self, username: str, params: dict, query: dict, data: dict) -> Answer:
        """UploadsController#create with synchronous=true: the same bytes
        give the same upload (Discourse deduplicates by SHA1)."""
        forum = self.server.forum
        file = data.get("file")
        if not isinstance(file, FilePart) or data.get("upload_type") != "composer":
            raise Rejected(422, {"errors": ["forumsim takes composer uploads of one file"]})
        sha1 = hashlib.sha1(file.payload).hexdigest()
        with forum.lock:
            upload = next((u for u in forum.uploads if u["sha1"] == sha1), None)
            if upload is None:
                upload_id = len(forum.uploads) + 1
                extension = file.filename.rpartition(".")[2].lower() if "." in file.filename else ""
                base62 = int(sha1, 16)
                short = ""
                while base62:
                    base62, digit = divmod(base62, 62)
                    short += "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit]
                upload = {
                    "id": upload_id, "url": f"/uploads/default/original/1X/{sha1}"
                    + (f".{extension}" if extension else ""),
                    "original_filename": file.filename, "filesize": len(file.payload),
                    "width": 0, "height": 0, "thumbnail_width": 0, "thumbnail_height": 0,
                    "extension": extension,
                    "short_url": f"upload://{short}" + (f".{extension}" if extension else ""),
                    "short_path": f"/uploads/short-url/{short}"
                    + (f".{extension}" if extension else ""),
                    "retain_hours": None, "human_filesize": f"{len(file.payload)} Bytes",
                    "dominant_color": None, "thumbnail": None, "optimized_video": None,
                    "sha1": sha1, "content_type": file.content_type, "username": username,
                }
                forum.uploads.append(upload)
            answer = {k: v for k, v in upload.items()
                      if k not in ("sha1", "content_type", "username")}
        return Answer(200, answer)

    def _latest_posts(self, username: str, params: dict, query: dict, data: dict) -> Answer:
        before = None
        if "before" in query:
            before = Contract.coerce(query["before"][-1], {"type": "integer"})
        return Answer(200, self.server.forum.latest_posts_json(username, before))

    def _show_post(self, username: str, params: dict, query: dict, data: dict) -> Answer:
        forum = self.server.forum
        post = forum.posts.get(int(params["id"])) if params["id"].isdigit() else None
        if post is None:
            raise Rejected(404, NOT_FOUND)
        return Answer(200, forum.single_post_json(post, username))

    def _show_topic(self, username: str, params: dict, query: dict, data: dict) -> Answer:
        forum = self.server.forum
        topic = forum.topics.get(int(params["id"])) if params["id"].isdigit() else None
        if topic is None:
            raise Rejected(404, NOT_FOUND)
        return Answer(200, forum.topic_json(topic, username))

    def _topic_by_external_id(self, username: str, params: dict, query: dict,
                              data: dict) -> Answer:
        forum = self.server.forum
        wanted = params["external_id"].lower()
        with forum.lock:
            topic = next((t for t in forum.topics.values()
                          if (t.external_id or "").lower() == wanted), None)
        if topic is None:
            raise Rejected(404, NOT_FOUND)
        location = f"{self.server.base_url}/t/{topic.slug}/{topic.id}.json"
        page = f'<html><body>You are being <a href="{location}">redirected</a>.</body></html>'
        return Answer(301, page.encode(), {"Location": location}, content_type="text/html")

    # -- test control --------------------------------------------------------

    def _control(self, path: str, body: bytes) -> Answer:
        method = self.command
        routes = {
            ("GET", "/__sim/state"): self._sim_state,
            ("POST", "/__sim/reply"): self._sim_reply,
            ("POST", "/__sim/topic"): self._sim_topic,
            ("POST", "/__sim/fail"): self._sim_fail,
            ("POST", "/__sim/reset"): self._sim_reset,
            ("POST", "/__sim/purge"): self._sim_purge,
            ("POST", "/__sim/settings"): self._sim_settings,
            ("POST", "/__sim/review"): self._sim_review,
            ("POST", "/__sim/approve"): self._sim_approve,
            ("POST", "/__sim/reject"): self._sim_reject,
            ("POST", "/__sim/move"): self._sim_move,
            ("GET", "/__sim/generic"): self._sim_generic,
            ("POST", "/__sim/generic"): self._sim_generic,
            ("POST", "/__sim/nodebb-raw-fail"): self._sim_nodebb_raw_fail,
        }
        route = routes.get((method, path))
        if route is None:
            return Answer(404, {"errors": [f"no control endpoint {method} {path}"]})
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as e:
            return Answer(400, {"errors": [f"bad control request: {e}"]})
        try:
            return route(data)
        except Rejected as e:
            return Answer(e.status, e.body, e.headers)
        except (KeyError, TypeError, ValueError) as e:
            return Answer(400, {"errors": [f"bad control request: {e}"]})

    @staticmethod
    def _need(data: dict, name: str, kind: type) -> Any:
        value = data.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValueError(f"'{name}' must be {'an integer' if kind is int else 'a string'}")
        return value

    def _sim_state(self, data: dict) -> Answer:
        return Answer(200, self.server.forum.state_json())

    def _sim_post(self, data: dict, fields: dict) -> Answer:
        username = self._need(data, "username", str)
        name = data.get("name") if isinstance(data.get("name"), str) else None
        post = self.server.forum.create_post(username, name, fields, via="web")
        return Answer(200, self.server.forum.created_post_json(post, username),
                      after=self._deliver_later(post))

    def _sim_reply(self, data: dict) -> Answer:
        fields = {"topic_id": self._need(data, "topic_id", int),
                  "raw": self._need(data, "raw", str)}
        if data.get("reply_to_post_number") is not None:
            fields["reply_to_post_number"] = self._need(data, "reply_to_post_number", int)
        if self.server.nodebb is not None:
            return self._sim_nodebb_reply(data, fields)
        return self._sim_post(data, fields)

    def _sim_nodebb_reply(self, data: dict, fields: dict) -> Answer:
        """A NodeBB user answers a post: the reply links to it by pid
        (toPid), named here by "to_pid" or by its number now."""
        forum = self.server.forum
        to_pid = self._need(data, "to_pid", int) if data.get("to_pid") is not None else None
        with forum.lock:
            topic = forum.topics.get(fields["topic_id"])
            number = fields.get("reply_to_post_number")
            if to_pid is None and topic is not None and number is not None:
                to_pid = next((p.id for p in topic.posts if p.post_number == number), None)
            if to_pid is not None:
                parent = forum.posts.get(to_pid)
                if parent is None or parent.topic is not topic:
                    raise Rejected(400, nodebb_envelope(400, message="Invalid post id"))
                fields["reply_to_post_number"] = parent.post_number
        answer = self._sim_post(data, fields)
        forum.posts[answer.body["id"]].to_pid = to_pid
        return answer

    def _sim_purge(self, data: dict) -> Answer:
        if self.server.nodebb is None:
            raise ValueError("only NodeBB renumbers posts on a purge")
        error = nodebb_purge(self.server.forum, self._need(data, "pid", int))
        if error:
            return Answer(400, nodebb_envelope(400, message=error))
        return Answer(200, {"ok": True})

    def _sim_topic(self, data: dict) -> Answer:
        fields = {"title": self._need(data, "title", str), "raw": self._need(data, "raw", str)}
        if data.get("category") is not None:
            fields["category"] = self._need(data, "category", int)
        return self._sim_post(data, fields)

    def _sim_fail(self, data: dict) -> Answer:
        mode = str(data.get("mode", "none"))
        modes = ("422", "429", "502", "503", "down", "lost", "slow", "none") + \
            tuple(NODEBB_DELAY_ERRORS)
        if mode not in modes:
            raise ValueError("'mode' must be one of " + ", ".join(modes))
        count, retry_after = data.get("count", 1), data.get("retry_after", 1)
        if not isinstance(count, int) or count < 0 or not isinstance(retry_after, int) \
                or retry_after < 0:
            raise ValueError("'count' and 'retry_after' must be non-negative integers")
        return Answer(200, {"ok": True, "fail": self.server.forum.set_failure(
            mode, count, retry_after)})

    def _sim_settings(self, data: dict) -> Answer:
        """An administrator's change: a new API key (the old one revoked),
        other length limits."""
        return Answer(200, {"ok": True, "settings": self.server.forum.change_settings(data)})
    def _sim_review(self, data: dict) -> Answer:
        users, categories = data.get("users", []), data.get("categories", [])
        if not isinstance(users, list) or not isinstance(categories, list) \
                or not all(isinstance(c, int) for c in categories):
            raise ValueError("'users' must be a list of names, 'categories' of ids")
        return Answer(200, {"ok": True, "review": self.server.forum.review_set(users, categories)})

    def _sim_approve(self, data: dict) -> Answer:
        post = self.server.forum.review_approve(str(data["id"]))
        return Answer(200, self.server.forum.created_post_json(post, post.user.username),
                      after=self._deliver_later(post))

    def _sim_reject(self, data: dict) -> Answer:
        forum = self.server.forum
        entry = forum.review_reject(str(data["id"]))
        dispatcher = self.server.dispatcher
        after = None
        if dispatcher and forum.settings.forum_type != "nodebb":
            reviewable = forum.reviewable_json(entry, REVIEWABLE_REJECTED)
            after = lambda: dispatcher.submit_reviewable(reviewable)
        elif dispatcher and dispatcher.url:
            after = lambda: dispatcher.submit_nodebb_rejected(entry)
        return Answer(200, {"ok": True, "rejected": entry["id"]}, after=after)

    def _sim_move(self, data: dict) -> Answer:
        topic = self.server.forum.move_topic(self._need(data, "topic_id", int),
                                             self._need(data, "category", int))
        return Answer(200, {"ok": True, "topic_id": topic.id, "category_id": topic.category_id})

    def _sim_generic(self, data: dict) -> Answer:
        """The generic endpoint's keys and requests (its mode only); a
        POST with "secret" changes the secret it checks signatures with."""
        if self.server.generic is None:
            return Answer(404, {"errors": ["not in --forum-type generic"]})
        if "secret" in data:
            self.server.generic.set_secret(self._need(data, "secret", str))
        return Answer(200, self.server.generic.state_json())
    def _sim_nodebb_raw_fail(self, data: dict) -> Answer:
        count = data.get("count", 1)
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise ValueError("'count' must be a non-negative integer")
        with self.server.forum.lock:
            self.server.forum.nodebb_raw_fail = count
        return Answer(200, {"ok": True, "count": count})

    def _sim_reset(self, data: dict) -> Answer:
        if self.server.dispatcher:
            self.server.dispatcher.cancel_all()
        self.server.forum.reset()
        return Answer(200, {"ok": True})


# ---------------------------------------------------------------------------
# Start-up
# ---------------------------------------------------------------------------

def parse_listen(text: str) -> int:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"'{text}' is not HOST:PORT")
    if host != LISTEN_HOST:
        raise argparse.ArgumentTypeError(
            f"refusing to listen on '{host}': only {LISTEN_HOST} is allowed")
    return int(port)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Discourse forum simulator for the forumgate integration tests.")
    p.add_argument("--listen", type=parse_listen, metavar="127.0.0.1:PORT",
                   help="address to listen on (port 0: pick a free port)")
    p.add_argument("--api-key", help="the API key clients must send as Api-Key")
    p.add_argument("--webhook-url", help="where post_created webhooks are POSTed")
    p.add_argument("--webhook-secret", default="",
                   help="secret for X-Discourse-Event-Signature (none: header omitted)")
    p.add_argument("--contract", type=Path, default=DEFAULT_CONTRACT,
                   help="Discourse OpenAPI document (default: %(default)s)")
    p.add_argument("--min-title-length", type=int, default=15)
    p.add_argument("--min-post-length", type=int, default=20)
    p.add_argument("--min-first-post-length", type=int, default=20)
    p.add_argument("--max-post-length", type=int, default=32000)
    p.add_argument("--max-title-length", type=int, default=MAX_TITLE_LENGTH)
    p.add_argument("--unique-posts-mins", type=float, default=5,
                   help="window for 'Body is too similar...' (0 disables)")
    p.add_argument("--allow-duplicate-titles", action="store_true",
                   help="accept a title already used by another topic")
    p.add_argument("--no-title-prettify", dest="title_prettify", action="store_false",
                   help="store titles as sent (Discourse's title_prettify off)")
    p.add_argument("--staff", action="append", default=[], metavar="USERNAME",
                   help="treat USERNAME as an admin (the 'system' user always is)")
    p.add_argument("--post-interval", type=float, default=0,
                   help="seconds a non-staff user must wait between replies (429); 0: off")
    p.add_argument("--topic-interval", type=float, default=0,
                   help="seconds a non-staff user must wait between topics (429); 0: off")
    p.add_argument("--webhook-retries", type=int, default=3,
                   help="retries after a failed webhook delivery")
    p.add_argument("--webhook-retry-delay", type=float, default=0.5,
                   help="delay before the first retry, doubled each time (seconds)")
    p.add_argument("--forum-type", choices=("discourse", "nodebb", "generic"),
                   default="discourse",
                   help="which forum's API to serve (default: %(default)s)")
    p.add_argument("--nodebb-webhooks", action="store_true",
                   help="NodeBB mode: send nodebb-plugin-webhooks events (action:topic.post, "
                        "action:topic.reply) to --webhook-url")
    p.add_argument("--nodebb-contract", type=Path, default=DEFAULT_NODEBB_CONTRACT,
                   help="NodeBB Write API document (default: %(default)s)")
    p.add_argument("--generic-user", default="system",
                   help="generic mode: who posts a request without an author "
                   "(forum_api_username); the signing secret is --api-key")
    p.add_argument("--log", type=Path, help="request log file (default: stderr)")
    p.add_argument("--self-test", action="store_true", help="test the simulator and exit")
    return p


def settings_from(args: argparse.Namespace) -> Settings:
    return Settings(
        api_key=args.api_key, min_title_length=args.min_title_length,
        min_post_length=args.min_post_length, max_post_length=args.max_post_length,
        min_first_post_length=args.min_first_post_length,
        max_title_length=args.max_title_length,
        unique_posts_mins=args.unique_posts_mins,
        allow_duplicate_titles=args.allow_duplicate_titles,
        title_prettify=args.title_prettify,
        staff=frozenset({"system"} | {s.lower() for s in args.staff}),
        post_interval=args.post_interval, topic_interval=args.topic_interval)


def start_simulator(args: argparse.Namespace, log_file=None) -> SimServer:
    """Load the contract, bind, and start the webhook thread (not serving yet)."""
    contract = Contract(args.contract)
    settings = settings_from(args)
    if getattr(args, "forum_type", "discourse") == "nodebb":
        # NodeBB's defaults: its own limits, no "too similar" check
        settings.forum_type = "nodebb"
        settings.min_title_length = NODEBB_MIN_TITLE_LENGTH
        settings.min_post_length = settings.min_first_post_length = NODEBB_MIN_POST_LENGTH
        settings.max_post_length = NODEBB_MAX_POST_LENGTH
        settings.unique_posts_mins = 0
        settings.allow_duplicate_titles = True
        settings.title_prettify = False
    if getattr(args, "forum_type", "discourse") == "generic":
        generic_settings(settings)
    forum = Forum(settings)
    server = SimServer(args.listen, forum, contract, log_file)
    if getattr(args, "forum_type", "discourse") == "nodebb":
        server.nodebb = NodebbContract(args.nodebb_contract)
        if not getattr(args, "nodebb_webhooks", False):
            args.webhook_url = None  # the Discourse webhook does not apply
    server.dispatcher = WebhookDispatcher(
        forum, args.webhook_url, args.webhook_secret, server.base_url,
        args.webhook_retries, args.webhook_retry_delay, server.log)
    if getattr(args, "forum_type", "discourse") == "generic":
        generic_start(server, args)
    server.dispatcher.start()
    return server


def generic_settings(settings: Settings) -> None:
    """The generic mode's forum: the endpoint posts what it is sent, so no
    "too similar" check, duplicate titles allowed, titles as sent."""
    settings.forum_type = "generic"
    settings.unique_posts_mins = 0
    settings.allow_duplicate_titles = True
    settings.title_prettify = False


def generic_start(server: SimServer, args: argparse.Namespace) -> None:
    """The endpoint (signed with --api-key) and the generic webhook's headers."""
    server.generic = forumsim_generic.GenericEndpoint(args.api_key or "", args.generic_user)
    server.dispatcher.headers_hook = forumsim_generic.webhook_headers(args.webhook_secret)


def main(argv: Optional[list[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.self_test:
        return SelfTest(args.contract).run()
    if args.listen is None or not args.api_key:
        parser.error("--listen and --api-key are required")
    if not args.contract.is_file():
        parser.error(f"contract not found: {args.contract}")
    log_file = open(args.log, "a", encoding="utf-8") if args.log else None
    try:
        server = start_simulator(args, log_file)
    except OSError as e:
        print(f"forumsim: cannot listen on {LISTEN_HOST}:{args.listen}: {e}", file=sys.stderr)
        return 1

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.log(f"forumsim started on {server.base_url} (contract {args.contract}, "
               f"webhooks to {args.webhook_url or 'nowhere'})")
    print(f"forumsim listening on {LISTEN_HOST}:{server.port}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.dispatcher.stop()
        server.server_close()
        server.log("forumsim stopped")
        if log_file:
            log_file.close()
    return 0


# ---------------------------------------------------------------------------
# Self-test
# ---------------------------------------------------------------------------

class WebhookReceiver(ThreadingHTTPServer):
    """A tiny webhook endpoint that records what it receives and answers
    with the statuses queued in ``answers`` (200 once they run out)."""

    daemon_threads = True

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []
        self.answers: list[int] = []
        self.lock = threading.Lock()
        receiver = self

        class Hook(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append((dict(self.headers.items()), body))
                    status = receiver.answers.pop(0) if receiver.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__((LISTEN_HOST, 0), Hook)


class SelfTest:
    API_KEY = "selftest-key"
    SECRET = "selftest-secret \u00e9"
    USER = "forumgate"

    def __init__(self, contract: Path):
        self.contract_path = contract
        self.passed = self.failed = 0

    def check(self, name: str, ok: bool, detail: Any = "") -> bool:
        if ok:
            self.passed += 1
            print(f"ok   {name}")
        else:
            self.failed += 1
            print(f"FAIL {name}: {detail}")
        return ok

    # -- helpers -------------------------------------------------------------

    def request(self, method: str, path: str, body: Any = None, *, auth: bool = True,
                headers: Optional[dict] = None, form: bool = False):
        hdrs = {}
        if auth:
            hdrs.update({"Api-Key": self.API_KEY, "Api-Username": self.USER})
        data = None
        if isinstance(body, bytes):
            data = body
        elif body is not None:
            if form:
                data = urllib.parse.urlencode(body).encode()
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                data = dump_json(body)
                hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        self.conn.request(method, path, body=data, headers=hdrs)
        response = self.conn.getresponse()
        raw = response.read()
        try:
            is_json = "json" in (response.getheader("Content-Type") or "")
            parsed = json.loads(raw) if raw and is_json else raw
        except ValueError:
            parsed = raw
        return response.status, response, parsed

    def state(self) -> dict:
        return self.request("GET", "/__sim/state", auth=False)[2]

    def validates(self, method: str, template: str, body: Any) -> list[str]:
        validator = self.contract.operation(method, template).response_validator()
        return [describe_error(e, "response") for e in validator.iter_errors(body)]

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 3.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.02)
        return predicate()

    def post_webhooks(self, post_id: int) -> list[tuple[dict, bytes]]:
        with self.receiver.lock:
            return [(h, b) for h, b in self.receiver.received
                    if json.loads(b).get("post", {}).get("id") == post_id]

    # -- the run -------------------------------------------------------------

    def test_generic(self) -> None:
        receiver = WebhookReceiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        try:
            forumsim_generic.GenericSelfTest(self.check, _generic_self_test_start, receiver,
                                             str(self.contract_path)).run()
        finally:
            receiver.shutdown()
            receiver.server_close()

    def run(self) -> int:
        started = time.monotonic()
        if not self.contract_path.is_file():
            print(f"contract not found: {self.contract_path}")
            print("0 passed, 1 failed")
            return 1
        self.test_process()
        self.receiver = WebhookReceiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        args = build_parser().parse_args([
            "--listen", f"{LISTEN_HOST}:0", "--api-key", self.API_KEY,
            "--webhook-url", f"http://{LISTEN_HOST}:{self.receiver.server_address[1]}/hook",
            "--webhook-secret", self.SECRET, "--contract", str(self.contract_path),
            "--webhook-retry-delay", "0.05"])
        self.server = start_simulator(args, log_file=open(os.devnull, "w"))
        self.contract = self.server.contract
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        self.conn = http.client.HTTPConnection(LISTEN_HOST, self.server.port, timeout=5)
        try:
            self.test_posting()
            self.test_reading()
            self.test_uploads()
            self.test_refusals()
            self.test_contract_violations()
            self.test_failures()
            self.test_webhooks()
            self.test_review_and_move()
            self.test_reset()
            NodebbSelfTest(self).run()
            NodebbWebhookSelfTest(self).run()
            self.test_generic()
            NodebbSelfTest(self).webhooks()
        except Exception as e:   # a crash is a failure, not a traceback
            self.check("self-test ran to the end", False, f"{type(e).__name__}: {e}")
        finally:
            self.server.shutdown()
            self.server.dispatcher.stop()
            self.server.server_close()
            self.receiver.shutdown()
        self.check("self-test finished within 10 s", time.monotonic() - started < 10,
                   f"{time.monotonic() - started:.1f} s")
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed else 0

    def test_process(self) -> None:
        """The real command line: readiness line, refusing other hosts, SIGTERM."""
        cmd = [sys.executable, str(SCRIPT), "--api-key", "k", "--contract", str(self.contract_path)]
        bad = subprocess.run(cmd + ["--listen", "0.0.0.0:0"], capture_output=True, text=True,
                             timeout=10)
        self.check("refuses to listen on 0.0.0.0", bad.returncode != 0
                   and "only 127.0.0.1" in bad.stderr, bad.stderr)
        proc = subprocess.Popen(cmd + ["--listen", f"{LISTEN_HOST}:0"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 5)
            line = proc.stdout.readline() if ready else ""
            m = re.fullmatch(r"forumsim listening on 127\.0\.0\.1:(\d+)\n", line)
            if self.check("prints the readiness line", bool(m) and int(m.group(1)) > 0, repr(line)):
                conn = http.client.HTTPConnection(LISTEN_HOST, int(m.group(1)), timeout=5)
                conn.request("GET", "/__sim/state")
                self.check("answers on the printed port", conn.getresponse().status == 200)
                conn.close()
            proc.send_signal(signal.SIGTERM)
            self.check("exits cleanly on SIGTERM", proc.wait(timeout=5) == 0, proc.returncode)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def test_posting(self) -> None:
        status, _, topic = self.request("POST", "/posts.json", {
            "title": "hello from the mailing list.", "raw": "First message, long enough to post.",
            "category": 5})
        self.check("create topic: 200", status == 200, topic)
        self.check("create topic: answer matches the contract", status == 200
                   and not self.validates("POST", "/posts.json", topic), topic)
        self.check("create topic: first post, ids from 10 / 100", status == 200
                   and topic["post_number"] == 1 and topic["topic_id"] >= 10
                   and topic["id"] >= 100 and topic["yours"] is True
                   and topic["username"] == self.USER, topic)
        self.check("create topic: ISO time with ms and Z",
                   bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",
                                     str(topic.get("created_at")))), topic.get("created_at"))
        self.check("create topic: cooked is escaped <p>", topic.get("cooked")
                   == "<p>First message, long enough to post.</p>", topic.get("cooked"))
        self.topic_id, self.first_post_id = topic["topic_id"], topic["id"]
        st = self.state()
        self.check("create topic: title prettified, category kept",
                   st["topics"][0]["title"] == "Hello from the mailing list"
                   and st["topics"][0]["category_id"] == 5, st["topics"])

        status, _, reply = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "A reply <b>with</b> \"markup\" & more."})
        self.check("reply: 200, post 2, no reply_to", status == 200
                   and reply["post_number"] == 2 and reply["reply_to_post_number"] is None, reply)
        self.check("reply: cooked escapes HTML", reply.get("cooked") ==
                   "<p>A reply &lt;b&gt;with&lt;/b&gt; &quot;markup&quot; &amp; more.</p>",
                   reply.get("cooked"))

        status, _, reply = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "Replying to the first post directly.",
            "reply_to_post_number": 1})
        self.check("reply_to_post_number: 200, post 3", status == 200
                   and reply["post_number"] == 3 and reply["reply_to_post_number"] == 1, reply)
        self.check("reply_to_post_number: answer matches the contract (+ erratum)",
                   status == 200 and not self.validates("POST", "/posts.json", reply))

        status, _, reply = self.request("POST", "/posts.json", {
            "topic_id": str(self.topic_id), "raw": "A form-encoded reply, Gr\u00fc\u00dfe \u2713"},
            form=True)
        self.check("form-encoded reply: 200", status == 200 and reply["post_number"] == 4
                   and reply["raw"] == "A form-encoded reply, Gr\u00fc\u00dfe \u2713", reply)

    def test_reading(self) -> None:
        status, _, topic = self.request("GET", f"/t/{self.topic_id}.json")
        self.check("GET /t/{id}.json: 200 with 4 posts", status == 200
                   and len(topic["post_stream"]["posts"]) == 4, topic)
        self.check("GET /t/{id}.json: matches the contract",
                   status == 200 and not self.validates("GET", "/t/{id}.json", topic),
                   self.validates("GET", "/t/{id}.json", topic) if status == 200 else status)
        status, _, post = self.request("GET", f"/posts/{self.first_post_id}.json")
        self.check("GET /posts/{id}.json: raw, matches the contract", status == 200
                   and post["raw"].startswith("First message")
                   and not self.validates("GET", "/posts/{id}.json", post), post)
        status, _, latest = self.request("GET", "/posts.json?before=1000")
        self.check("GET /posts.json: newest first, matches the contract", status == 200
                   and [p["post_number"] for p in latest["latest_posts"]] == [4, 3, 2, 1]
                   and not self.validates("GET", "/posts.json", latest), latest)
        status, _, body = self.request("GET", "/t/99999.json")
        self.check("unknown topic: 404 not_found", status == 404 and body == NOT_FOUND, body)

        status, _, topic = self.request("POST", "/posts.json", {
            "title": "Thread with an external id", "raw": "Body of the thread with an id.",
            "external_id": "msg-1234_abc"})
        status, response, _ = self.request("GET", "/t/external_id/msg-1234_abc.json")
        location = response.getheader("Location") or ""
        self.check("external_id: 301 to /t/{slug}/{id}.json", status == 301 and location.endswith(
            f"/t/thread-with-an-external-id/{topic['topic_id']}.json"), (status, location))
        status, _, body = self.request("GET", urllib.parse.urlsplit(location).path)
        self.check("external_id: redirect target is served", status == 200
                   and body["id"] == topic["topic_id"], status)

    def test_uploads(self) -> None:
        boundary = "fgsimboundary"

        def multipart(fields: list) -> bytes:
            out = b""
            for name, value in fields:
                out += f"--{boundary}\r\n".encode()
                if isinstance(value, tuple):
                    filename, ctype, payload = value
                    out += (f'Content-Disposition: form-data; name="{name}"; '
                            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
                            ).encode() + payload + b"\r\n"
                else:
                    out += (f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
                            f'{value}\r\n').encode()
            return out + f"--{boundary}--\r\n".encode()

        ctype = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        body = multipart([("upload_type", "composer"), ("synchronous", "true"),
                          ("file", ("log.png", "image/png", b"\x89PNG\r\n\x00data"))])
        status, _, upload = self.request("POST", "/uploads.json", body, headers=ctype)
        self.check("POST /uploads.json: 200, matches the contract", status == 200
                   and upload["original_filename"] == "log.png" and upload["filesize"] == 11
                   and upload["short_url"].startswith("upload://")
                   and not self.validates("POST", "/uploads.json", upload), upload)
        status, _, again = self.request("POST", "/uploads.json", body, headers=ctype)
        self.check("same bytes again: the same upload", status == 200
                   and again["id"] == upload["id"], again)
        before = len(self.state()["violations"])
        bad = multipart([("upload_type", "composer"), ("tags", "x"),
                         ("file", ("a.txt", "text/plain", b"hello"))])
        status, _, _ = self.request("POST", "/uploads.json", bad, headers=ctype)
        self.check("upload with an unknown field: violation", status == 400
                   and len(self.state()["violations"]) == before + 1, status)
        self.check("state lists uploads", [u["original_filename"]
                                           for u in self.state()["uploads"]] == ["log.png"])

    def test_refusals(self) -> None:
        reply = {"topic_id": self.topic_id, "raw": "Anything long enough to be posted."}
        status, _, body = self.request("POST", "/posts.json", reply,
                                       headers={"Api-Key": "wrong"})
        self.check("bad key: 403 invalid_access", status == 403 and body == INVALID_ACCESS, body)
        before = len(self.state()["violations"])
        status, _, body = self.request("POST", "/posts.json", reply, auth=False)
        self.check("missing key: 403 + violation", status == 403 and body == INVALID_ACCESS
                   and len(self.state()["violations"]) == before + 1, body)

        status, _, body = self.request("POST", "/posts.json", {
            "title": "Too short", "raw": "A body that is long enough."})
        self.check("short title: 422", status == 422 and body == {
            "action": "create_post",
            "errors": ["Title is too short (minimum is 15 characters)"]}, body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "too short"})
        self.check("short body: 422", status == 422 and body == {
            "action": "create_post",
            "errors": ["Body is too short (minimum is 20 characters)"]}, body)
        status, _, body = self.request("POST", "/posts.json", {
            "title": "A title far too long " + "x" * 250, "raw": "A body that is long enough."})
        self.check("long title: 422", status == 422 and body == {
            "action": "create_post",
            "errors": ["Title is too long (maximum is 255 characters)"]}, body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "\u00e9" * 32001})
        self.check("long body: 422, counted in characters", status == 422 and body == {
            "action": "create_post",
            "errors": ["Body is limited to 32000 characters; you entered 32001."]}, body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "\u00e9" * 32000})
        self.check("body at the limit: 200", status == 200, body)
        status, _, body = self.request("POST", "/posts.json", {
            "title": "HELLO FROM THE MAILING LIST.", "raw": "Another body long enough."})
        self.check("duplicate title: 422", status == 422
                   and body["errors"] == ["Title has already been used"], body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "A reply <b>with</b> \"markup\" & more.  \n"})
        self.check("same raw again: 422 too similar", status == 422 and body["errors"] == [
            "Body is too similar to what you recently posted"], body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "Replying to a post that is not there.",
            "reply_to_post_number": 42})
        self.check("unknown reply_to_post_number: 422", status == 422, body)
        status, _, body = self.request("POST", "/posts.json", {
            "topic_id": 99999, "raw": "Reply into a topic that does not exist."})
        self.check("unknown topic_id: 404", status == 404 and body == NOT_FOUND, body)

    def test_contract_violations(self) -> None:
        cases = [
            ("unknown property 'tags'", "POST", "/posts.json",
             {"title": "A topic with some tags", "raw": "Body long enough for a topic.",
              "tags": ["x"]}, "tags"),
            ("topic_id as a string", "POST", "/posts.json",
             {"topic_id": str(self.topic_id), "raw": "Body long enough for a reply."},
             "topic_id"),
            ("missing raw", "POST", "/posts.json", {"topic_id": self.topic_id}, "raw"),
            ("path not in the contract", "POST", "/t/1/reply.json", {"raw": "x"},
             "not an operation"),
            ("wrong method", "PATCH", "/posts.json", {"raw": "x"}, "not an operation"),
        ]
        for name, method, path, body, needle in cases:
            before = len(self.state()["violations"])
            status, _, answer = self.request(method, path, body)
            violations = self.state()["violations"]
            self.check(f"violation ({name}): 400 + recorded", status == 400
                       and len(violations) == before + 1
                       and needle in " ".join(violations[-1]["errors"])
                       and answer == {"errors": violations[-1]["errors"]}, (status, answer))
        before = len(self.state()["violations"])
        status, _, answer = self.request("POST", "/posts.json", b"{not json",
                                         headers={"Content-Type": "application/json"})
        self.check("violation (invalid JSON): 400 + recorded", status == 400
                   and len(self.state()["violations"]) == before + 1, answer)
        raw_contract = json.loads(self.contract_path.read_text(encoding="utf-8"))
        schema = raw_contract["paths"]["/posts.json"]["post"]["responses"]["200"]
        schema = schema["content"]["application/json"]["schema"]
        strict = schema["properties"]["reply_to_post_number"]["type"]
        print(f"note: the contract types reply_to_post_number as {strict}; Discourse sends an "
              f"integer, accepted through the documented erratum "
              f"({self.contract.errata_count} schema places)")

    def test_failures(self) -> None:
        self.request("POST", "/__sim/fail", {"mode": "429", "count": 2, "retry_after": 3},
                     auth=False)
        for i in (1, 2):
            status, response, body = self.request("GET", f"/t/{self.topic_id}.json")
            self.check(f"429 #{i}: Retry-After and rate_limit body", status == 429
                       and response.getheader("Retry-After") == "3"
                       and body == rate_limit_body(3), (status, body))
        status, _, _ = self.request("GET", f"/t/{self.topic_id}.json")
        self.check("after the 429s: 200 again", status == 200, status)
        # Discourse answers its new-user limits with its rate limiter's 429
        self.request("POST", "/__sim/fail", {"mode": "newbie-delay", "retry_after": 7},
                     auth=False)
        status, response, body = self.request("GET", f"/t/{self.topic_id}.json")
        self.check("newbie-delay mode on Discourse: 429 rate_limit", status == 429
                   and response.getheader("Retry-After") == "7"
                   and body == rate_limit_body(7), (status, body))
        status, _, body = self.request("POST", "/__sim/settings", {"api_key": ""}, auth=False)
        self.check("settings: an empty api_key is refused", status == 400, body)

        self.request("POST", "/__sim/fail", {"mode": "503", "count": 1}, auth=False)
        status, _, _ = self.request("GET", f"/t/{self.topic_id}.json")
        self.check("503 mode", status == 503, status)
        self.request("POST", "/__sim/fail", {"mode": "down", "count": 1}, auth=False)
        try:
            self.request("GET", f"/t/{self.topic_id}.json")
            dropped = False
        except (http.client.HTTPException, OSError):
            dropped = True
        self.conn.close()
        self.check("down mode: connection closed without an answer", dropped)
        status, _, _ = self.request("GET", f"/t/{self.topic_id}.json")
        self.check("after down: 200 on a new connection", status == 200, status)

        status, response, body = self.send_raw(
            b"POST /posts.json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 20000000\r\n\r\n")
        self.check("body over 10 MB: 413", status == 413, (status, body))

    def send_raw(self, request: bytes) -> tuple[int, str, bytes]:
        with socket.create_connection((LISTEN_HOST, self.server.port), timeout=5) as s:
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        return status, head.decode("latin-1"), rest

    def test_webhooks(self) -> None:
        status, _, post = self.request("POST", "/__sim/reply", {
            "topic_id": self.topic_id,
            "raw": "A forum user answers from the web UI \u2014 \u00e9\u00e8.",
            "username": "alice", "name": "Alice Example"}, auth=False)
        self.check("/__sim/reply: 200 post as alice", status == 200
                   and post["username"] == "alice" and post["name"] == "Alice Example", post)
        hooks = self.wait_for(lambda: self.post_webhooks(post["id"]))
        if not self.check("/__sim/reply: webhook arrives", bool(hooks)):
            return
        headers, body = hooks[0]
        expected = "sha256=" + hmac.new(self.SECRET.encode(), body, hashlib.sha256).hexdigest()
        self.check("webhook: valid signature", headers.get("X-Discourse-Event-Signature")
                   == expected, headers)
        self.check("webhook: Discourse headers", headers.get("X-Discourse-Event") == "post_created"
                   and headers.get("X-Discourse-Event-Type") == "post"
                   and headers.get("X-Discourse-Instance") == self.server.base_url
                   and headers.get("X-Discourse-Event-Id", "").isdigit()
                   and headers.get("Content-Type") == "application/json", headers)
        payload = json.loads(body)["post"]
        self.check("webhook: post payload", set(payload) == set(WEBHOOK_POST_FIELDS)
                   and payload["username"] == "alice" and payload["topic_id"] == self.topic_id
                   and payload["raw"].endswith("\u00e9\u00e8.")
                   and payload["topic_title"] == "Hello from the mailing list", payload)
        api_hooks = self.post_webhooks(self.first_post_id)
        self.check("webhook: API-created posts fire it too", len(api_hooks) == 1)
        ids = [int(h.get("X-Discourse-Event-Id")) for h, _ in self.receiver.received]
        self.check("webhook: event ids increase", ids == sorted(ids) and len(set(ids)) == len(ids),
                   ids)

        self.wait_for(lambda: all(w["done"] for w in self.state()["webhooks"]))
        with self.receiver.lock:
            self.receiver.answers = [500, 503]
        status, _, topic = self.request("POST", "/__sim/topic", {
            "title": "A topic started on the forum", "raw": "Started by a forum user, not mail.",
            "username": "bob", "name": "Bob"}, auth=False)
        record = self.wait_for(lambda: next(
            (w for w in self.state()["webhooks"] if w["post_id"] == topic["id"] and w["done"]),
            None))
        self.check("webhook retry: delivered on the 3rd attempt with new event ids",
                   record is not None and record["delivered"] and record["attempts"] == 3
                   and [h["status"] for h in record["history"]] == [500, 503, 200]
                   and len(set(record["event_ids"])) == 3, record)
        st = self.state()
        self.check("state: webhooks recorded with status", all(
            w["status"] == 200 and w["delivered"] for w in st["webhooks"]), st["webhooks"])
        self.check("every 200 answer matched the contract", st["response_errors"] == [],
                   st["response_errors"])
        self.check("state: requests counted", st["requests"] > 10 and st["request_log"],
                   st["requests"])

    def test_review_and_move(self) -> None:
        """Review queue: enqueued answer, approval fires post_created,
        rejection drops it; a moved topic's webhooks carry the new category."""
        self.request("POST", "/__sim/review", {"users": [self.USER]}, auth=False)
        status, _, held = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "A reply that waits for a moderator."})
        pending = held.get("pending_post", {}) if isinstance(held, dict) else {}
        self.check("review: 200 enqueued with the pending post's id", status == 200
                   and held.get("action") == "enqueued" and isinstance(pending.get("id"), int)
                   and pending.get("raw") == "A reply that waits for a moderator.", held)
        status, _, other = self.request("POST", "/posts.json", {
            "topic_id": self.topic_id, "raw": "A second reply that a moderator rejects."})
        self.request("POST", "/__sim/review", {}, auth=False)
        queue = self.state()["review"]["queue"]
        self.check("review: nothing created, both queued", len(queue) == 2
                   and not any("waits for a moderator" in p["raw"] for t in self.state()["topics"]
                               for p in t["posts"]), queue)
        status, _, post = self.request("POST", "/__sim/approve", {"id": pending.get("id")},
                                       auth=False)
        hooks = self.wait_for(lambda: self.post_webhooks(post.get("id")))
        self.check("review: approval creates the post and fires post_created", status == 200
                   and post.get("username") == self.USER and bool(hooks), post)
        status, _, _ = self.request("POST", "/__sim/reject",
                                    {"id": other["pending_post"]["id"]}, auth=False)
        rejected = self.wait_for(lambda: [
            json.loads(b)["reviewable"] for h, b in list(self.receiver.received)
            if h.get("X-Discourse-Event") == "reviewable_transitioned_to"])
        self.check("review: rejection fires reviewable_transitioned_to", bool(rejected)
                   and rejected[0]["id"] == other["pending_post"]["id"]
                   and rejected[0]["type"] == "ReviewableQueuedPost"
                   and rejected[0]["status"] == 2, rejected)
        st = self.state()["review"]
        self.check("review: rejection drops it", status == 200 and st["queue"] == []
                   and [d["outcome"] for d in st["done"]] == ["approved", "rejected"], st)
        status, _, _ = self.request("POST", "/__sim/move",
                                    {"topic_id": self.topic_id, "category": 77}, auth=False)
        status2, _, reply = self.request("POST", "/__sim/reply", {
            "topic_id": self.topic_id, "raw": "A reply after the topic was moved.",
            "username": "carol"}, auth=False)
        hooks = self.wait_for(lambda: self.post_webhooks(reply.get("id")))
        self.check("move: later webhooks carry the new category", status == 200 and hooks
                   and json.loads(hooks[0][1])["post"]["category_id"] == 77, hooks)

    def test_reset(self) -> None:
        status, _, _ = self.request("POST", "/__sim/reset", auth=False)
        st = self.state()
        self.check("reset clears everything", status == 200 and st["topics"] == []
                   and st["violations"] == [] and st["webhooks"] == [] and st["requests"] == 0, st)
        status, _, post = self.request("POST", "/posts.json", {
            "title": "hello from the mailing list", "raw": "First message, long enough to post."})
        self.check("reset: ids start again, old titles free", status == 200
                   and post["topic_id"] == FIRST_TOPIC_ID and post["id"] == FIRST_POST_ID, post)


# ---------------------------------------------------------------------------
# NodeBB (--forum-type nodebb): the Write API v3 calls the bridge makes
# ---------------------------------------------------------------------------

NODEBB_STATUS_CODES = {200: "ok", 400: "bad-request", 401: "not-authorised", 403: "forbidden",
                       404: "not-found", 429: "too-many-requests",
                       500: "internal-server-error", 501: "not-implemented"}


def nodebb_envelope(status: int, response: Any = None, message: Optional[str] = None) -> dict:
    """NodeBB's helpers.formatApiResponse: {status: {code, message}, response}."""
    code = NODEBB_STATUS_CODES.get(status, "error")
    return {"status": {"code": code, "message": message or ("OK" if status == 200 else code)},
            "response": response if response is not None else {}}


class NodebbContract:
    """The NodeBB Write API document (YAML, one file per path, relative
    $refs across files), with every $ref resolved, indexed like Contract."""

    METHODS = Contract.METHODS

    def __init__(self, directory: Path):
        import yaml   # Debian: python3-yaml; only needed for NodeBB mode
        self._yaml = yaml
        self.directory = directory
        self._files: dict[Path, Any] = {}
        root = self._load(directory / "write.yaml")
        self.operations: list[Operation] = []
        for template, item in root.get("paths", {}).items():
            item = self._resolve(item, directory / "write.yaml")
            full = "/api/v3" + template.rstrip("/")
            pattern = "".join(
                "(?P<%s>[^/]+)" % part[1:-1] if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]+\})", full))
            for method, spec in item.items():
                if method in self.METHODS:
                    self.operations.append(Operation(method.upper(), full, spec,
                                                     re.compile("^" + pattern + "/?$"), {}))
        self.operations.sort(key=lambda op: op.template.count("{"))

    def _load(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self._files:
            with open(path, encoding="utf-8") as f:
                self._files[path] = self._yaml.safe_load(f)
        return self._files[path]

    def _resolve(self, node: Any, base: Path, depth: int = 0) -> Any:
        if depth > 60:
            raise ValueError("$ref nesting too deep")
        if isinstance(node, list):
            return [self._resolve(item, base, depth) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str):
            file_part, _, pointer = ref.partition("#")
            target_file = (base.parent / file_part).resolve() if file_part else base
            target: Any = self._load(target_file)
            for part in [p for p in pointer.split("/") if p]:
                target = target[part]
            merged = self._resolve(target, target_file, depth + 1)
            if isinstance(merged, dict):
                merged = dict(merged)
                merged.update({k: self._resolve(v, base, depth)
                               for k, v in node.items() if k != "$ref"})
            return merged
        return {k: self._resolve(v, base, depth) for k, v in node.items()}

    def match(self, method: str, path: str) -> tuple[Optional[Operation], dict]:
        for op in self.operations:
            if op.method == method:
                m = op.regex.match(path)
                if m:
                    return op, {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    @staticmethod
    def nullable(node: Any) -> Any:
        """OpenAPI 3.0's "nullable: true" as JSON Schema: null is allowed."""
        if isinstance(node, list):
            return [NodebbContract.nullable(item) for item in node]
        if not isinstance(node, dict):
            return node
        out = {k: NodebbContract.nullable(v) for k, v in node.items()}
        if out.get("nullable") is True and isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        return out

    @staticmethod
    def validator(schema: Any):
        # OpenAPI 3.0 schemas: JSON Schema draft 4 plus "nullable"
        if schema is None:
            return None
        return jsonschema.Draft4Validator(NodebbContract.nullable(schema))

    def request_errors(self, op: Operation, data: Any) -> list[str]:
        schema = op.request_schema()
        if schema is None:
            return []
        return [describe_error(e, "request body") for e in sorted(
            self.validator(schema).iter_errors(data), key=lambda e: list(map(str, e.path)))]

    def response_errors(self, op: Operation, body: Any) -> list[str]:
        content = op.spec.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is None:
            return []
        return [describe_error(e, "response") for e in self.validator(schema).iter_errors(body)]


def nodebb_user(forum: Forum, uid: int) -> User:
    """NodeBB users are known by uid; the simulator names user N "N"."""
    return forum.user(str(uid))


def nodebb_post_json(post: Post, to_pid: Optional[int]) -> dict:
    user = post.user
    stamp = int(parse_time(post.created_at).timestamp() * 1000)
    return {"pid": post.id, "tid": post.topic.id, "toPid": to_pid, "content": post.raw,
            "uid": int(user.username), "timestamp": stamp, "timestampISO": post.created_at,
            "deleted": False, "upvotes": 0, "downvotes": 0, "votes": 0,
            "index": post.post_number - 1,
            "user": {"uid": int(user.username), "username": user.username,
                     "displayname": user.name, "userslug": user.username.lower(),
                     "picture": None, "status": "online", "icon:text": user.username[:1].upper(),
                     "icon:bgColor": "#f44336"},
            "isMainPost": post.post_number == 1, "replies": 0}


def nodebb_topic_json(topic: Topic) -> dict:
    first = topic.posts[0]
    stamp = int(parse_time(topic.created_at).timestamp() * 1000)
    return {"tid": topic.id, "uid": int(topic.user.username), "cid": topic.category_id,
            "title": topic.title, "slug": f"{topic.id}/{topic.slug}", "mainPid": first.id,
            "postcount": len(topic.posts), "viewcount": 0, "postercount": 1, "scheduled": 0,
            "deleted": 0, "locked": 0, "pinned": 0, "timestamp": stamp,
            "timestampISO": topic.created_at, "lastposttime": stamp,
            "lastposttimeISO": topic.created_at, "titleRaw": topic.title,
            "mainPost": nodebb_post_json(first, None)}


# nodebb-plugin-markdown renders each paragraph as <p dir="auto">; nodebb-
# plugin-emoji (lib/parse.ts buildEmoji) turns :name: into a multi-line
# <img> with the character as alt.  A few emoji of its android pack:
NODEBB_EMOJI = {"grinning": ("1f600", "\U0001F600"), "smile": ("1f604", "\U0001F604"),
                "+1": ("1f44d", "\U0001F44D"), "heart": ("2764", "\u2764\ufe0f")}


def nodebb_render(raw: str) -> str:
    """The post's content as NodeBB's parse hooks render it (simplified:
    paragraphs, line breaks, **strong**, *em*, emoji)."""
    def emoji(m: re.Match) -> str:
        code = NODEBB_EMOJI.get(m.group(1).lower())
        if code is None:
            return m.group(0)
        return (f'<img\n      src="/assets/plugins/nodebb-plugin-emoji/emoji/android/'
                f'{code[0]}.png?v=forumsim"\n      class="not-responsive emoji emoji-android '
                f'emoji--{m.group(1).lower()}"\n      style="height: 23px; width: auto; '
                f'vertical-align: middle;"\n      title="{m.group(0)}"\n      '
                f'alt="{code[1]}"\n    />')
    out = []
    for para in (p for p in re.split(r"\n\s*\n", raw.strip()) if p.strip()):
        text = html.escape(para.strip(), quote=False)
        text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
        text = re.sub(r"\*(.+?)\*", r"<em>\1</em>", text)
        text = text.replace("\n", "<br />\n")
        # the emoji plugin parses after the Markdown plugin
        text = re.sub(r":([a-z0-9_+\-]+):", emoji, text)
        out.append('<p dir="auto">' + text + "</p>\n")
    return "".join(out)


def nodebb_req_object(uid: int, request: dict, body: dict) -> dict:
    """src/api/helpers.js buildReqObject(): a summary of the request that
    made the post, its headers (authorization, cookie) and session
    included."""
    headers = dict(request.get("headers") or {})
    return {"uid": uid, "params": {}, "method": request.get("method", "POST"),
            "body": body, "session": {"csrf-secret": headers.get("x-csrf-token", "")},
            "ip": "127.0.0.1", "host": headers.get("host", ""), "protocol": "http",
            "secure": False, "url": headers.get("referer", ""), "path": "",
            "baseUrl": "/api/v3", "originalUrl": request.get("path", ""), "headers": headers}


def nodebb_webhook(forum: Forum, post: Post, request: dict) -> tuple[dict, list]:
    """What nodebb-plugin-webhooks 2.0.3 POSTs for a new post (NodeBB
    4.11.2 src/topics/create.js fires action:topic.post {topic, post,
    data} or action:topic.reply {post, data}; src/plugins/hooks.js adds
    caller {uid, req} from the request's async context; the plugin's
    cleanPayload() cleans only params.req and params.socket).  post.content
    is the rendered HTML; data.content the submitted Markdown.  A post made
    in the "web UI" carries a browser session cookie.  Returns the payload
    and the secrets it carries."""
    with forum.lock:
        uid = int(post.user.username) if post.user.username.isdigit() else post.user.id
        request = dict(request)
        if not request.get("headers"):
            request["headers"] = {
                "host": "forum.test", "user-agent": "Mozilla/5.0 (forumsim)",
                "cookie": "express.sid=s%3A" + os.urandom(12).hex(),
                "x-csrf-token": os.urandom(8).hex()}
        secrets = [v for k, v in request["headers"].items()
                   if k in ("authorization", "cookie", "x-csrf-token")]
        to_pid = post.to_pid
        if to_pid is None and post.reply_to_post_number:
            to_pid = post.topic.posts[post.reply_to_post_number - 1].id
        summary = nodebb_post_json(post, to_pid)
        topic = {k: v for k, v in nodebb_topic_json(post.topic).items() if k != "mainPost"}
        summary.update(content=nodebb_render(post.raw), topic=dict(topic),
                       category={"cid": post.topic.category_id, "name": "Category",
                                 "slug": f"{post.topic.category_id}/category"})
        data = {"tid": post.topic.id, "content": post.raw, "uid": uid,
                "timestamp": summary["timestamp"], "fromQueue": False, "ip": "127.0.0.1"}
        if to_pid is not None:
            data["toPid"] = to_pid
        data["req"] = nodebb_req_object(uid, request, dict(data))
        params: dict = {"post": summary, "data": data,
                        "caller": {"uid": uid, "req": nodebb_req_object(uid, request, {})}}
        if post.post_number == 1:
            params = {"topic": dict(topic, mainPost=summary), **params}
            return {"hook": "action:topic.post", "params": params}, secrets
        return {"hook": "action:topic.reply", "params": params}, secrets


def nodebb_webhook_headers(host: str, body: bytes, secret: str) -> dict:
    """The plugin's axios request: JSON, and x-webhook-signature sha1=HEX
    (HMAC-SHA1 of the body) when a secret is set."""
    headers = {"Accept": "application/json, text/plain, */*",
               "Content-Type": "application/json", "User-Agent": "axios/1.7.9",
               "Content-Length": str(len(body)), "Host": host, "Connection": "close"}
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
        headers["x-webhook-signature"] = f"sha1={digest}"
    return headers


def nodebb_raw(forum: Forum, pid: str) -> Answer:
    """GET /api/v3/posts/{pid}/raw (src/api/posts.js getRaw): the stored
    Markdown as {content}; 404 [[error:no-post]] for a post that does not
    exist or the caller may not read (/__sim/nodebb-raw-fail plays that)."""
    with forum.lock:
        post = forum.posts.get(int(pid)) if pid.isdigit() else None
        failing = forum.nodebb_raw_fail > 0
        if failing:
            forum.nodebb_raw_fail -= 1
    if post is None or failing:
        return Answer(404, nodebb_envelope(404, message="Post does not exist"))
    return Answer(200, nodebb_envelope(200, {"content": post.raw}))


def nodebb_purge(forum: Forum, pid: int) -> Optional[str]:
    """A moderator purges a reply (NodeBB src/posts/delete.js: the pid
    leaves tid:TID:posts and the topic's postcount drops), so every later
    post's index, and post number, is one lower. None, or NodeBB's
    error: the main post cannot be purged alone (error.json
    cant-purge-main-post)."""
    with forum.lock:
        post = forum.posts.get(pid)
        if post is None:
            return "Invalid post id"
        topic = post.topic
        if topic.posts[0] is post:
            return "You can't purge the main post, please delete the topic instead"
        topic.posts.remove(post)
        del forum.posts[pid]
        for number, later in enumerate(topic.posts, start=1):
            later.post_number = number
        return None


def nodebb_api(handler: "Handler", path: str, body: bytes,
               query: Optional[dict] = None) -> Optional[Answer]:
    """One Write API request: auth (Bearer master token + _uid), contract
    check of path, method and body, then the operation."""
    server, forum, method = handler.server, handler.server.forum, handler.command
    contract = server.nodebb
    with forum.lock:
        forum.requests += 1
    answer = _nodebb_answer(handler, contract, forum, method, path, body, query=query or {})
    forum.note_request({"method": method, "path": path,
                        "username": handler.headers.get("Authorization", "")[:6],
                        "status": answer.status if answer else None})
    return answer


def _nodebb_answer(handler, contract, forum, method, path, body, lost=False, query=None):
    failure = None if lost else forum.take_failure()
    if failure:
        mode, retry_after = failure
        if mode == "down":
            return None
        if mode == "lost":
            _nodebb_answer(handler, contract, forum, method, path, body, lost=True,
                           query=query)
            return None
        if mode == "slow":
            answer = _nodebb_answer(handler, contract, forum, method, path, body, lost=True,
                                    query=query)
            time.sleep(retry_after)
            return answer
        if mode == "429":
            return Answer(429, nodebb_envelope(429, message="You are making too many requests"),
                          {"Retry-After": str(retry_after)})
        if mode in NODEBB_DELAY_ERRORS:
            return delay_refusal("nodebb", mode, retry_after)
        if mode == "422":
            return Answer(400, nodebb_envelope(400, message="Refused by the simulator (fail mode 422)"))
        page = f"<html><body><h1>{mode} {http.HTTPStatus(int(mode)).phrase}</h1></body></html>"
        return Answer(int(mode), page.encode(), content_type="text/html")

    op, params = contract.match(method, path)
    if op is None:
        return _nodebb_violation(handler, method, path, body,
                                 [f"{method} {path} is not an operation of the NodeBB contract"])
    auth = handler.headers.get("Authorization", "")
    token = auth[7:] if auth.startswith("Bearer ") else ""
    if not token or not hmac.compare_digest(token.encode(), forum.settings.api_key.encode()):
        return nodebb_guest_refusal((op.method, op.template))
    data: Any = {}
    if body.strip():
        if handler.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return _nodebb_violation(handler, method, path, body, ["Content-Type is not application/json"])
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return _nodebb_violation(handler, method, path, body, [f"body is not valid JSON: {e}"])
    elif op.body_required():
        return _nodebb_violation(handler, method, path, body, ["a request body is required"])
    if not isinstance(data, dict):
        return _nodebb_violation(handler, method, path, body, ["body must be a JSON object"])
    problems = contract.request_errors(op, data)
    if problems:
        return _nodebb_violation(handler, method, path, body, problems)
    uid = data.get("_uid")
    if uid is None and (query or {}).get("_uid"):
        # NodeBB takes a master token's _uid from the query as well
        text = query["_uid"][-1]
        uid = int(text) if text.isdigit() else None
    if not isinstance(uid, int) or isinstance(uid, bool) or uid <= 0:
        return Answer(400, nodebb_envelope(
            400, message="A master token was received without a corresponding `_uid` "
                         "in the request body"))

    route = (op.method, op.template)
    created = None
    try:
        if route == ("POST", "/api/v3/topics"):
            fields = {"title": data.get("title"), "raw": data.get("content"),
                      "category": int(data["cid"])}
            if forum.review_needed(str(uid), fields):
                return _nodebb_queued(forum, str(uid), fields)
            post = created = forum.create_post(str(uid), None, fields, via="api")
            response = nodebb_topic_json(post.topic)
        elif route == ("POST", "/api/v3/topics/{tid}"):
            tid = int(params["tid"]) if params["tid"].isdigit() else -1
            fields = {"topic_id": tid, "raw": data.get("content")}
            to_pid = data.get("toPid")
            if to_pid is not None:
                parent = forum.posts.get(int(to_pid))
                if parent is None or parent.topic.id != tid:
                    return Answer(400, nodebb_envelope(400, message="Invalid post id"))
                fields["reply_to_post_number"] = parent.post_number
            if forum.review_needed(str(uid), fields):
                return _nodebb_queued(forum, str(uid), fields)
            post = created = forum.create_post(str(uid), None, fields, via="api")
            post.to_pid = int(to_pid) if to_pid is not None else None
            response = nodebb_post_json(post, post.to_pid)
        elif route == ("GET", "/api/v3/posts/{pid}/raw"):
            return nodebb_raw(forum, params["pid"])
        elif route == ("GET", "/api/v3/posts/{pid}"):
            post = forum.posts.get(int(params["pid"])) if params["pid"].isdigit() else None
            if post is None:
                return Answer(404, nodebb_envelope(404, message="Post does not exist"))
            # the post's own fields, as stored: deleted is 0 or 1 here
            response = dict(nodebb_post_json(post, None), deleted=0)
        elif route == ("POST", "/api/v3/chats"):
            response = forum.nodebb_chat_room(uid, data.get("uids"))
            if isinstance(response, str):
                return Answer(400, nodebb_envelope(400, message=response))
        elif route == ("POST", "/api/v3/chats/{roomId}"):
            room = int(params["roomId"]) if params["roomId"].isdigit() else -1
            response = forum.nodebb_chat_message(uid, room, data.get("message"))
            if isinstance(response, str):
                return Answer(400, nodebb_envelope(400, message=response))
        elif route == ("GET", "/api/v3/topics/{tid}"):
            topic = forum.topics.get(int(params["tid"])) if params["tid"].isdigit() else None
            if topic is None:
                return Answer(404, nodebb_envelope(404, message="Topic does not exist"))
            response = {k: v for k, v in nodebb_topic_json(topic).items() if k != "mainPost"}
        else:
            with forum.lock:
                forum.unimplemented.append({"method": method, "path": path})
            return Answer(501, nodebb_envelope(501, message=f"forumsim does not simulate {op.name}"))
    except Rejected as e:
        if e.status == 404:
            return Answer(404, nodebb_envelope(404, message="Topic does not exist"))
        text = "; ".join(e.body.get("errors", [])) if isinstance(e.body, dict) else str(e.body)
        return Answer(400 if e.status == 422 else e.status, nodebb_envelope(
            400 if e.status == 422 else e.status, message=text), e.headers)
    answer = nodebb_envelope(200, response)
    errors = contract.response_errors(op, answer)
    if errors:
        with forum.lock:
            forum.response_errors.append({"operation": op.name, "path": path, "errors": errors})
    if created is None:
        return Answer(200, answer)
    # NodeBB fires the post's hooks for API posts too (the bridge's own
    # come back), with this request in params.data.req and params.caller
    request = {"method": method, "path": path,
               "headers": {k.lower(): v for k, v in handler.headers.items()}}
    return Answer(200, answer, after=handler._deliver_later(created, request))


def _nodebb_queued(forum, username, fields):
    """NodeBB's answer for a post put into the post queue: 200, the
    envelope around Posts.addToQueue()'s result (not in the contract)."""
    entry = forum.review_hold(username, fields)
    return Answer(200, nodebb_envelope(200, forum.review_answer(entry)), checked=False)


def _nodebb_violation(handler, method, path, body, problems):
    handler.server.forum.note_violation(method, path, problems, body)
    handler.server.log(f"contract violation: {method} {path}: {'; '.join(problems)}")
    return Answer(400, nodebb_envelope(400, message="; ".join(problems)))


def _generic_self_test_start(argv: list[str]) -> SimServer:
    """A serving simulator for forumsim_generic.GenericSelfTest."""
    server = start_simulator(build_parser().parse_args(argv), log_file=open(os.devnull, "w"))
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    return server


class NodebbSelfTest:
    """The NodeBB mode, checked by the same SelfTest counters."""

    TOKEN = "nodebb-master-token"

    def __init__(self, outer: "SelfTest"):
        self.outer = outer
        self.check = outer.check

    def request(self, method, path, body=None, token=True, raw=None):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {self.TOKEN}"
        data = raw if raw is not None else (dump_json(body) if body is not None else None)
        self.conn.request(method, path, body=data, headers=headers)
        response = self.conn.getresponse()
        text = response.read()
        try:
            return response.status, response, json.loads(text)
        except ValueError:
            return response.status, response, text

    def refusals(self, server, tid: int) -> None:
        """NodeBB's posting delays are 400s with the seconds in the words;
        a revoked token makes a guest (403); a raised minimumPostLength."""
        server.forum.set_failure("newbie-delay", 1, 120)
        status, response, body = self.request("POST", f"/api/v3/topics/{tid}", {
            "content": "A newbie's quick reply.", "_uid": 2})
        self.check("nodebb: newbie-delay mode is NodeBB's 400", status == 400
                   and response.getheader("Retry-After") is None
                   and body == {"status": {"code": "bad-request", "message":
                                           "As a new user, you can only post once every "
                                           "120 second(s) until you have earned 3 reputation"
                                           " - please wait before posting again"},
                                "response": {}}, body)
        server.forum.set_failure("already-posting", 1, 0)
        status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
            "content": "Twice at once.", "_uid": 2})
        self.check("nodebb: already-posting mode", status == 400
                   and body["status"]["message"] == "You are already posting", body)
        old_key = server.forum.settings.api_key
        server.forum.change_settings({"api_key": "rotated-" + old_key})
        try:
            status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "With the revoked token.", "_uid": 2})
            self.check("nodebb: a revoked token is a guest's 403", status == 403
                       and body["status"]["code"] == "forbidden", body)
        finally:
            server.forum.change_settings({"api_key": old_key})
        server.forum.change_settings({"min_post_length": 30})
        try:
            status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "Thanks!", "_uid": 2})
            self.check("nodebb: a raised minimumPostLength refuses a short post",
                       status == 400 and body["status"]["message"] ==
                       "Please enter a longer post. Posts should contain at least "
                       "30 character(s).", body)
        finally:
            server.forum.change_settings({"min_post_length": NODEBB_MIN_POST_LENGTH})

    def run(self) -> None:
        args = build_parser().parse_args([
            "--listen", f"{LISTEN_HOST}:0", "--api-key", self.TOKEN, "--forum-type", "nodebb",
            "--contract", str(self.outer.contract_path)])
        if not args.nodebb_contract.is_dir():
            self.check("NodeBB contract present", False, str(args.nodebb_contract))
            return
        server = start_simulator(args, log_file=open(os.devnull, "w"))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        self.conn = http.client.HTTPConnection(LISTEN_HOST, server.port, timeout=5)
        contract = server.nodebb
        try:
            status, _, topic = self.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "NodeBB topic", "content": "First post body.", "_uid": 2})
            op, _ = contract.match("POST", "/api/v3/topics")
            self.check("nodebb: create topic 200 in the envelope", status == 200
                       and topic["status"] == {"code": "ok", "message": "OK"}
                       and topic["response"]["mainPid"] > 0, topic)
            self.check("nodebb: topic answer matches the contract",
                       not contract.response_errors(op, topic), contract.response_errors(op, topic))
            tid, main = topic["response"]["tid"], topic["response"]["mainPid"]
            status, _, reply = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "A reply to the first post.", "toPid": main, "_uid": 5})
            op, _ = contract.match("POST", f"/api/v3/topics/{tid}")
            self.check("nodebb: reply with toPid, index 1", status == 200
                       and reply["response"]["index"] == 1 and reply["response"]["toPid"] == main
                       and reply["response"]["uid"] == 5, reply)
            self.check("nodebb: reply answer matches the contract",
                       not contract.response_errors(op, reply), contract.response_errors(op, reply))
            st = server.forum.state_json()
            self.check("nodebb: state has the thread", st["topics"][0]["category_id"] == 3
                       and [p["username"] for p in st["topics"][0]["posts"]] == ["2", "5"]
                       and st["topics"][0]["posts"][1]["reply_to_post_number"] == 1, st["topics"])
            status, _, body = self.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "No token", "content": "Body of the post.", "_uid": 2},
                token=False)
            self.check("nodebb: no token, a guest: 403 no-privileges", status == 403
                       and body["status"] == {"code": "forbidden",
                                              "message": NODEBB_NO_PRIVILEGES}, body)
            status, _, body = self.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "No uid here", "content": "Body of the post."})
            self.check("nodebb: master token without _uid 400", status == 400
                       and "_uid" in body["status"]["message"], body)
            before = len(server.forum.violations)
            status, _, body = self.request("POST", "/api/v3/topics", {
                "title": "Missing cid", "content": "Body of the post.", "_uid": 2})
            self.check("nodebb: missing cid is a contract violation", status == 400
                       and len(server.forum.violations) == before + 1
                       and "cid" in body["status"]["message"], body)
            status, _, body = self.request("POST", "/api/v3/topics/99999", {
                "content": "Reply into nothing.", "_uid": 2})
            self.check("nodebb: unknown topic 404", status == 404
                       and body["status"]["code"] == "not-found", body)
            status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "short", "_uid": 2})
            self.check("nodebb: short post 400 with NodeBB's envelope", status == 400
                       and body["status"] == {
                           "code": "bad-request",
                           "message": "Please enter a longer post. Posts should contain "
                                      "at least 8 character(s)."}, body)
            status, _, body = self.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "t" * 256, "content": "A body long enough.", "_uid": 2})
            self.check("nodebb: long title 400", status == 400
                       and body["status"]["message"] == "Please enter a shorter title. "
                       "Titles can't be longer than 255 character(s).", body)
            # 16,384 characters outside the BMP: 32,768 UTF-16 units
            status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "\U0001F600" * 16384, "_uid": 2})
            self.check("nodebb: long post 400, counted in UTF-16 units", status == 400
                       and body["status"]["message"] == "Please enter a shorter post. "
                       "Posts can't be longer than 32767 character(s).", body)
            status, _, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "x" * 32767, "_uid": 2})
            self.check("nodebb: post at the limit 200", status == 200, body)
            status, _, body = self.request("PUT", "/api/v3/nonsense", {"_uid": 2})
            self.check("nodebb: unknown path is a violation", status == 400, body)
            server.forum.set_failure("429", 1, 4)
            status, response, body = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "Rate limited reply.", "_uid": 2})
            self.check("nodebb: 429 mode with Retry-After", status == 429
                       and response.getheader("Retry-After") == "4"
                       and body["status"]["code"] == "too-many-requests", body)
            server.forum.set_failure("503", 1, 1)
            status, _, _ = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "Unavailable reply.", "_uid": 2})
            self.check("nodebb: 503 mode", status == 503, status)
            self.refusals(server, tid)
            self.check("nodebb: every 200 answer matched the contract",
                       server.forum.response_errors == [], server.forum.response_errors)
        finally:
            server.shutdown()
            server.dispatcher.stop()
            server.server_close()

    def webhooks(self) -> None:
        """--nodebb-webhooks: nodebb-plugin-webhooks' requests, HTML
        content and the echoed secrets; the raw endpoint."""
        receiver = WebhookReceiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        args = build_parser().parse_args([
            "--listen", f"{LISTEN_HOST}:0", "--api-key", self.TOKEN, "--forum-type", "nodebb",
            "--contract", str(self.outer.contract_path), "--nodebb-webhooks",
            "--webhook-url", f"http://{LISTEN_HOST}:{receiver.server_address[1]}/webhooks/nodebb",
            "--webhook-secret", "nb-secret"])
        server = start_simulator(args, log_file=open(os.devnull, "w"))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        self.conn = http.client.HTTPConnection(LISTEN_HOST, server.port, timeout=5)
        try:
            status, _, topic = self.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "Hooked topic", "content": "Hello **all** :grinning:",
                "_uid": 2})
            tid, main = topic["response"]["tid"], topic["response"]["mainPid"]
            status, _, reply = self.request("POST", f"/api/v3/topics/{tid}", {
                "content": "A reply, first line\nsecond line.\n\nAnd R&D.", "toPid": main,
                "_uid": 5})
            got = self.outer.wait_for(lambda: len(receiver.received) >= 2 and receiver.received)
            self.check("nodebb webhooks: one request per post", len(got) == 2, len(got))
            (h1, b1), (h2, b2) = got[:2]
            e1, e2 = json.loads(b1), json.loads(b2)
            sig = "sha1=" + hmac.new(b"nb-secret", b2, hashlib.sha1).hexdigest()
            self.check("nodebb webhooks: x-webhook-signature sha1 of the body",
                       h2.get("x-webhook-signature") == sig, h2)
            self.check("nodebb webhooks: hooks topic.post then topic.reply",
                       e1["hook"] == "action:topic.post" and e2["hook"] == "action:topic.reply"
                       and e1["params"]["topic"]["tid"] == tid, [e1["hook"], e2["hook"]])
            post = e2["params"]["post"]
            self.check("nodebb webhooks: content is rendered HTML",
                       post["content"].startswith('<p dir="auto">A reply, first line<br />')
                       and "R&amp;D" in post["content"]
                       and 'alt="\U0001F600"' in e1["params"]["post"]["content"]
                       and post["toPid"] == main and post["index"] == 1, post["content"])
            self.check("nodebb webhooks: the master token echoed as the plugin does",
                       e2["params"]["data"]["req"]["headers"].get("authorization")
                       == f"Bearer {self.TOKEN}"
                       and e2["params"]["caller"]["req"]["headers"].get("authorization")
                       == f"Bearer {self.TOKEN}"
                       and e2["params"]["data"]["content"].startswith("A reply"),
                       e2["params"]["data"])
            status, _, web = self.request("POST", "/__sim/reply", {
                "topic_id": tid, "raw": "From the browser.", "username": "7"}, token=False)
            got = self.outer.wait_for(lambda: len(receiver.received) >= 3 and receiver.received)
            e3 = json.loads(got[2][1]) if len(got) >= 3 else {}
            cookie = e3.get("params", {}).get("caller", {}).get("req", {}).get(
                "headers", {}).get("cookie", "")
            hooks = server.forum.state_json()["webhooks"]
            self.check("nodebb webhooks: a web post echoes the session cookie",
                       status == 200 and cookie.startswith("express.sid=")
                       and e3["params"]["data"]["req"]["headers"]["cookie"] == cookie
                       and cookie in hooks[2]["secrets"]
                       and f"Bearer {self.TOKEN}" in hooks[1]["secrets"], hooks)
            status, _, raw = self.request("GET", f"/api/v3/posts/{reply['response']['pid']}"
                                          "/raw?_uid=1")
            op, _ = server.nodebb.match("GET", f"/api/v3/posts/{main}/raw")
            self.check("nodebb: raw endpoint answers the Markdown", status == 200
                       and raw["response"] == {"content": "A reply, first line\nsecond line."
                                               "\n\nAnd R&D."}
                       and not server.nodebb.response_errors(op, raw), raw)
            server.forum.nodebb_raw_fail = 1
            status, _, raw = self.request("GET", f"/api/v3/posts/{main}/raw?_uid=1")
            self.check("nodebb: raw endpoint failing 404 no-post", status == 404
                       and raw["status"]["code"] == "not-found", raw)
            status, _, raw = self.request("GET", f"/api/v3/posts/{main}/raw?_uid=1")
            self.check("nodebb: raw endpoint back after the failure", status == 200, raw)
        finally:
            server.shutdown()
            server.dispatcher.stop()
            server.server_close()
            receiver.shutdown()



class NodebbWebhookSelfTest:
    """NodeBB mode with --nodebb-webhooks: nodebb-plugin-webhooks' events
    (signed, with toPid and index) and a purge that renumbers."""

    SECRET = "nodebb-hook-secret"

    def __init__(self, outer: "SelfTest"):
        self.outer, self.check = outer, outer.check

    def hooks(self, pid: int) -> list:
        with self.receiver.lock:
            return [(h, b) for h, b in self.receiver.received
                    if json.loads(b)["params"]["post"]["pid"] == pid]

    def event(self, pid: int) -> dict:
        got = self.outer.wait_for(lambda: self.hooks(pid))
        if not got:
            return {}
        headers, body = got[0]
        digest = hmac.new(self.SECRET.encode(), body, hashlib.sha1).hexdigest()
        self.check(f"nodebb webhook of {pid}: sha1 signature",
                   headers.get("x-webhook-signature") == f"sha1={digest}", headers)
        return json.loads(body)

    def run(self) -> None:
        self.receiver = WebhookReceiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        args = build_parser().parse_args([
            "--listen", f"{LISTEN_HOST}:0", "--api-key", NodebbSelfTest.TOKEN,
            "--forum-type", "nodebb", "--nodebb-webhooks", "--contract",
            str(self.outer.contract_path), "--webhook-secret", self.SECRET, "--webhook-url",
            f"http://{LISTEN_HOST}:{self.receiver.server_address[1]}/webhooks/nodebb"])
        if not args.nodebb_contract.is_dir():
            return
        server = start_simulator(args, log_file=open(os.devnull, "w"))
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                         daemon=True).start()
        api = NodebbSelfTest(self.outer)
        api.conn = http.client.HTTPConnection(LISTEN_HOST, server.port, timeout=5)
        try:
            _, _, topic = api.request("POST", "/api/v3/topics", {
                "cid": 3, "title": "Hooked topic", "content": "First post body.", "_uid": 2})
            tid, main = topic["response"]["tid"], topic["response"]["mainPid"]
            first = self.event(main)
            self.check("nodebb webhook: action:topic.post with the topic",
                       first.get("hook") == "action:topic.post"
                       and first["params"]["post"]["index"] == 0
                       and first["params"]["topic"]["cid"] == 3, first)
            pids = []
            for n in range(3):
                _, _, reply = api.request("POST", f"/api/v3/topics/{tid}", {
                    "content": f"Reply number {n} here.", "toPid": main, "_uid": 5})
                pids.append(reply["response"]["pid"])
            second = self.event(pids[0])
            self.check("nodebb webhook: action:topic.reply with toPid and index",
                       second.get("hook") == "action:topic.reply"
                       and second["params"]["post"]["toPid"] == main
                       and second["params"]["post"]["index"] == 1
                       and second["params"]["post"]["topic"]["cid"] == 3, second)
            status = api.request("POST", "/__sim/purge", {"pid": pids[1]})[0]
            numbers = [p["post_number"] for p in server.forum.state_json()["topics"][0]["posts"]]
            self.check("nodebb purge: the later post is renumbered",
                       status == 200 and numbers == [1, 2, 3]
                       and server.forum.posts[pids[2]].post_number == 3, numbers)
            _, _, reply = api.request("POST", f"/api/v3/topics/{tid}", {
                "content": "After the purge.", "toPid": pids[2], "_uid": 5})
            late = self.event(reply["response"]["pid"])
            self.check("nodebb purge: a new post gets a number another post had",
                       late.get("params", {}).get("post", {}).get("index") == 3
                       and late["params"]["post"]["toPid"] == pids[2], late)
            status, _, body = api.request("POST", "/__sim/purge", {"pid": main})
            self.check("nodebb purge: the main post is refused", status == 400
                       and "main post" in body["status"]["message"], body)
            status = api.request("POST", "/__sim/reply", {
                "topic_id": tid, "raw": "Web reply to the second.", "username": "6",
                "reply_to_post_number": 2})[0]
            web = self.outer.wait_for(lambda: [json.loads(b) for _, b in self.receiver.received
                                               if b"Web reply to the second" in b])
            self.check("nodebb /__sim/reply: toPid of the post number given", status == 200
                       and web and web[0]["params"]["post"]["toPid"] == pids[0], web)
        finally:
            server.shutdown()
            server.dispatcher.stop()
            server.server_close()
            self.receiver.shutdown()
            self.receiver.server_close()

if __name__ == "__main__":
    sys.exit(main())

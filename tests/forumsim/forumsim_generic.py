"""forumsim_generic - the forum simulator's generic mode (--forum-type generic).

The forum side of forumgate's generic forum contract, doc/generic-forum.md:
one endpoint (GENERIC_PATH) takes signed JSON requests (create_topic,
create_reply, find) and answers with the ids of the post.  Every request is
checked against the contract's JSON Schema (doc/generic-forum.schema.json)
and its signature; a request that breaks the contract is answered
``400 bad_request`` and recorded as a violation, as in the other modes.
Posts are made with the simulator's forum (the same validation as its
Discourse mode, less "too similar" and duplicate titles), and each post goes
out as the generic webhook (``POST /webhooks/post`` with X-Forumgate-Event and
X-Forumgate-Signature, doc/generic-forum.md "Posts from the forum").

forumsim.py owns the HTTP server; this module only decides the answers, so
it takes the server's Answer and Rejected classes as arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import jsonschema

GENERIC_PATH = "/forumgate/posts"
# doc/generic-forum.md: the endpoint refuses timestamps further than this
REPLAY_WINDOW_S = 300
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "doc" / "generic-forum.schema.json"


def generic_signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Forumgate-Signature: sha256= HMAC-SHA256 of "TIMESTAMP." + body."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def generic_error(code: str, message: str, retry_after: Optional[int] = None) -> dict:
    """The contract's error body."""
    error: dict = {"code": code, "message": message}
    if retry_after is not None:
        error["retry_after"] = retry_after
    return {"error": error}


def webhook_headers(secret: str) -> Callable[[bytes, dict], dict]:
    """The generic webhook's headers in place of Discourse's (the same body)."""
    def rewrite(body: bytes, headers: dict) -> dict:
        out = {k: v for k, v in headers.items() if not k.startswith("X-Discourse-")}
        out["X-Forumgate-Event"] = headers.get("X-Discourse-Event", "post_created")
        if secret:
            digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            out["X-Forumgate-Signature"] = f"sha256={digest}"
        return out
    return rewrite


class GenericEndpoint:
    """The endpoint's state: the schema, the secret, and the idempotency keys
    it has posted (key -> post id and what the request was)."""

    def __init__(self, secret: str, bridge_user: str, schema_path: Path = SCHEMA_PATH):
        with open(schema_path, encoding="utf-8") as f:
            schema = json.load(f)
        self.validator = jsonschema.Draft202012Validator(schema)
        defs = schema["$defs"]
        self.answer_validators = {
            name: jsonschema.Draft202012Validator(dict(defs[name], **{"$defs": defs}))
            for name in ("created", "error")}
        self.secret, self.bridge_user = secret, bridge_user
        self.lock = threading.Lock()
        self.keys: dict[str, dict] = {}
        self.log: list[dict] = []

    # -- checks --------------------------------------------------------------

    def signature_refusal(self, headers, body: bytes, now: float) -> Optional[str]:
        """Why the signature or timestamp is not genuine; None when it is."""
        stamp = headers.get("X-Forumgate-Timestamp") or ""
        given = headers.get("X-Forumgate-Signature") or ""
        with self.lock:
            secret = self.secret
        if not stamp.isdigit():
            return "no X-Forumgate-Timestamp"
        if abs(now - int(stamp)) > REPLAY_WINDOW_S:
            return "timestamp outside the replay window"
        if not hmac.compare_digest(given.encode(),
                                   generic_signature(secret, stamp, body).encode()):
            return "signature mismatch"
        return None

    def contract_problems(self, headers, body: bytes) -> tuple[Any, list[str]]:
        """The body decoded, and what about the request breaks the contract."""
        problems: list[str] = []
        if headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            problems.append("Content-Type is not application/json")
        for name in ("X-Forumgate-Timestamp", "X-Forumgate-Signature", "Idempotency-Key"):
            if not headers.get(name):
                problems.append(f"no {name} header")
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            return None, problems + [f"body is not valid JSON: {e}"]
        problems += [f"request body: {e.message}" for e in self.validator.iter_errors(data)]
        if isinstance(data, dict) and headers.get("Idempotency-Key") \
                and headers.get("Idempotency-Key") != data.get("idempotency_key"):
            problems.append("Idempotency-Key differs from idempotency_key")
        return data, problems

    def response_problems(self, kind: str, body: dict) -> list[str]:
        return [f"response: {e.message}" for e in self.answer_validators[kind].iter_errors(body)]

    # -- keys ----------------------------------------------------------------

    @staticmethod
    def request_digest(data: dict) -> str:
        """What the key stands for: the same key with another post is a conflict."""
        what = [data.get("author"), data.get("topic_id"), data.get("title"), data.get("raw")]
        return hashlib.sha256(json.dumps(what).encode()).hexdigest()

    def known_post(self, forum, key: str):
        """The post made for key, if the forum still has it."""
        with self.lock:
            entry = self.keys.get(key)
        return forum.posts.get(entry["post_id"]) if entry else None

    def remember(self, key: str, data: dict, post) -> None:
        with self.lock:
            self.keys[key] = {"post_id": post.id, "digest": self.request_digest(data)}

    def note(self, entry: dict) -> None:
        with self.lock:
            self.log.append(entry)

    def set_secret(self, secret: str) -> None:
        """The forum's administrator changed the shared secret."""
        with self.lock:
            self.secret = secret

    def state_json(self) -> dict:
        with self.lock:
            return {"keys": dict(self.keys), "requests": list(self.log)}

    # -- the endpoint ----------------------------------------------------------

    def api(self, handler, path: str, body: bytes, Answer, Rejected) -> Optional[Any]:
        """One request to the endpoint: None drops the connection."""
        forum = handler.server.forum
        with forum.lock:
            forum.requests += 1
        answer = self._answer(handler, path, body, Answer, Rejected)
        forum.note_request({"method": handler.command, "path": path, "username": "",
                            "status": answer.status if answer else None})
        return answer

    def _failure(self, handler, path, body, failure, Answer, Rejected):
        """The injected failures of /__sim/fail, in the contract's words."""
        mode, retry_after = failure
        if mode == "down":
            return None
        if mode in ("lost", "slow"):
            # carried out (and its webhook sent); the answer is lost or late
            answer = self._answer(handler, path, body, Answer, Rejected, failures=False)
            if answer is not None and answer.after:
                answer.after()
                answer.after = None
            if mode == "lost":
                return None
            time.sleep(retry_after)
            return answer
        if mode == "429":
            return Answer(429, generic_error("rate_limited", "Too many posts, slow down",
                                             retry_after),
                          {"Retry-After": str(retry_after)})
        if mode == "422":
            return Answer(422, generic_error("content_refused",
                                             "Refused by the simulator (fail mode 422)"))
        page = f"<html><body><h1>{mode}</h1></body></html>"
        return Answer(int(mode), page.encode(), content_type="text/html")

    def _violation(self, handler, path, body, problems, Answer):
        handler.server.forum.note_violation(handler.command, path, problems, body)
        handler.server.log(f"contract violation: {handler.command} {path}: "
                           f"{'; '.join(problems)}")
        return Answer(400, generic_error("bad_request", "; ".join(problems)))

    def _answer(self, handler, path, body, Answer, Rejected, failures=True):
        forum = handler.server.forum
        failure = forum.take_failure() if failures else None
        if failure:
            return self._failure(handler, path, body, failure, Answer, Rejected)
        if path != GENERIC_PATH or handler.command != "POST":
            return self._violation(handler, path, body,
                                   [f"{handler.command} {path} is not the endpoint "
                                    f"(POST {GENERIC_PATH})"], Answer)
        refusal = self.signature_refusal(handler.headers, body, time.time())
        if refusal:
            self.note({"action": None, "key": handler.headers.get("Idempotency-Key"),
                       "status": 401, "refusal": refusal})
            return Answer(401, generic_error("unauthorized", refusal))
        data, problems = self.contract_problems(handler.headers, body)
        if problems:
            return self._violation(handler, path, body, problems, Answer)
        answer = self._act(handler, data, Answer, Rejected)
        self.note({"action": data["action"], "key": data["idempotency_key"],
                   "status": answer.status})
        if answer.status < 300:
            errors = self.response_problems("created", answer.body)
        else:
            errors = self.response_problems("error", answer.body)
        if errors:
            with forum.lock:
                forum.response_errors.append({"operation": "generic", "path": path,
                                              "errors": errors})
        return answer

    @staticmethod
    def created(post) -> dict:
        return {"topic_id": post.topic.id, "post_id": post.id,
                "post_number": post.post_number}

    def _act(self, handler, data: dict, Answer, Rejected):
        """find, or a create that a known key answers with its first post."""
        forum = handler.server.forum
        key = data["idempotency_key"]
        post = self.known_post(forum, key)
        if data["action"] == "find":
            if post is None:
                return Answer(404, generic_error("not_found", "no post has this key"))
            return Answer(200, self.created(post))
        if post is not None:
            with self.lock:
                digest = self.keys[key]["digest"]
            if digest != self.request_digest(data):
                return Answer(409, generic_error(
                    "conflict", "this idempotency key was used for another post"))
            return Answer(200, self.created(post))
        return self._create(handler, data, Answer, Rejected)

    def _create(self, handler, data: dict, Answer, Rejected):
        """A new topic or reply as the author (null: the bridge's user)."""
        forum = handler.server.forum
        fields: dict = {"raw": data["raw"]}
        if data["action"] == "create_reply":
            fields["topic_id"] = data["topic_id"]
            parent = data.get("reply_to_post_id")
            if parent is not None:
                post = forum.posts.get(parent)
                if post is None or post.topic.id != data["topic_id"]:
                    return Answer(400, generic_error(
                        "bad_request", f"post {parent} is not in topic {data['topic_id']}"))
                fields["reply_to_post_number"] = post.post_number
            elif data.get("reply_to_post_number") is not None:
                fields["reply_to_post_number"] = data["reply_to_post_number"]
        else:
            fields["title"] = data["title"]
            if data.get("category") is not None:
                fields["category"] = data["category"]
        try:
            post = forum.create_post(data.get("author") or self.bridge_user, None,
                                     fields, via="api")
        except Rejected as e:
            return self._refused(e, Answer)
        self.remember(data["idempotency_key"], data, post)
        return Answer(200, self.created(post), after=handler._deliver_later(post))

    @staticmethod
    def _refused(e, Answer):
        """The forum's refusal in the contract's classes."""
        messages = e.body.get("errors", []) if isinstance(e.body, dict) else []
        text = "; ".join(messages) or "refused"
        if e.status == 404:
            return Answer(404, generic_error("not_found", "Topic does not exist"))
        if e.status == 429:
            seconds = int(e.headers.get("Retry-After", "1")) if e.headers else 1
            return Answer(429, generic_error("rate_limited", text, seconds),
                          {"Retry-After": str(seconds)})
        if e.status == 403:
            return Answer(403, generic_error("forbidden", text))
        return Answer(422, generic_error("content_refused", text))


class GenericSelfTest:
    """The generic mode, checked by the simulator's self-test counters:
    check(name, ok, detail); start(argv) returns a started, serving
    simulator; receiver is a WebhookReceiver already serving."""

    SECRET = "generic-secret"

    def __init__(self, check, start, receiver, contract: str):
        self.check, self.start, self.receiver = check, start, receiver
        self.contract = contract

    def request(self, port: int, data, stamp: Optional[int] = None, secret: str = SECRET,
                key: Optional[str] = None):
        import http.client
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        ts = str(int(time.time()) if stamp is None else stamp)
        headers = {"Content-Type": "application/json", "X-Forumgate-Timestamp": ts,
                   "X-Forumgate-Signature": generic_signature(secret, ts, body),
                   "Idempotency-Key": key if key is not None else
                   (data.get("idempotency_key", "") if isinstance(data, dict) else "")}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("POST", GENERIC_PATH, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read()
        finally:
            conn.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    @staticmethod
    def topic(key: str, **extra) -> dict:
        data = {"version": 1, "action": "create_topic", "idempotency_key": key,
                "message_id": "m@list.example", "author": None,
                "raw": "The first message of a generic topic.",
                "title": "A generic topic title", "category": 4}
        data.update(extra)
        return data

    def run(self) -> None:
        hook = f"http://127.0.0.1:{self.receiver.server_address[1]}/webhooks/post"
        server = self.start(["--listen", "127.0.0.1:0", "--api-key", self.SECRET,
                             "--forum-type", "generic", "--webhook-url", hook,
                             "--webhook-secret", "hook-secret", "--contract", self.contract,
                             "--generic-user", "bridge"])
        try:
            self._run(server)
        finally:
            server.shutdown()
            server.dispatcher.stop()
            server.server_close()

    def _run(self, server) -> None:
        port, check = server.port, self.check
        key1, key2 = "fg-" + "1" * 32, "fg-" + "2" * 32
        status, body = self.request(port, self.topic(key1))
        check("generic: create_topic 200 with ids", status == 200 and body.get("post_number") == 1
              and body.get("topic_id", 0) > 0 and body.get("post_id", 0) > 0, body)
        tid, pid = body.get("topic_id"), body.get("post_id")
        again = self.request(port, self.topic(key1))
        check("generic: the same key answers the first post", again == (200, body), again)
        check("generic: the same key with another text is a conflict",
              self.request(port, self.topic(key1, raw="Another text for this key."))[0] == 409, "")
        found = self.request(port, self.topic(key1, action="find"))
        check("generic: find answers the ids", found == (200, body), found)
        check("generic: find of an unknown key is 404",
              self.request(port, self.topic(key2, action="find"))[0] == 404, "")
        reply = {"version": 1, "action": "create_reply", "idempotency_key": key2,
                 "message_id": None, "author": "alice", "raw": "A reply to the first post.",
                 "topic_id": tid, "reply_to_post_id": pid, "reply_to_post_number": 1}
        status, body = self.request(port, reply)
        check("generic: create_reply 200, post 2", status == 200
              and body.get("post_number") == 2 and body.get("topic_id") == tid, body)
        post = server.forum.posts.get(body.get("post_id"))
        check("generic: the reply is alice's, answering post 1", post is not None
              and post.user.username == "alice" and post.reply_to_post_number == 1, post)
        check("generic: no author posts as --generic-user",
              server.forum.posts[pid].user.username == "bridge", "")
        self._refusals(port, tid)
        self._webhooks(server)
        check("generic: answers matched the schema", server.forum.response_errors == [],
              server.forum.response_errors)

    def _refusals(self, port: int, tid: int) -> None:
        check, key = self.check, "fg-" + "3" * 32
        status, body = self.request(port, self.topic(key), secret="wrong")
        check("generic: a wrong signature is 401", status == 401
              and body["error"]["code"] == "unauthorized", body)
        status, body = self.request(port, self.topic(key), stamp=int(time.time()) - 600)
        check("generic: a stale timestamp is 401", status == 401, body)
        status, body = self.request(port, self.topic(key, raw="Short"))
        check("generic: a short post is 422 content_refused", status == 422
              and body["error"]["code"] == "content_refused", body)
        status, body = self.request(port, self.topic(key, extra=1))
        check("generic: a member outside the schema is a violation", status == 400
              and body["error"]["code"] == "bad_request", body)
        status, body = self.request(port, self.topic(key), key="fg-" + "4" * 32)
        check("generic: Idempotency-Key must match the body", status == 400, body)
        status, body = self.request(port, {"version": 1, "action": "create_reply",
                                           "idempotency_key": key, "message_id": None,
                                           "author": None, "raw": "A reply to no topic at all.",
                                           "topic_id": 99999, "reply_to_post_id": None,
                                           "reply_to_post_number": None})
        check("generic: a reply to no topic is 404", status == 404, body)

    def _webhooks(self, server) -> None:
        deadline = time.monotonic() + 30   # a loaded machine: waited for, not slept
        while time.monotonic() < deadline:
            with self.receiver.lock:
                got = list(self.receiver.received)
            if len(got) >= 2:
                break
            time.sleep(0.05)
        ok = len(got) >= 2
        for headers, body in got:
            digest = hmac.new(b"hook-secret", body, hashlib.sha256).hexdigest()
            ok = ok and headers.get("X-Forumgate-Signature") == f"sha256={digest}" \
                and headers.get("X-Forumgate-Event") == "post_created" \
                and not any(k.startswith("X-Discourse-") for k in headers) \
                and "post" in json.loads(body)
        self.check("generic: each post's webhook signed with the generic headers", ok,
                   [h for h, _ in got])

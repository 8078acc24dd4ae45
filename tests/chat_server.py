"""A real OpenAI-compatible chat-completions server on 127.0.0.1 that answers from a script.

Tests drive the official SDK (or a ``pygent`` subprocess with ``OPENAI_BASE_URL=server.url``)
against it. Every request body is recorded in ``server.requests``.

    with ChatServer([tool_call("bash", {"cmd": "echo hi"}), text("done")]) as server:
        model = OpenAIModel(base_url=server.url, api_key="test")
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional, Union

_ids = itertools.count(1)
USAGE = (10, 5)


@dataclass
class Reply:
    """One scripted answer: status, body (dict -> JSON, str/bytes as is), headers, delivery."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    reset_after: Optional[int] = None  # bytes of body (SSE events when streaming), then RST
    chunks: Optional[list[Any]] = None  # SSE events (dicts, or raw strings) to stream
    chunk_delay: float = 0.0


Script = Union[Reply, Callable[[Any], Reply]]


def completion(message: dict[str, Any], finish_reason: str,
               usage: Optional[tuple[int, int]] = USAGE) -> dict[str, Any]:
    """A ``chat.completion`` object around one assistant message."""
    body: dict[str, Any] = {
        "id": f"chatcmpl-{next(_ids)}", "object": "chat.completion", "created": 1700000000,
        "model": "", "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason,
                     "logprobs": None}],
    }
    if usage is not None:
        body["usage"] = {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                         "total_tokens": usage[0] + usage[1]}
    return body


def text(content: Optional[str], *, usage: Optional[tuple[int, int]] = USAGE) -> Reply:
    """A plain assistant reply."""
    return Reply(completion({"role": "assistant", "content": content}, "stop", usage))


def tool_calls(*calls: tuple[str, Any], content: Optional[str] = None,
               usage: Optional[tuple[int, int]] = USAGE) -> Reply:
    """A reply calling tools; each call is ``(name, arguments)``, dicts JSON-encoded."""
    wire = [{"id": f"call_{next(_ids)}", "type": "function",
             "function": {"name": name,
                          "arguments": args if isinstance(args, str) else json.dumps(args)}}
            for name, args in calls]
    message = {"role": "assistant", "content": content, "tool_calls": wire}
    return Reply(completion(message, "tool_calls", usage))


def tool_call(name: str, arguments: Any = None, **kwargs: Any) -> Reply:
    """A reply calling one tool."""
    return tool_calls((name, {} if arguments is None else arguments), **kwargs)


def error(status: int, message: str, *, kind: str = "invalid_request_error",
          code: Optional[str] = None, retry_after: Optional[float] = None,
          headers: Optional[dict[str, str]] = None) -> Reply:
    """An HTTP error with an OpenAI-style ``{"error": {...}}`` body."""
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = f"{retry_after:g}"
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return Reply(body, status=status, headers=extra)


def malformed(body: str = '{"id": "chatcmpl-broken", "choices": [{"mess') -> Reply:
    """A 200 whose JSON body is cut short."""
    return Reply(body, headers={"Content-Type": "application/json"})


def reset(after: int = 24, reply: Optional[Reply] = None) -> Reply:
    """Send the headers and ``after`` bytes of a valid body, then reset the connection."""
    return replace(reply or text("this reply never arrives whole"), reset_after=after)


def slow(reply: Reply, seconds: float) -> Reply:
    """The same reply, sent after ``seconds``."""
    return replace(reply, delay=seconds)


def streamed(reply: Reply, *, pieces: int = 3, repeat_name: bool = False,
             usage: bool = True, chunk_delay: float = 0.0) -> Reply:
    """The reply as SSE ``chat.completion.chunk`` events, split into ``pieces`` per field."""
    return replace(reply, chunks=completion_chunks(reply.body, pieces=pieces,
                   repeat_name=repeat_name, usage=usage), chunk_delay=chunk_delay)


def completion_chunks(body: dict[str, Any], *, pieces: int = 3, repeat_name: bool = False,
                      usage: bool = True) -> list[dict[str, Any]]:
    """Split a ``chat.completion`` into the chunks a streaming server would send."""
    base = {"id": body["id"], "object": "chat.completion.chunk", "created": body["created"],
            "model": body.get("model", "")}
    choice = body["choices"][0]
    message = choice["message"]

    def chunk(delta: dict[str, Any], finish: Optional[str] = None) -> dict[str, Any]:
        return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish,
                                     "logprobs": None}]}

    out = [chunk({"role": "assistant", "content": ""})]
    out += [chunk({"content": part}) for part in _split(message.get("content") or "", pieces)]
    for index, call in enumerate(message.get("tool_calls") or []):
        name, parts = call["function"]["name"], _split(call["function"]["arguments"], pieces)
        out.append(chunk({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                          "function": {"name": name,
                                                       "arguments": parts[0] if parts else ""}}]}))
        for part in parts[1:]:
            function = {"name": name, "arguments": part} if repeat_name else {"arguments": part}
            out.append(chunk({"tool_calls": [{"index": index, "function": function}]}))
    out.append(chunk({}, choice["finish_reason"]))
    if usage and body.get("usage"):
        out.append({**base, "choices": [], "usage": body["usage"]})
    return out


def _split(value: str, pieces: int) -> list[str]:
    size = max(1, -(-len(value) // max(1, pieces)))
    return [value[i:i + size] for i in range(0, len(value), size)]


class ChatServer:
    """A chat-completions server in a thread; replies come from ``replies``, then ``default``."""

    def __init__(self, replies: Iterable[Script] = (), *, default: Optional[Script] = None) -> None:
        self.script: list[Script] = list(replies)
        self.default = default
        self.requests: list[Any] = []  # chat-completions request bodies, in order
        self.headers: list[dict[str, str]] = []  # their headers, names lower-cased
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        """The port it listens on (after ``start``)."""
        assert self._server is not None, "start the server first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The base URL to give the SDK or ``OPENAI_BASE_URL``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, *replies: Script) -> None:
        """Queue more replies."""
        with self.lock:
            self.script.extend(replies)

    def next_reply(self, body: Any, headers: dict[str, str]) -> Reply:
        """Record a request and pick its reply."""
        with self.lock:
            self.requests.append(body)
            self.headers.append(headers)
            script = self.script.pop(0) if self.script else self.default
        if script is None:
            return error(500, "chat_server: no scripted reply left", kind="server_error",
                         headers={"x-should-retry": "false"})
        return script if isinstance(script, Reply) else script(body)

    def start(self) -> ChatServer:
        """Listen on a free port of 127.0.0.1 and serve in a daemon thread."""
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.chat = self
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and drop every open connection."""
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        if self._thread is not None:
            self._thread.join(5)
        self._server = None

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def refusing_url() -> Iterator[str]:
    """A base URL on 127.0.0.1 whose port is bound but not listening: connections are refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/v1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    chat: ChatServer

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        with self.connections_lock:
            for sock in self.connections:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up mid-reply (timeouts, tests) are expected: stay quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean."""

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._send(Reply({"object": "list", "data": [
                {"id": "test-model", "object": "model", "created": 0, "owned_by": "tests"}]}))
        else:
            self._send(error(404, f"no route {self.path}"))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(error(404, f"no route {self.path}"))
            return
        reply = self.server.chat.next_reply(body, {k.lower(): v for k, v in self.headers.items()})
        if reply.delay and self.server.chat.stopping.wait(reply.delay):
            return
        request = body if isinstance(body, dict) else {}
        if isinstance(reply.body, dict) and reply.body.get("object") == "chat.completion":
            reply = replace(reply, body={**reply.body,
                                         "model": reply.body["model"] or request.get("model")})
            if request.get("stream") and reply.chunks is None:
                include = (request.get("stream_options") or {}).get("include_usage", False)
                reply = replace(reply, chunks=completion_chunks(reply.body, usage=include))
        if reply.chunks is not None:
            self._stream(reply, str(request.get("model") or ""))
        else:
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        body = reply.body
        data = body if isinstance(body, bytes) else (
            body.encode() if isinstance(body, str) else json.dumps(body).encode())
        self.send_response(reply.status)
        headers = {"Content-Type": "application/json", **reply.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.reset_after is not None:
            self.wfile.write(data[:reply.reset_after])
            self._reset()
            return
        self.wfile.write(data)

    def _stream(self, reply: Reply, model: str) -> None:
        self.send_response(reply.status)
        for name, value in {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
                            **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = [e if isinstance(e, str) else json.dumps({**e, "model": e.get("model") or model})
                  for e in reply.chunks or []]
        for count, event in enumerate([*events, "[DONE]"]):
            if reply.reset_after is not None and count >= reply.reset_after:
                self._reset()
                return
            if count and reply.chunk_delay and self.server.chat.stopping.wait(reply.chunk_delay):
                return
            payload = f"data: {event}\n\n".encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(payload), payload))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    def _reset(self) -> None:
        """Abort the connection with a TCP RST, as a crashed server would."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

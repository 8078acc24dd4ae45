"""Chat with any OpenAI-compatible server through the official ``openai`` SDK."""

from __future__ import annotations

import json
import os
import re
import threading
from typing import Any, Optional

from ..domain.errors import ModelError
from ..domain.messages import Message
from .openai_stream import DeltaListener, StreamedReply, json_body, message_from_body, usage_of

#: How servers say they cannot take tools (Ollama, llama.cpp without --jinja, vLLM, others).
NO_TOOL_SUPPORT = re.compile(
    r"(does not|doesn't|not) support\w* (tools|tool|function)|tools? param\w* requires"
    r"|tool choice requires|(tools?|function calling) (is|are) not (supported|enabled)",
    re.IGNORECASE,
)
TOOL_CHOICES = ("auto", "required", "none")


class OpenAIModel:
    """A :class:`~pygent.domain.ports.ModelPort` over ``openai.OpenAI``; the SDK retries 429/5xx.

    With ``stream=True`` replies come through the SDK's streaming API: ``chat`` takes an
    optional ``on_delta`` keyword that receives each piece of text as it arrives (the agent
    loop passes one when the model's ``chat`` accepts it), and returns the whole message at
    the end. ``last_usage`` holds the token counts of the last reply made by this thread.
    """

    def __init__(
        self,
        model: str = "gpt-4.1-mini",
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 120.0,
        max_retries: int = 2,
        stream: bool = False,
        tool_choice: Optional[str] = None,
        temperature: Optional[float] = None,
        seed: Optional[int] = None,
    ) -> None:
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self.stream = stream
        self.tool_choice = tool_choice
        self.temperature = temperature  # None: the server's own default
        self.seed = seed
        self.stream_usage = True  # False once a server has refused stream_options
        self._local = threading.local()  # last_usage per thread: web sessions share a model
        self._client: Any = None
        self._key_in_use = ""  # never shown: removed from every error message

    @property
    def last_usage(self) -> Optional[dict[str, int]]:
        """Token counts of this thread's last reply, when the server gave them."""
        return getattr(self._local, "usage", None)

    @last_usage.setter
    def last_usage(self, value: Optional[dict[str, int]]) -> None:
        self._local.usage = value

    @property
    def client(self) -> Any:
        """The SDK client, created on first use so importing Pygent stays fast."""
        if self._client is None:
            import openai

            api_key = self._api_key or os.environ.get("OPENAI_API_KEY")
            if not api_key:
                if self.base_url is None:
                    raise ModelError(
                        "OPENAI_API_KEY is not set: export it, or use --backend direct to "
                        "run offline"
                    )
                api_key = "not-needed"  # local servers accept any key
            self._key_in_use = api_key
            self._client = openai.OpenAI(
                api_key=api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    @property
    def url(self) -> str:
        """The base URL requests go to, for messages."""
        if self._client is not None:
            return str(self._client.base_url).rstrip("/")
        return self.base_url or "https://api.openai.com/v1"

    def chat(
        self,
        messages: list[dict[str, Any]],
        model: str,
        tools: list[dict[str, Any]],
        on_delta: Optional[DeltaListener] = None,
        temperature: Optional[float] = None,
    ) -> Message:
        """Send one chat-completions request and return the reply's message.

        ``temperature`` overrides the model's own for this request (the loop redraws a
        reply that repeats a looping action). A body nested too deeply for the JSON decoder
        is a ModelError like any bad body.
        """
        try:
            return self._chat(messages, model, tools, on_delta, temperature)
        except RecursionError:
            raise ModelError(
                f"{self.url} sent a reply nested too deeply to read; try again, or check "
                "OPENAI_BASE_URL"
            ) from None
        except ModelError as exc:  # the SDK's words may quote the key (a bad header value)
            raise ModelError(without_key(str(exc), self._key_in_use)) from None

    def _chat(
        self,
        messages: list[dict[str, Any]],
        model: str,
        tools: list[dict[str, Any]],
        on_delta: Optional[DeltaListener],
        temperature: Optional[float] = None,
    ) -> Message:
        request: dict[str, Any] = {"model": model or self.model, "messages": messages}
        if tools:
            request["tools"] = tools
            if self.tool_choice:
                request["tool_choice"] = tool_choice_wire(self.tool_choice)
        temperature = self.temperature if temperature is None else temperature
        if temperature is not None:
            request["temperature"] = temperature
        if self.seed is not None:
            request["seed"] = self.seed
        self.last_usage = None
        if self.stream:
            return self._chat_streaming(request, bool(tools), on_delta)
        response = self._create(request, bool(tools))
        if isinstance(response, str):
            raise ModelError(
                f"{self.url} did not answer in the chat-completions format "
                f"({_one_line(response)[:80]!r}); check OPENAI_BASE_URL"
            )
        self.last_usage = usage_of(response)
        choices = getattr(response, "choices", None)
        if not choices:
            raise ModelError("the server answered without any choices; try again")
        return Message.from_dict({**choices[0].message.model_dump(), "role": "assistant"})

    def _chat_streaming(
        self, request: dict[str, Any], sent_tools: bool, on_delta: Optional[DeltaListener]
    ) -> Message:
        """Stream the reply; Ctrl-C (or any error) closes the stream before it propagates."""
        import openai

        request["stream"] = True
        if self.stream_usage:
            request["stream_options"] = {"include_usage": True}
        stream = self._create(request, sent_tools)
        reply = StreamedReply(on_delta)
        response: Any = getattr(stream, "response", None)
        kind = str(getattr(response, "headers", {}).get("content-type", ""))
        try:
            if "json" in kind:
                return self._whole_reply(response.read(), on_delta)  # it would not stream
            for chunk in stream:
                reply.add(chunk)
        except openai.APITimeoutError:
            raise ModelError(
                f"the model at {self.url} stopped sending for {self.timeout:g} s mid-reply; "
                "try again, or raise PYGENT_REQUEST_TIMEOUT"
            ) from None
        except (openai.OpenAIError, ValueError) as exc:
            raise ModelError(
                f"the reply from {self.url} broke off mid-stream ({_one_line(exc)}); try again"
            ) from None
        finally:
            stream.close()
        if not reply.chunks and "event-stream" not in kind:
            raise ModelError(
                f"{self.url} did not answer in the chat-completions format (a {kind or 'bare'} "
                "body, not a stream); check OPENAI_BASE_URL, or set PYGENT_STREAM=0"
            )
        if not reply.chunks:
            raise ModelError(f"{self.url} ended the stream without a reply; try again")
        self.last_usage = reply.usage
        return reply.message()

    def _whole_reply(self, raw: bytes, on_delta: Optional[DeltaListener]) -> Message:
        """A server that ignored ``stream``: one JSON body, its text passed on in one piece."""
        body = json_body(raw)
        if body is None:
            raise ModelError(
                f"{self.url} sent a reply that is not valid JSON "
                f"({_one_line(raw.decode('utf-8', 'replace'))[:80]!r}); try again, or check "
                "OPENAI_BASE_URL"
            )
        message = message_from_body(body)
        if message is None:
            raise ModelError("the server answered without any choices; try again")
        self.last_usage = usage_of(body)
        if message.content and on_delta is not None:
            on_delta(message.content)
        return message

    def _create(self, request: dict[str, Any], sent_tools: bool) -> Any:
        """Call the SDK; every failure becomes one ModelError line."""
        import openai

        attempts = self.max_retries + 1
        try:
            return self.client.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            if "stream_options" in request and refuses_stream_options(exc):
                self.stream_usage = False  # remembered: later requests leave it out
                del request["stream_options"]
                return self._create(request, sent_tools)
            raise ModelError(describe_status_error(exc, sent_tools)) from None
        except openai.APITimeoutError:
            raise ModelError(
                f"the model at {self.url} did not answer within the {self.timeout:g} s request "
                f"timeout ({attempts} attempt(s)); try again, or raise PYGENT_REQUEST_TIMEOUT"
            ) from None
        except openai.APIConnectionError as exc:
            if "header value" in str(exc.__cause__ or ""):  # e.g. a key read with its newline
                raise ModelError(
                    "OPENAI_API_KEY (or another request header) holds a character a header "
                    "cannot carry, such as a line break; check it for stray characters"
                ) from None
            raise ModelError(
                f"could not reach {self.url} ({_one_line(exc.__cause__ or exc)}) after "
                f"{attempts} attempt(s); check OPENAI_BASE_URL and your network"
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"the model request failed: {_one_line(exc)}") from None
        except UnicodeEncodeError:
            raise ModelError(
                "OPENAI_API_KEY (or another request header) holds a character that is not "
                "ASCII; check it for stray characters"
            ) from None
        except ValueError as exc:  # the SDK lets a body that is not JSON through as-is
            raise ModelError(
                f"{self.url} sent a reply that is not valid JSON ({_one_line(exc)}); "
                "try again, or check OPENAI_BASE_URL"
            ) from None


def tool_choice_wire(choice: str) -> Any:
    """``auto``/``required``/``none`` as they are; any other word names the one tool to call."""
    if choice in TOOL_CHOICES:
        return choice
    return {"type": "function", "function": {"name": choice}}


def refuses_stream_options(exc: Any) -> bool:
    """A 400/422 that names ``stream_options``: a server that streams but cannot add usage."""
    if getattr(exc, "status_code", None) not in (400, 422):
        return False
    said = _message(exc).lower()
    return "stream_options" in said or "include_usage" in said


def describe_status_error(exc: Any, sent_tools: bool = False) -> str:
    """One line naming an HTTP error's cause and what to do about it."""
    status = getattr(exc, "status_code", None)
    message = _message(exc)
    detail = f": {message}" if message else ""
    if status == 401:
        return f"the server refused the API key (401{detail}); check OPENAI_API_KEY"
    if status == 403:
        return f"access denied (403{detail}); check the key's permissions"
    if status == 429:
        return f"rate limited (429{detail}) after retries; wait a moment and try again"
    if sent_tools and NO_TOOL_SUPPORT.search(message):
        return (
            f"the server or model does not accept tool calls ({status}{detail}); use a model "
            "and server with tool support (llama.cpp: --jinja; vLLM: --enable-auto-tool-choice)"
        )
    if status == 404:
        return f"not found (404{detail}); check PYGENT_MODEL and OPENAI_BASE_URL"
    if status is not None and status >= 500:
        return f"the server failed ({status}{detail}) after retries; try again later"
    return f"the request was rejected ({status}{detail})"


def _message(exc: Any) -> str:
    """The server's own words: an OpenAI error dict, an Ollama-style string, or the raw text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
    elif isinstance(body, str):
        message = body
    if not message:
        response = getattr(exc, "response", None)
        try:
            message = response.text if response is not None else ""
        except Exception:  # a streamed body that was never read
            message = ""
    return _one_line(message)[:300]


def without_key(text: str, key: str) -> str:
    """``text`` with the API key taken out in every form an error message quotes it in.

    A short key (``k`` for a local server) is taken out only as a whole word.
    """
    forms: set[str] = set()
    for core in {key, key.strip()}:
        if core:
            forms |= {core, repr(core)[1:-1], repr(core.encode("utf-8", "replace"))[2:-1],
                      json.dumps(core)[1:-1]}
    if not forms:
        return text
    pattern = "|".join(
        re.escape(form) if len(form) >= 8 else rf"(?<!\w){re.escape(form)}(?!\w)"
        for form in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, "[API key]", text)


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())

"""Chat with any OpenAI-compatible server through the official ``openai`` SDK."""

from __future__ import annotations

import os
from typing import Any, Optional

from ..domain.errors import ModelError


class OpenAIModel:
    """A :class:`~pygent.domain.ports.ModelPort` over ``openai.OpenAI``; the SDK retries 429/5xx."""

    def __init__(
        self,
        model: str = "gpt-4.1-mini",
        *,
        api_key: Optional[str] = None,
        base_url: Optional[str] = None,
        timeout: float = 120.0,
        max_retries: int = 2,
    ) -> None:
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._api_key = api_key
        self.timeout = timeout
        self.max_retries = max_retries
        self._client: Any = None

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
            self._client = openai.OpenAI(
                api_key=api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=self.max_retries,
            )
        return self._client

    def chat(self, messages: list[dict[str, Any]], model: str, tools: list[dict[str, Any]]) -> Any:
        """Send one chat-completions request and return the reply's message."""
        import openai

        request: dict[str, Any] = {"model": model or self.model, "messages": messages}
        if tools:
            request["tools"] = tools
        try:
            response = self.client.chat.completions.create(**request)
        except openai.APIStatusError as exc:
            raise ModelError(describe_status_error(exc, self.base_url)) from None
        except openai.APITimeoutError:
            raise ModelError(
                f"the model did not answer within {self.timeout:g} s; try again, or raise "
                "PYGENT_REQUEST_TIMEOUT"
            ) from None
        except openai.APIConnectionError as exc:
            where = self.base_url or "the OpenAI API"
            raise ModelError(
                f"could not reach {where} ({exc.__cause__ or exc}); check OPENAI_BASE_URL "
                "and your network"
            ) from None
        except openai.OpenAIError as exc:
            raise ModelError(f"the model request failed: {exc}") from None
        choices = getattr(response, "choices", None)
        if not choices:
            raise ModelError("the server answered without any choices; try again")
        return choices[0].message


def describe_status_error(exc: Any, base_url: Optional[str]) -> str:
    """One line naming an HTTP error's cause and what to do about it."""
    status = getattr(exc, "status_code", None)
    detail = _detail(exc)
    if status == 401:
        return f"the server refused the API key (401{detail}); check OPENAI_API_KEY"
    if status == 403:
        return f"access denied (403{detail}); check the key's permissions"
    if status == 404:
        return f"not found (404{detail}); check PYGENT_MODEL and OPENAI_BASE_URL"
    if status == 429:
        return f"rate limited (429{detail}) after retries; wait a moment and try again"
    if status is not None and status >= 500:
        return f"the server failed ({status}{detail}) after retries; try again later"
    return f"the request was rejected ({status}{detail})"


def _detail(exc: Any) -> str:
    body = getattr(exc, "body", None)
    message = body.get("message") if isinstance(body, dict) else None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
    return f": {message}" if message else ""

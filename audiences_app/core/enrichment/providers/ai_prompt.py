"""An AI prompt column over any OpenAI-compatible chat-completions endpoint (hosted APIs and
local servers such as llama.cpp, vLLM or Ollama alike).

    {"kind": "ai_prompt", "name": "summary", "base_url": "https://api.openai.com/v1",
     "model": "gpt-4o-mini", "api_key": "{{secret:openai}}",
     "system": "You research companies.",
     "prompt": "In one sentence, what does {{name}} ({{domain}}) sell? Is it B2B?",
     "outputs": {"summary": "text", "is_b2b": "boolean"},
     "temperature": 0, "max_tokens": 400, "cost": 1}

The model is asked for a JSON object (response_format json_object) whose keys are the output
names; the prompt lists them with their types. Keys it leaves out or fills with the wrong type
stay empty. Record values go into the prompt as they are: a record can steer the model's
answer for itself (prompt injection), never the request's destination or key.
A call is charged even when the model finds nothing (tokens were spent), unless
charge_on_miss is false.
"""

from __future__ import annotations

import json
from typing import Any

from audiences_app.core.enrichment.providers.base import (
    CallContext, Provider, ProviderError, SpecError, parse_limits, parse_outputs, render, render_header,
    render_url, template_variables,
)
from audiences_app.core.enrichment.runner import FetchError


class AiPromptProvider(Provider):
    kind = "ai_prompt"
    network = True

    def __init__(self, spec: dict, *, entity: str):
        spec = {"charge_on_miss": True, **spec}
        super().__init__(spec)
        where = f"ai_prompt provider {self.name!r}"
        self.base_url = str(spec.get("base_url") or "").rstrip("/")
        if not self.base_url.lower().startswith(("http://", "https://")):
            raise SpecError(f"{where}: 'base_url' must start with http:// or https:// (e.g. https://api.openai.com/v1)")
        self.model = str(spec.get("model") or "")
        if not self.model:
            raise SpecError(f"{where}: 'model' names the model to call")
        self.prompt = str(spec.get("prompt") or "")
        self.system = str(spec.get("system") or "You enrich company and people records. Answer with JSON only.")
        self.api_key = spec.get("api_key")
        self.temperature = float(spec.get("temperature", 0))
        self.max_tokens = int(spec.get("max_tokens", 500))
        self.outputs = parse_outputs(spec, where)
        fields, self.secret_names = template_variables(self.prompt, self.system, self.api_key or "")
        if not fields:
            raise SpecError(f"{where}: the prompt must use at least one record field, e.g. {{{{name}}}}")
        self.inputs = tuple(sorted(fields))
        self.limits = parse_limits(spec, where, concurrency=8, timeout_seconds=60)

    def _instructions(self) -> str:
        keys = ", ".join(f'"{o.name}" ({o.type})' for o in self.outputs.values())
        return (f"Answer with one JSON object with the keys {keys}. Use null for what you do not know. "
                "Dates as YYYY-MM-DD, numbers as JSON numbers, booleans as true/false.")

    async def fetch(self, inputs: dict, ctx: CallContext) -> dict[str, Any]:
        url, host = render_url(self.base_url + "/chat/completions", {}, {})
        headers = {"content-type": "application/json", "accept": "application/json"}
        if self.api_key:
            headers["authorization"] = "Bearer " + render_header(str(self.api_key), {}, ctx.secrets, host)
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": render(self.system, inputs, None) + "\n" + self._instructions()},
                {"role": "user", "content": render(self.prompt, inputs, None)},
            ],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "response_format": {"type": "json_object"},
        }
        try:
            response = await ctx.runner.fetch(self.key, self.limits, "POST", url, headers=headers,
                                              content=json.dumps(body).encode())
        except FetchError as exc:
            raise ProviderError(str(exc), retryable=exc.retryable) from None
        if not 200 <= response.status < 300:
            raise ProviderError(f"{self.name}: the model endpoint answered HTTP {response.status}: {response.text()[:200]}")
        try:
            content = json.loads(response.body)["choices"][0]["message"]["content"]
            answer = json.loads(_strip_fences(content))
        except (ValueError, KeyError, IndexError, TypeError):
            raise ProviderError(f"{self.name}: the model's answer is not the JSON object asked for") from None
        if not isinstance(answer, dict):
            raise ProviderError(f"{self.name}: the model answered {type(answer).__name__}, not a JSON object")
        return {name: answer.get(name) for name in self.outputs}


def _strip_fences(content: str) -> str:
    text = content.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text

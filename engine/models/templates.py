"""Turn a list of chat messages into the prompt text a model was trained on.

The GGUF's own Jinja template (``tokenizer.chat_template``) is rendered in Jinja's immutable
sandbox, so a hostile model file cannot reach Python objects. A per-model override wins; with
neither, ChatML is used (it is what most small open models speak).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from engine.errors import ModelLoadError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
CHATML_STOP = ["<|im_end|>"]


class _TemplateRaised(Exception):
    pass


def _raise_exception(message: str) -> None:
    raise _TemplateRaised(message)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["raise_exception"] = _raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


@dataclass(frozen=True)
class ChatTemplate:
    """A compiled chat template plus the special tokens it refers to."""

    source: str
    bos_token: str = ""
    eos_token: str = ""
    origin: str = "model"  # "model", "override" or "chatml"

    @classmethod
    def choose(cls, model_template: str | None, override: str | None, bos: str, eos: str) -> ChatTemplate:
        """Override > the model's own template > ChatML. A template that does not compile is an error."""
        if override:
            tpl = cls(override, bos, eos, "override")
        elif model_template:
            tpl = cls(model_template, bos, eos, "model")
        else:
            tpl = cls(CHATML_TEMPLATE, bos, eos, "chatml")
        tpl.validate()
        return tpl

    def validate(self) -> None:
        try:
            _compile(self.source)
            self.render([{"role": "user", "content": "hi"}])
        except ModelLoadError:
            raise
        except Exception as exc:
            raise ModelLoadError(
                f"The {self.origin} chat template cannot be used ({exc}); "
                "set another template in the model's settings or remove the override."
            ) from exc

    def render(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        try:
            return _compile(self.source).render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
            )
        except _TemplateRaised as exc:
            raise ModelLoadError(f"The chat template refused these messages: {exc}") from exc
        except jinja2.TemplateError as exc:
            raise ModelLoadError(
                f"The {self.origin} chat template failed ({exc}); choose another template for this model."
            ) from exc

    def stop_strings(self) -> list[str]:
        """Strings that end a reply even when the model does not emit its end-of-generation token."""
        stops = []
        if "<|im_end|>" in self.source:
            stops += CHATML_STOP
        if self.eos_token and self.eos_token not in stops:
            stops.append(self.eos_token)
        return stops

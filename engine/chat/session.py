"""A chat conversation: history from the store, replies from the model host, saved as they stream.

``ChatSession`` is what the CLI and the window both drive. It builds the messages the model sees
(system prompt, preset few-shot examples, the current branch of the conversation), streams the
reply, and saves the reply's text while it streams so a crash or a kill loses nothing already shown.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from engine.chat.feedback import feedback_for, preferred_text
from engine.chat.history import Conversation, HistoryStore, StoredMessage
from engine.chat.presets import Preset, get_preset
from engine.errors import HistoryError, InglenookError
from engine.events import ContextNotice, Event, Finished, TextDelta
from engine.host import _END, ModelHost, ReplyStream
from engine.lora.adapters import AdapterChoice, LoraRegistry
from engine.lora.live import ApplyResult
from engine.params import DEFAULT_SYSTEM_PROMPT, SamplingParams

SAVE_INTERVAL_S = 0.5
log = logging.getLogger(__name__)


@dataclass
class Augmentation:
    """What a higher layer (document Q&A, for one) changes about a reply, without the engine knowing why.

    ``messages`` replace what the model sees; ``extra`` is saved with the reply (e.g. its sources);
    ``events`` are streamed before the reply; ``reply`` answers without calling the model at all;
    ``finish``, when given, is called with the text of a reply that completed, and what it returns is
    merged into the reply's saved ``extra`` (e.g. which sentences the sources support).
    """

    messages: list[dict]
    extra: dict[str, Any] = field(default_factory=dict)
    events: list[Any] = field(default_factory=list)
    reply: str | None = None
    finish: Callable[[str], dict[str, Any]] | None = None


Augmenter = Callable[[list[dict]], Augmentation]


@dataclass
class ReplyOutcome:
    message: StoredMessage
    finished: Finished | None
    notice: ContextNotice | None = None


class ChatSession:
    def __init__(self, host: ModelHost, store: HistoryStore, conversation_id: int | None = None,
                 *, model_name: str | None = None, preset: str | None = None, system_prompt: str | None = None,
                 params: SamplingParams | None = None):
        self.host = host
        self.store = store
        if conversation_id is None:
            preset_obj = get_preset(preset) if preset else None
            base = params or SamplingParams()
            if preset_obj and params is None:
                base = base.updated(**preset_obj.sampling_params())
            conversation = store.create_conversation(
                model=model_name, preset=preset, system_prompt=system_prompt, params=base.as_dict()
            )
            conversation_id = conversation.id
        self.conversation_id = conversation_id
        self._current: ReplyStream | None = None
        self.last_outcome: ReplyOutcome | None = None
        self.augmenter: Augmenter | None = None

    # ------------------------------------------------------------ state
    @property
    def conversation(self) -> Conversation:
        return self.store.get_conversation(self.conversation_id)

    @property
    def params(self) -> SamplingParams:
        return SamplingParams().updated(**self.conversation.params) if self.conversation.params else SamplingParams()

    def set_params(self, **changes) -> SamplingParams:
        params = self.params.updated(**changes)
        self.store.update_conversation(self.conversation_id, params=params.as_dict())
        return params

    def set_preset(self, name: str | None) -> Preset | None:
        preset = get_preset(name) if name else None
        if preset is not None:
            params = self.params.updated(**preset.sampling_params())
        else:  # no preset: a JSON preset's grammar goes with it (a schema of one's own stays)
            params = self.params
            if params.grammar is not None and params.grammar == _json_object_grammar():
                params = params.updated(grammar=None, json_schema=None)
        self.store.update_conversation(self.conversation_id, preset=name, params=params.as_dict())
        return preset

    def set_system_prompt(self, text: str | None) -> None:
        self.store.update_conversation(self.conversation_id, system_prompt=text or None)

    def thread(self) -> list[StoredMessage]:
        return self.store.thread(self.conversation_id)

    # ---------------------------------------------------------- adapters
    @property
    def adapters(self) -> list[AdapterChoice]:
        """This conversation's LoRA adapters; remembered with it and switched on before each reply."""
        return [AdapterChoice.from_dict(d) for d in self.conversation.extra.get("lora", [])]

    def set_adapters(self, choices: Iterable[AdapterChoice]) -> list[AdapterChoice]:
        """Choose this conversation's adapters (scale 0 leaves one out). With a model loaded they are
        applied at once, so a missing or incompatible adapter is refused now and nothing is saved."""
        choices = [c for c in choices if c.scale > 0]
        if self.host.loaded is not None:
            self._apply(choices, remembered=False)
        else:
            LoraRegistry(self.store.db).resolve(choices, remembered=False)  # a typo is refused without a model too
        extra = dict(self.conversation.extra)
        extra.pop("lora", None)
        if choices:
            extra["lora"] = [c.as_dict() for c in choices]
        self.store.update_conversation(self.conversation_id, extra=extra)
        return choices

    def _apply(self, choices: list[AdapterChoice], remembered: bool = True) -> ApplyResult:
        resolved = LoraRegistry(self.store.db).resolve(choices, remembered=remembered)
        return self.host.adapters.apply(resolved).result()

    def _sync_adapters(self) -> None:
        """Switch the model to this conversation's adapters if another conversation left others on."""
        self._apply(self.adapters)

    def model_messages(self, thread: list[StoredMessage]) -> list[dict]:
        """What the model sees: system prompt (own, else the preset's), few-shot turns, the branch."""
        conversation = self.conversation
        preset = None
        if conversation.preset:
            try:
                preset = get_preset(conversation.preset)
            except InglenookError:
                preset = None  # a deleted user preset must not break an old conversation
        out: list[dict] = []
        system = conversation.system_prompt or (preset.system if preset else "")
        if not system and not preset:
            system = self.store.get_setting("default_system_prompt", DEFAULT_SYSTEM_PROMPT)
        if system:
            out.append({"role": "system", "content": system})
        if preset:
            out += [m for m in preset.messages() if m["role"] != "system"]
        edits = feedback_for(self.store, [m.id for m in thread if m.role == "assistant"])
        for message in thread:
            if message.role == "assistant" and (message.status == "error" or not message.content.strip()):
                continue
            # a reply the user edited goes on as the user's version (see engine.chat.feedback)
            out.append({"role": message.role, "content": preferred_text(message, edits.get(message.id))})
        return out

    # --------------------------------------------------------- actions
    def send(self, text: str, params: SamplingParams | None = None) -> Iterator[Event]:
        """Add a user message and stream the reply."""
        if not text.strip():
            raise InglenookError("The message is empty.")
        self._sync_adapters()  # before anything is saved: a missing adapter leaves the conversation as it was
        conversation = self.conversation
        user = self.store.add_message(self.conversation_id, "user", text)
        if conversation.title == "New chat":
            self.store.rename(self.conversation_id, _title_from(text))
        return self._reply(user, params)

    def regenerate(self, params: SamplingParams | None = None) -> Iterator[Event]:
        """A new answer to the last user message; the old answer stays as a sibling branch."""
        thread = self.thread()
        last_user = next((m for m in reversed(thread) if m.role == "user"), None)
        if last_user is None:
            raise HistoryError("There is nothing to regenerate yet: send a message first.")
        self._sync_adapters()
        return self._reply(last_user, params)

    def edit(self, message_id: int, new_text: str, params: SamplingParams | None = None) -> Iterator[Event]:
        """Replace an earlier user message and continue from there; the old branch is kept."""
        original = self.store.get_message(message_id)
        if original.conversation_id != self.conversation_id or original.role != "user":
            raise HistoryError("Only your own messages in this conversation can be edited.")
        self._sync_adapters()
        edited = self.store.add_message(self.conversation_id, "user", new_text, parent_id=original.parent_id)
        return self._reply(edited, params)

    def cancel(self) -> None:
        if self._current is not None:
            self._current.cancel()

    def _reply(self, parent: StoredMessage, params: SamplingParams | None) -> Iterator[Event]:
        params = params or self.params
        thread = self.store.thread(self.conversation_id, parent.id)
        messages = self.model_messages(thread)
        augmentation = self.augmenter(messages) if self.augmenter else Augmentation(messages)
        model_name = self.host.loaded.name if self.host.loaded else None
        extra = dict(augmentation.extra)
        if self.adapters:  # which style wrote this reply
            extra["lora"] = [c.as_dict() for c in self.adapters]
        reply = self.store.add_message(self.conversation_id, "assistant", "", parent_id=parent.id,
                                       status="streaming", model=model_name, params=params.as_dict(),
                                       extra=extra)
        if augmentation.reply is not None:
            stream = _fixed_reply(augmentation.reply)
        else:
            stream = self.host.chat(augmentation.messages, params)
        self._current = stream
        finish = augmentation.finish if augmentation.reply is None else None
        return self._pump(stream, reply, augmentation.events, finish)

    def _pump(self, stream: ReplyStream, reply: StoredMessage, before: list | None = None,
              finish: Callable[[str], dict[str, Any]] | None = None) -> Iterator[Event]:
        parts: list[str] = []
        saved_len = 0
        last_save = time.monotonic()
        finished: Finished | None = None
        notice: ContextNotice | None = None
        try:
            yield from before or ()
            for event in stream:
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    now = time.monotonic()
                    if now - last_save >= SAVE_INTERVAL_S:
                        text = "".join(parts)
                        if len(text) != saved_len:
                            self.store.update_message(reply.id, text)
                            saved_len, last_save = len(text), now
                elif isinstance(event, ContextNotice):
                    notice = event
                elif isinstance(event, Finished):
                    finished = event
                yield event
        finally:
            if finished is None:
                stream.cancel()
            text = "".join(parts)
            status = _status_for(finished)
            self.store.update_message(
                reply.id, text, status=status,
                timings=finished.timings.as_dict() if finished else None,
                error=finished.error if finished and finished.error else None,
                extra=_finished_extra(reply, text, finish) if status == "complete" else None,
            )
            self._current = None
            self.last_outcome = ReplyOutcome(self.store.get_message(reply.id), finished, notice)


def _json_object_grammar() -> str:
    from engine.structured import json_object_grammar

    return json_object_grammar()


def _fixed_reply(text: str) -> ReplyStream:
    """A reply that does not come from the model (e.g. "the documents do not cover this")."""
    from engine.events import Timings

    stream = ReplyStream()
    stream._put(TextDelta(text))
    stream._put(Finished("stop", Timings(0, 0, 0, 0, 0, 0), text=text))
    stream._put(_END)
    return stream


def _finished_extra(reply: StoredMessage, text: str, finish: Callable[[str], dict[str, Any]] | None) -> dict | None:
    """The reply's extra with what the augmentation adds after the fact; a failing hook costs its addition
    only (logged), never the reply."""
    if finish is None:
        return None
    try:
        return {**reply.extra, **finish(text)}
    except Exception:  # noqa: BLE001 - the reply is saved whatever the hook does
        log.exception("the augmentation's finish hook failed")
        return None


def _status_for(finished: Finished | None) -> str:
    if finished is None or finished.reason == "cancelled":
        return "stopped"
    if finished.extra.get("engine_crashed"):
        return "incomplete"  # the model process died mid-reply: what was streamed is kept
    if finished.reason == "error":
        return "error"
    return "complete"


def _title_from(text: str, width: int = 48) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"

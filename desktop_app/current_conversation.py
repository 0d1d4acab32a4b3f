"""Which conversation the window shows, as plain state over the core (no Qt).

Either a saved conversation (``session``, a ``ChatSession``) or a new chat that has no message yet
(``draft``: the preset, system prompt, sampling parameters and styles chosen for it, saved with the
first message). Methods raise the core's errors; ``ConversationControl`` and ``ReplyControl`` turn
them into messages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.chat.history import HistoryStore, StoredMessage
from engine.chat.session import ChatSession
from engine.errors import InglenookError
from engine.host import ModelHost
from engine.params import SamplingParams


class CurrentConversation:
    def __init__(self, host: ModelHost, store: HistoryStore, on_problem: Callable[[str], None]):
        self.host = host
        self.store = store
        self.on_problem = on_problem  # told when the Library's augmenter cannot be made (the chat goes on)
        self.session: ChatSession | None = None
        self.draft: dict[str, Any] = {}
        # the Library's hook: given a session, the augmenter that grounds its answers in documents
        # (``knowledge.answer.DocumentAugmenter``) or None; applied to every session the window opens
        self.augmenter_factory: Callable[[ChatSession], Any] | None = None

    @property
    def conversation_id(self) -> int | None:
        return self.session.conversation_id if self.session else None

    def clear(self) -> None:
        """A new chat, with nothing chosen yet."""
        self.session = None
        self.draft = {}

    def open(self, conversation_id: int) -> ChatSession:
        """Make a saved conversation current; raises HistoryError when there is no such conversation."""
        self.store.get_conversation(conversation_id)
        self.session = self._attach(ChatSession(self.host, self.store, conversation_id))
        return self.session

    def start(self, model_name: str | None) -> ChatSession:
        """Save the draft as a new conversation, which becomes current; raises InglenookError."""
        params = SamplingParams().updated(**self.draft.get("params", {}))
        session = ChatSession(self.host, self.store, model_name=model_name, preset=self.draft.get("preset"),
                              system_prompt=self.draft.get("system_prompt"), params=params)
        if self.draft.get("lora"):  # the styles chosen for the new chat (applied when the reply starts)
            self.store.update_conversation(session.conversation_id, extra={"lora": self.draft["lora"]})
        self.session = self._attach(session)
        self.draft = {}
        return self.session

    def _attach(self, session: ChatSession) -> ChatSession:
        if self.augmenter_factory is not None:
            try:
                session.augmenter = self.augmenter_factory(session)
            except InglenookError as exc:
                self.on_problem(str(exc))
        return session

    def thread(self) -> list[StoredMessage]:
        """The messages of the current branch; raises HistoryError."""
        return self.session.thread() if self.session is not None else []

    def show_branch(self, message_id: int) -> None:
        """Continue from another version of a message; raises HistoryError."""
        if self.session is not None:
            self.store.set_head(self.session.conversation_id, message_id)

    def record_model(self, model_name: str) -> None:
        """The conversation goes on with this model; raises HistoryError."""
        if self.session is not None:
            self.store.update_conversation(self.session.conversation_id, model=model_name)

    # ---------------------------------------------------------------- settings
    def settings(self) -> tuple[str | None, str | None, SamplingParams]:
        """(preset, own system prompt, sampling parameters); raises InglenookError."""
        if self.session is None:
            params = SamplingParams().updated(**self.draft.get("params", {}))
            return self.draft.get("preset"), self.draft.get("system_prompt"), params
        conversation = self.session.conversation
        return conversation.preset, conversation.system_prompt, self.session.params

    def set_preset(self, name: str | None) -> None:
        """Choose a preset (its sampling parameters come with it); raises InglenookError."""
        if self.session is not None:
            self.session.set_preset(name)
            return
        from engine.chat.presets import get_preset

        preset = get_preset(name) if name else None
        self.draft["preset"] = name
        if preset:
            self.draft["params"] = {**self.draft.get("params", {}), **preset.sampling_params()}

    def set_system_prompt(self, text: str | None) -> None:
        if self.session is None:
            self.draft["system_prompt"] = text or None
        else:
            self.session.set_system_prompt(text)

    def set_params(self, **changes: Any) -> None:
        """Change sampling parameters; raises InglenookError for a value out of range."""
        if self.session is None:
            params = SamplingParams().updated(**{**self.draft.get("params", {}), **changes})
            self.draft["params"] = params.as_dict()
        else:
            self.session.set_params(**changes)

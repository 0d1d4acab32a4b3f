"""Inglenook's faces: the command line (``desktop_app.cli``) and the PySide6 window.

The window is presentation and wiring only; the core (``engine``, ``knowledge``) does the work.
Controllers are thin Qt adapters over core state (they turn results into signals and errors into
messages); worker threads call the core and report through signals, never touching a widget.

Start and frame
* ``gui``              entry point of ``nook`` without a subcommand; explains a missing display or a bad PySide6
* ``main_window``      navigation rail, pages, notice bar, model status bar, state saved and restored

Controllers (``controller.AppController`` composes them; pages listen to their signals)
* ``controller``       ``AppController``: owns the stores and the model host; the rules that span concerns
* ``settings_control``  ``SettingsControl``: settings and remembered state (``DEFAULTS``)
* ``model_loader``     ``ModelLoader``: loading a model on the model thread, progress, cancel
* ``model_catalog``    ``ModelCatalog``: adding, removing, configuring models; GPU detection and plans
* ``download_control``  ``DownloadControl``: Hub downloads, resume or discard partial downloads
* ``current_conversation``  ``CurrentConversation``: the conversation or new-chat draft shown (plain, no Qt)
* ``conversation_control``  ``ConversationControl``: switching, settings, branches, rename, delete, export
* ``reply_control``    ``ReplyControl``: send, regenerate, edit, stop; the reply's events as signals
* ``lora_control``     ``LoraControl`` (``controller.lora``): a conversation's LoRA styles, add/convert/train adapters
* ``notices``, ``workers``  the ``error``/``info`` channel; ``ReplyWorker``, ``DownloadWorker``, ``Task``, ``TaskRunner``

Pages and widgets
* ``chat_page``        lays out the chat: conversation list, model picker, messages, composer, status line
* ``chat_view``, ``message_widget``, ``sources_block``  the messages, streamed incrementally; sources under answers
* ``composer``, ``settings_drawer``, ``lora_panel``  message box; conversation settings; "Styles (LoRA)" rows
* ``training_dialog``  training a style: settings, progress, live loss chart, cancel
* ``markdown_render``  Markdown (markdown-it-py) to Qt rich text, Pygments highlighting, streaming tail
* ``library_page``, ``chat_collections``  document collections and indexing; a chat's collections
* ``welcome_page``, ``models_page``, ``settings_page``
* ``qt_models``        Qt item models as thin read-only adapters over ``HistoryStore`` / ``ModelRegistry``
* ``theme``, ``i18n``, ``locations``, ``widgets``
"""

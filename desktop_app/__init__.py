"""Inglenook's faces: the command line (``desktop_app.cli``) and the PySide6 window.

The window is presentation and wiring only; the core (``engine``, ``knowledge``) does the work.

* ``gui``            entry point of ``nook`` without a subcommand; explains a missing display or a bad PySide6
* ``main_window``    navigation, pages, notice bar, model status bar, state saved/restored
* ``controller``     ``AppController``: owns the stores, the model host and the workers; Qt signals out
* ``workers``        ``ReplyWorker``, ``DownloadWorker``, ``Task``: threads that call the core, never widgets
* ``qt_models``      Qt item models as thin read-only adapters over ``HistoryStore`` / ``ModelRegistry``
* ``chat_page``      conversation list, model picker, composer, conversation settings, status line
* ``chat_view``      the messages; incremental streaming render; sources under answers
* ``lora_control``   ``LoraControl`` (``controller.lora``): a conversation's LoRA styles, add/convert/train adapters
* ``lora_panel``     the "Styles (LoRA)" rows (checkbox + scale slider) in the conversation settings
* ``training_dialog``  training a style: settings, progress, live loss chart, cancel
* ``markdown_render``  Markdown to Qt rich text, Pygments highlighting, streaming-safe blocks
* ``welcome_page``, ``models_page``, ``settings_page``, ``library_page`` (placeholder + seam)
* ``theme``, ``i18n``, ``locations``, ``widgets``
"""

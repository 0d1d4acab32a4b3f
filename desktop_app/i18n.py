"""Interface languages: English (the source strings) and Simplified Chinese, with Qt translations.

Every visible string goes through ``self.tr()`` / ``QCoreApplication.translate()``;
``scripts/build_translations.py`` collects them with ``pyside6-lupdate`` into
``resources/translations/inglenook_<lang>.ts`` and compiles ``.qm`` files with ``pyside6-lrelease``
(both ship in PySide6-Essentials). Switching language installs the translators; Qt then sends
every widget a ``LanguageChange`` event and each page calls its ``retranslate()``.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from engine.paths import resources_dir

LANGUAGES: dict[str, str] = {"en": "English", "zh_CN": "简体中文"}  # each in its own language
DEFAULT_LANGUAGE = "en"

_installed: list[QTranslator] = []


def translations_dir():
    return resources_dir() / "translations"


def install_language(language: str) -> bool:
    """Switch the interface language; returns False when the translation file is missing."""
    app = QCoreApplication.instance()
    for translator in _installed:
        app.removeTranslator(translator)
    _installed.clear()
    language = language if language in LANGUAGES else DEFAULT_LANGUAGE
    QLocale.setDefault(QLocale(language))
    app.setProperty("inglenook_language", language)
    if language == DEFAULT_LANGUAGE:
        return True
    ours = QTranslator(app)
    ok = ours.load(str(translations_dir() / f"inglenook_{language}.qm"))
    if ok:
        app.installTranslator(ours)
        _installed.append(ours)
    qt = QTranslator(app)  # Qt's own strings: standard buttons, file dialogs
    if qt.load(f"qtbase_{language}", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        app.installTranslator(qt)
        _installed.append(qt)
    return ok


def current_language() -> str:
    app = QCoreApplication.instance()
    return (app.property("inglenook_language") if app else None) or DEFAULT_LANGUAGE


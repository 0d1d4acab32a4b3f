"""Light and dark themes: a Fusion palette, one style sheet, and the Markdown colours to match."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.markdown_render import DARK, LIGHT, Palette
from engine.paths import resources_dir

THEMES = ("light", "dark")
DEFAULT_FONT_PT = 10
FONT_RANGE = (8, 22)


@dataclass(frozen=True)
class Colors:
    window: str
    surface: str
    sidebar: str
    text: str
    muted: str
    border: str
    accent: str
    accent_text: str
    accent_soft: str
    user_bubble: str
    error_bg: str
    error_text: str
    info_bg: str
    info_text: str
    warn: str
    selection: str


LIGHT_COLORS = Colors(
    window="#f7f5f2", surface="#ffffff", sidebar="#efebe5", text="#1f1d1a", muted="#6b6560",
    border="#ddd6cc", accent="#c2410c", accent_text="#ffffff", accent_soft="#fbe6d9",
    user_bubble="#f4e9df", error_bg="#fde8e8", error_text="#8a1c1c", info_bg="#e8f1fb", info_text="#1d4a7a",
    warn="#a15c00", selection="#f6d3bd",
)
DARK_COLORS = Colors(
    window="#1b1c1f", surface="#232428", sidebar="#17181b", text="#e8e6e3", muted="#a09a93",
    border="#35363c", accent="#f08a3c", accent_text="#1b1c1f", accent_soft="#3a2a1f",
    user_bubble="#2e2a27", error_bg="#4a1f1f", error_text="#ffd4d4", info_bg="#1f3148", info_text="#d4e6ff",
    warn="#f5b041", selection="#5a3a24",
)


def colors(theme: str) -> Colors:
    return DARK_COLORS if theme == "dark" else LIGHT_COLORS


def markdown_palette(theme: str) -> Palette:
    return DARK if theme == "dark" else LIGHT


# Fonts that cover Simplified Chinese and Latin alike, so mixed text has one weight and one baseline.
CJK_FAMILIES = ("Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei UI", "Microsoft YaHei", "PingFang SC",
                "WenQuanYi Micro Hei", "Noto Sans SC")


def ui_font_family(language: str) -> str | None:
    """The font family for ``language`` (None: keep the platform's default)."""
    if not language.startswith("zh"):
        return None
    available = set(QFontDatabase.families())
    return next((family for family in CJK_FAMILIES if family in available), None)


def apply_theme(app: QApplication, theme: str, font_pt: int, language: str = "en") -> None:
    """Style the whole application. Safe to call again to switch theme, font size or language."""
    theme = theme if theme in THEMES else "light"
    font_pt = max(FONT_RANGE[0], min(FONT_RANGE[1], int(font_pt or DEFAULT_FONT_PT)))
    if app.property("inglenook_default_family") is None:
        app.setProperty("inglenook_default_family", app.font().family())
    family = ui_font_family(language) or app.property("inglenook_default_family")
    if (app.property("inglenook_theme"), app.property("inglenook_font_pt")) == (theme, font_pt):
        if app.font().family() != family:  # only the language changed: a font, not a whole restyle
            font = QFont(app.font())
            font.setFamily(family)
            app.setFont(font)
        return
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    c = colors(theme)
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.surface, QPalette.ColorRole.AlternateBase: c.sidebar,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.surface,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.accent_text, QPalette.ColorRole.ToolTipBase: c.surface,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.Link: c.accent, QPalette.ColorRole.BrightText: c.error_text,
        QPalette.ColorRole.Mid: c.border, QPalette.ColorRole.Midlight: c.border,
        QPalette.ColorRole.Dark: c.border, QPalette.ColorRole.Shadow: c.border,
    }
    for role, value in roles.items():
        palette.setColor(role, QColor(value))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    app.setPalette(palette)
    font = QFont(app.font())
    font.setFamily(family)
    font.setPointSize(font_pt)
    app.setFont(font)
    app.setStyleSheet(style_sheet(c, font_pt, theme))
    app.setProperty("inglenook_theme", theme)
    app.setProperty("inglenook_font_pt", font_pt)


def current_theme() -> str:
    app = QApplication.instance()
    return (app.property("inglenook_theme") if app else None) or "light"


def _icon(name: str, theme: str) -> str:
    return (resources_dir() / "icons" / f"{name}-{theme}.svg").as_posix()


def style_sheet(c: Colors, pt: int, theme: str = "light") -> str:
    """The application's style sheet: the theme's colours and ``pt``-point text."""
    return "\n" + "".join((_frame_rules(c, pt), _button_rules(c), _input_rules(c, theme), _list_rules(c),
                           _chrome_rules(c)))


def _frame_rules(c: Colors, pt: int) -> str:
    """Pages, navigation, headings and labels, cards, panels, message bubbles, notices."""
    big, small = round(pt * 1.6), max(pt - 1, 7)
    return f"""QMainWindow, QWidget#page {{ background: {c.window}; }}
QWidget#navRail {{ background: {c.sidebar}; border-right: 1px solid {c.border}; }}
QToolButton#navButton {{ border: none; border-radius: 8px; padding: 8px 6px; color: {c.muted};
    text-align: center; }}
QToolButton#navButton:hover {{ background: {c.accent_soft}; color: {c.text}; }}
QToolButton#navButton:checked {{ background: {c.accent_soft}; color: {c.accent}; font-weight: bold; }}
QLabel#appName {{ color: {c.accent}; font-weight: bold; }}
QLabel#h1 {{ font-size: {big}pt; font-weight: bold; }}
QLabel#h2 {{ font-size: {round(pt * 1.25)}pt; font-weight: bold; }}
QLabel#muted, QLabel#statusLine {{ color: {c.muted}; }}
QLabel#small {{ color: {c.muted}; font-size: {small}pt; }}
QLabel#warning {{ color: {c.warn}; }}
QLabel#roleLabel {{ font-weight: bold; }}
QLabel#tag {{ color: {c.warn}; font-size: {small}pt; }}
QFrame#card {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 12px; }}
QFrame#sidebar {{ background: {c.sidebar}; border-right: 1px solid {c.border}; }}
QFrame#drawer {{ background: {c.surface}; border-left: 1px solid {c.border}; }}
QFrame#composer {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 12px; }}
QFrame#userBubble {{ background: {c.user_bubble}; border-radius: 12px; }}
QFrame#assistantMessage {{ background: transparent; }}
QFrame#notice[level="error"] {{ background: {c.error_bg}; border-radius: 8px; }}
QFrame#notice[level="error"] QLabel {{ color: {c.error_text}; }}
QFrame#notice[level="info"] {{ background: {c.info_bg}; border-radius: 8px; }}
QFrame#notice[level="info"] QLabel {{ color: {c.info_text}; }}
"""


def _button_rules(c: Colors) -> str:
    """Push buttons (plain, primary, flat) and menu buttons."""
    return f"""QPushButton {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px; padding: 5px 14px; }}
QPushButton:hover {{ border-color: {c.accent}; }}
QToolButton#menuButton {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px;
    padding: 4px 22px 4px 10px; }}
QToolButton#menuButton:hover {{ border-color: {c.accent}; }}
QToolButton#menuButton::menu-indicator {{ subcontrol-position: right center; subcontrol-origin: padding; right: 6px; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: {c.accent_text}; border: 1px solid {c.accent}; font-weight: bold; }}
QPushButton#primary:disabled {{ background: {c.border}; border-color: {c.border}; color: {c.muted}; }}
QPushButton#flat, QToolButton#flat {{ background: transparent; border: none; color: {c.muted}; padding: 2px 6px; }}
QPushButton#flat:hover, QToolButton#flat:hover {{ color: {c.accent}; }}
QPushButton#thumb {{ background: transparent; border: 1px solid transparent; border-radius: 4px; padding: 1px 4px; }}
QPushButton#thumb:hover {{ border-color: {c.border}; }}
QPushButton#thumb:checked {{ background: {c.accent_soft}; border-color: {c.accent}; }}
"""


def _input_rules(c: Colors, theme: str) -> str:
    """Text fields, spin boxes and combo boxes, with the theme's chevrons."""
    down, up = _icon("chevron-down", theme), _icon("chevron-up", theme)
    return f"""QPlainTextEdit#composerEdit {{ background: transparent; border: none; }}
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {c.surface};
    border: 1px solid {c.border}; border-radius: 6px; padding: 4px 6px; selection-background-color: {c.selection};
    selection-color: {c.text}; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{ border-color: {c.accent}; }}
QComboBox {{ padding-right: 24px; }}
QComboBox::drop-down {{ subcontrol-origin: padding; subcontrol-position: center right; width: 22px; border: none; }}
QComboBox::down-arrow {{ image: url({down}); width: 12px; height: 12px; }}
QComboBox QAbstractItemView {{ background: {c.surface}; border: 1px solid {c.border}; selection-background-color: {c.accent_soft};
    selection-color: {c.text}; outline: 0; }}
QSpinBox, QDoubleSpinBox {{ padding-right: 20px; }}
QSpinBox::up-button, QDoubleSpinBox::up-button {{ subcontrol-origin: border; subcontrol-position: top right; width: 18px;
    border: none; border-left: 1px solid {c.border}; border-top-right-radius: 6px; }}
QSpinBox::down-button, QDoubleSpinBox::down-button {{ subcontrol-origin: border; subcontrol-position: bottom right;
    width: 18px; border: none; border-left: 1px solid {c.border}; border-bottom-right-radius: 6px; }}
QSpinBox::up-button:hover, QDoubleSpinBox::up-button:hover, QSpinBox::down-button:hover,
QDoubleSpinBox::down-button:hover {{ background: {c.accent_soft}; }}
QSpinBox::up-arrow, QDoubleSpinBox::up-arrow {{ image: url({up}); width: 9px; height: 9px; }}
QSpinBox::down-arrow, QDoubleSpinBox::down-arrow {{ image: url({down}); width: 9px; height: 9px; }}
"""


def _list_rules(c: Colors) -> str:
    """Lists, tables, headers, progress bars and group boxes."""
    return f"""QListView, QListWidget {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px; outline: 0; }}
QListView#conversations {{ background: transparent; border: none; }}
QListView::item, QListWidget::item {{ padding: 6px 8px; border-radius: 6px; }}
QListView::item:selected, QListWidget::item:selected {{ background: {c.accent_soft}; color: {c.text}; }}
QListView::item:hover, QListWidget::item:hover {{ background: {c.accent_soft}; }}
QTableView {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px; outline: 0;
    gridline-color: {c.border}; selection-background-color: {c.accent_soft}; selection-color: {c.text}; }}
QTableView::item {{ padding: 4px 6px; }}
QHeaderView::section {{ background: {c.sidebar}; color: {c.muted}; border: none;
    border-bottom: 1px solid {c.border}; padding: 5px 8px; }}
QProgressBar {{ background: {c.sidebar}; border: 1px solid {c.border}; border-radius: 6px; text-align: center;
    min-height: 14px; max-height: 16px; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 5px; }}
QGroupBox {{ border: 1px solid {c.border}; border-radius: 10px; margin-top: 0px; padding: 30px 10px 10px 10px;
    background: {c.surface}; }}
QGroupBox::title {{ subcontrol-origin: padding; subcontrol-position: top left; left: 14px; top: 7px;
    padding: 0px 0px 3px 0px; color: {c.text}; font-weight: bold; }}
"""


def _chrome_rules(c: Colors) -> str:
    """Menus, scroll bars, the status bar, tooltips and splitters."""
    return f"""QMenu {{ background: {c.surface}; border: 1px solid {c.border}; padding: 4px; }}
QMenu::item {{ padding: 5px 18px; border-radius: 4px; }}
QMenu::item:selected {{ background: {c.accent_soft}; color: {c.text}; }}
QScrollBar:vertical {{ background: transparent; width: 10px; margin: 2px; }}
QScrollBar::handle:vertical {{ background: {c.border}; border-radius: 4px; min-height: 30px; }}
QScrollBar::handle:vertical:hover {{ background: {c.muted}; }}
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical {{ height: 0; }}
QScrollBar::add-page:vertical, QScrollBar::sub-page:vertical {{ background: transparent; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QStatusBar {{ background: {c.sidebar}; color: {c.muted}; border-top: 1px solid {c.border}; }}
QStatusBar QLabel {{ color: {c.muted}; padding: 2px 10px; }}
QTextBrowser {{ background: transparent; border: none; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; }}
QSplitter::handle {{ background: {c.border}; }}
"""


def begin_card_painting(widget):
    """A painter on ``widget`` with the card look already drawn (surface and a hairline border), and
    the theme's colours: how the hand-painted charts start."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QColor, QPainter, QPen

    c = colors(current_theme())
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(widget.rect(), QColor(c.surface))
    painter.setPen(QPen(QColor(c.border)))
    painter.drawRect(QRectF(widget.rect()).adjusted(0.5, 0.5, -0.5, -0.5))
    return painter, c

"""Light and dark themes: a Fusion palette, one style sheet, and the Markdown colours to match."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

from desktop_app.markdown_render import DARK, LIGHT, Palette

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


def apply_theme(app: QApplication, theme: str, font_pt: int) -> None:
    """Style the whole application. Safe to call again to switch theme or font size."""
    theme = theme if theme in THEMES else "light"
    font_pt = max(FONT_RANGE[0], min(FONT_RANGE[1], int(font_pt or DEFAULT_FONT_PT)))
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
    font.setPointSize(font_pt)
    app.setFont(font)
    app.setStyleSheet(style_sheet(c, font_pt))
    app.setProperty("inglenook_theme", theme)
    app.setProperty("inglenook_font_pt", font_pt)


def current_theme() -> str:
    app = QApplication.instance()
    return (app.property("inglenook_theme") if app else None) or "light"


def style_sheet(c: Colors, pt: int) -> str:
    big, small = round(pt * 1.6), max(pt - 1, 7)
    return f"""
QMainWindow, QWidget#page {{ background: {c.window}; }}
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
QPushButton {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px; padding: 5px 14px; }}
QPushButton:hover {{ border-color: {c.accent}; }}
QPushButton:disabled {{ color: {c.muted}; background: {c.window}; }}
QPushButton#primary {{ background: {c.accent}; color: {c.accent_text}; border: 1px solid {c.accent}; font-weight: bold; }}
QPushButton#primary:disabled {{ background: {c.border}; border-color: {c.border}; color: {c.muted}; }}
QPushButton#flat, QToolButton#flat {{ background: transparent; border: none; color: {c.muted}; padding: 2px 6px; }}
QPushButton#flat:hover, QToolButton#flat:hover {{ color: {c.accent}; }}
QPlainTextEdit#composerEdit {{ background: transparent; border: none; }}
QLineEdit, QPlainTextEdit, QSpinBox, QDoubleSpinBox, QComboBox {{ background: {c.surface};
    border: 1px solid {c.border}; border-radius: 6px; padding: 4px 6px; selection-background-color: {c.selection};
    selection-color: {c.text}; }}
QLineEdit:focus, QPlainTextEdit:focus, QSpinBox:focus, QDoubleSpinBox:focus, QComboBox:focus {{ border-color: {c.accent}; }}
QListView, QTableView, QListWidget {{ background: transparent; border: none; outline: 0; }}
QListView::item, QListWidget::item {{ padding: 7px 8px; border-radius: 6px; }}
QListView::item:selected, QListWidget::item:selected {{ background: {c.accent_soft}; color: {c.text}; }}
QListView::item:hover, QListWidget::item:hover {{ background: {c.accent_soft}; }}
QTableView {{ background: {c.surface}; border: 1px solid {c.border}; border-radius: 8px;
    gridline-color: {c.border}; selection-background-color: {c.accent_soft}; selection-color: {c.text}; }}
QHeaderView::section {{ background: {c.sidebar}; color: {c.muted}; border: none;
    border-bottom: 1px solid {c.border}; padding: 5px 8px; }}
QProgressBar {{ background: {c.sidebar}; border: 1px solid {c.border}; border-radius: 6px; text-align: center;
    min-height: 14px; max-height: 16px; }}
QProgressBar::chunk {{ background: {c.accent}; border-radius: 5px; }}
QGroupBox {{ border: 1px solid {c.border}; border-radius: 10px; margin-top: 14px; padding: 10px 8px 8px 8px;
    background: {c.surface}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: 12px; padding: 0 4px; color: {c.muted}; font-weight: bold; }}
QScrollArea {{ border: none; background: transparent; }}
QScrollArea > QWidget > QWidget {{ background: transparent; }}
QStatusBar {{ background: {c.sidebar}; color: {c.muted}; border-top: 1px solid {c.border}; }}
QTextBrowser {{ background: transparent; border: none; }}
QToolTip {{ background: {c.surface}; color: {c.text}; border: 1px solid {c.border}; }}
QSplitter::handle {{ background: {c.border}; }}
"""

"""Inglenook's shipped data: prompt presets, icons, styles and translations.

Installed as the package ``inglenook_resources`` (see pyproject.toml), so an installed wheel carries
it; ``engine.paths.resources_dir()`` finds it through the import system, not through a path guess.
"""

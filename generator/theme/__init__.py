"""Themes: the template and static folders of a theme, its sandboxed Jinja environment,
the filters templates use, and the Markdown renderer (sanitized)."""

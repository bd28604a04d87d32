"""Renderers: terminal tables and the self-contained HTML report."""

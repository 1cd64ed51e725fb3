"""Cascades shipped with reflexng (installed as ``reflexng._cascades``).

Each ``*.py`` file here is one cascade, loaded by ``reflexng.cascade.load(name)``; parameter
sets live beside it as ``<name>.params.yaml`` (or ``.toml``); organiser test specs live in
``tests/<name>*.json``.
"""

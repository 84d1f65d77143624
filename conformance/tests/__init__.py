"""Test modules: every ``t_*.py`` here registers its tests on import."""
import importlib
import os

for _name in sorted(os.listdir(os.path.dirname(__file__))):
    if _name.startswith("t_") and _name.endswith(".py"):
        importlib.import_module(f"{__name__}.{_name[:-3]}")

"""Where ``handler: "module:function"`` is looked for: beside the menu file, then the cwd.

A menu file and its handlers' module usually sit in one folder (``mybiz.yaml`` and
``mybiz.py``), and ``ivrkit run mybiz.yaml`` is an installed script whose ``sys.path``
holds neither that folder nor the current one. As ``python script.py`` and ``python -m``
add the script's folder or the cwd to ``sys.path``, a handler module that is not
importable as things are is looked for in the menu file's folder, then the cwd; a
folder where it is found stays on ``sys.path`` (the handler may import more of its
package while a call runs). Only a module that is otherwise missing triggers this, so
a menu folder never shadows an installed or standard module. When the module is
still not found, the error names the folders that were searched.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType


def handler_folders(menu_source: str) -> list[Path]:
    """The folders put before the installed packages: the menu file's, then the cwd."""
    folders = []
    menu = Path(menu_source)
    if menu.is_file():
        folders.append(menu.resolve().parent)
    cwd = Path(os.getcwd()).resolve()
    if cwd not in folders:
        folders.append(cwd)
    return folders


def import_handler_module(module_name: str, menu_source: str) -> ModuleType:
    """Import ``module_name``; if it is missing, again with the handler folders on the path.

    Raises ModuleNotFoundError whose message says where it looked when the module (or a
    package on its way) is not there; other import errors pass through unchanged.
    """
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not _is_the_module(exc, module_name):
            raise  # the handler's module was found; something it imports is missing
    folders = handler_folders(menu_source)
    added = [str(f) for f in folders if str(f) not in sys.path]
    sys.path[:0] = added
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        for folder in added:
            sys.path.remove(folder)
        if not _is_the_module(exc, module_name):
            raise
        missing = exc.name or module_name
        where = ", ".join(str(f) for f in folders)
        top = missing.partition(".")[0]
        raise ModuleNotFoundError(
            f"No module named {missing!r} (looked in the installed packages, then {where}; "
            f"put {top}.py or a {top}/ package beside the menu file)",
            name=missing,
        ) from exc
    except BaseException:
        for folder in added:
            sys.path.remove(folder)
        raise


def _is_the_module(exc: ModuleNotFoundError, module_name: str) -> bool:
    """Whether ``exc`` says ``module_name`` itself (or a package on its way) is missing."""
    missing = exc.name or module_name
    return module_name == missing or module_name.startswith(missing + ".")

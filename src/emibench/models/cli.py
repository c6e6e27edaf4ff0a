"""``emibench models``: every model name a config may use, where it comes from, and its keys."""

from __future__ import annotations

import argparse
import inspect


def register(sub: argparse._SubParsersAction) -> None:
    """Add this stage's subcommands to ``sub``."""
    p = sub.add_parser(
        "models",
        help="list the Stage II models a config may name (built-in and installed plugins)",
        description="Print every model name of the registry: the built-ins, the models installed "
        "packages register under the entry-point group 'emibench.models', and any import paths "
        "given; with each, its import path and config keys with their defaults "
        "(docs/own-system.md).",
    )
    p.add_argument(
        "names", nargs="*", help="model names or import paths (module:Class) to show; all if none"
    )
    p.set_defaults(func=run_models)


def run_models(args: argparse.Namespace) -> int:
    from emibench.models.registry import MODELS, available_models, import_path, model_options

    names = args.names or list(available_models())
    for name in names:
        origin = "built-in" if name in MODELS else "import path" if ":" in name else "plugin"
        keys = ", ".join(
            k if v is inspect.Parameter.empty else f"{k}={v!r}"
            for k, v in model_options(name).items()
        )
        print(f"{name}  ({origin}: {import_path(name)})\n    keys: {keys or '-'}")
    return 0

"""auth commands."""

import typer

from gongshu.cli_support import bi

app = typer.Typer(help=bi("auth"), no_args_is_help=True)

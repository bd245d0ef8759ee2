"""demo commands."""

import typer

from gongshu.cli_support import bi

app = typer.Typer(help=bi("demo"), no_args_is_help=True)

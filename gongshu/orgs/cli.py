"""orgs commands."""

import typer

from gongshu.cli_support import bi

app = typer.Typer(help=bi("orgs"), no_args_is_help=True)

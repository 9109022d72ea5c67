"""The start-up reference: a one-command Typer app (an argument and an option, like any real command)."""

from typing import Annotated

import typer


def hello(
    name: Annotated[str, typer.Argument(help="Whom to greet.")],
    loud: Annotated[bool, typer.Option("--loud", help="Shout.")] = False,
) -> None:
    """Greet someone."""
    print(f"Hello {name}{'!' if loud else '.'}")


if __name__ == "__main__":
    typer.run(hello)

"""Renders a terminal capture (ANSI text, e.g. from `tmux capture-pane -e`) as an SVG image.

tmux new-session -d -s demo -x 110 -y 16 ".venv/bin/llamacloud-batch demo; sleep 30"
sleep 7; tmux capture-pane -t demo -p -e > /tmp/demo.ansi
.venv/bin/python docs/screenshot.py /tmp/demo.ansi docs/demo.svg
"""

import sys

from rich.console import Console
from rich.text import Text


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as f:
        lines = f.read().rstrip("\n").splitlines()
    console = Console(record=True, width=max(len(Text.from_ansi(line)) for line in lines) + 1)
    console.print("$ make demo", style="bold")
    for line in lines:
        console.print(Text.from_ansi(line), soft_wrap=True)
    console.save_svg(target, title="llamacloud-batch demo")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

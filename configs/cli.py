"""The command-line parser of every entry point: one-line errors, flag suggestions, defaults once.

argparse's own error prints the whole usage block (20 lines for infer.py) above the message; a typo
of `--alpha` deserves one line that names the flag it was probably meant to be (configs/suggest.py,
the rule every entry point shares). Help texts show each default once: from the help text when it
names its default, else appended.

Exit codes of every command (docs/exit_codes.md): 0 done; 1 it ran, but some inputs failed or the
run stopped (listed on stderr); 2 it could not start (a bad flag, config key or value, a missing or
unreadable file); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Callable

from configs.suggest import closest, did_you_mean

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class HelpFormatter(argparse.HelpFormatter):
    """Each default shown once; the description's and epilog's line breaks kept, long lines wrap."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        shown = "%(default)" in text or "default" in text.lower()
        empty = (
            action.default in (None, False, argparse.SUPPRESS, [], "") or not action.option_strings
        )
        if (
            shown
            or empty
            # a switch's default is the opposite of the switch (--no-channels-last: True)
            or isinstance(action, (argparse._StoreConstAction, argparse._VersionAction))
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = []
        for line in text.splitlines():
            lead = indent + " " * (len(line) - len(line.lstrip()))
            lines.append(
                textwrap.fill(line.strip(), width, initial_indent=lead, subsequent_indent=lead)
                or ""
            )
        return "\n".join(lines)


class ArgumentParser(argparse.ArgumentParser):
    """argparse.ArgumentParser whose errors are one line (`...; did you mean --alpha?`), exit 2."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def flags(self) -> list[str]:
        return [s for a in self._actions for s in a.option_strings if s.startswith("--")]

    def suggest(self, unknown: str) -> str | None:
        """The parser's flag closest to the mistyped `unknown`, or None when none is close."""
        return closest(unknown.split("=", 1)[0], self.flags())

    def parse_known_args(self, args=None, namespace=None):
        self._argv = list(sys.argv[1:] if args is None else args)  # for error()'s hints
        return super().parse_known_args(args, namespace)

    def _hints(self, message: str) -> list[str]:
        """configs.suggest's rule on what was typed: each unknown flag (also when argparse only
        says that a required one is missing), a config override typed as a flag, and an invalid
        subcommand or choice."""
        hints, argv = [], getattr(self, "_argv", [])
        for i, token in enumerate(argv):
            name = token.split("=", 1)[0]
            known = any(f.startswith(name) for f in self.flags())  # argparse takes prefixes
            if not token.startswith("--") or known or token == "--":
                continue
            if "." in name:
                after = argv[i + 1 : i + 2] or ["VALUE"]
                value = token.split("=", 1)[1] if "=" in token else after[0]
                hints.append(f"write {name[2:]}={value} (a config override has no dashes)")
            elif hint := did_you_mean(name, self.flags()):
                hints.append(hint)
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice and (hint := did_you_mean(choice[1], re.findall(r"'([^']*)'", choice[2]))):
            hints.append(hint)
        return hints

    def error(self, message: str):
        hint = " ".join(self._hints(message)) or f"`{self.prog} --help` lists every option."
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)}; {hint}\n")


def add_device_flag(parser: argparse.ArgumentParser, default: str = "auto") -> None:
    """`--device`, the same for every command (runtime.device.resolve_device reads it)."""
    parser.add_argument(
        "--device",
        default=default,
        help="auto (cuda when available) or a torch device: cpu, cuda, cuda:1",
    )


def _one_line(message: str) -> str:
    return re.sub(r"\s*\n\s*", " ", message).strip()


def run_command(
    work: Callable[[list[str]], object], argv: list[str] | None, cannot_start: tuple[type, ...]
) -> int:
    """`work(argv)` as a command's main(): an error of the `cannot_start` kinds (a bad checkpoint,
    config or value) is one line on stderr and EXIT_USAGE; otherwise EXIT_OK."""
    try:
        work(sys.argv[1:] if argv is None else argv)
    except cannot_start as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK

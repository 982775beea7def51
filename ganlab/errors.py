"""User-facing errors: the CLI prints them one line each, without a traceback."""


class GanlabError(Exception):
    """Bad input from the user (recipe, data, plugin, flag): exit status 2."""

    exit_code = 2

    def __init__(self, message, *more):
        super().__init__(message)
        self.lines = [message, *more]

    def __str__(self):
        return "\n".join(self.lines)


class TrainingDiverged(GanlabError):
    """A loss became NaN or infinite: the run stopped, its last good checkpoint kept."""

    exit_code = 1


def one_line(exc: BaseException) -> str:
    """An exception as one line: ganlab's own messages as they are, others with their type."""
    text = " ".join(str(exc).split())
    if isinstance(exc, GanlabError):
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

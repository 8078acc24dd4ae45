"""Errors that Pygent reports to a person instead of a traceback."""


class PygentError(Exception):
    """Base of every error Pygent expects and explains."""


class ModelError(PygentError):
    """The model could not be reached or refused the request; the conversation is kept."""


class ConfigError(PygentError):
    """A setting has a value Pygent cannot use."""

"""One module per outside system: models, sandboxes, the history log."""

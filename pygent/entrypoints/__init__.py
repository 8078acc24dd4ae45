"""What a person starts: the ``pygent`` CLI and the ``pygent-ui`` web app."""

"""Use cases: the agent loop, the tool registry, prompts, commands and settings."""

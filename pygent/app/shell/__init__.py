"""How bash reads a command, for the deny rules: its words, its syntax, the programs it starts."""

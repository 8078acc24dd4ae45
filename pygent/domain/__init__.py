"""Pure data and rules of Pygent: no I/O, standard library only."""

# The colour names are kept British in the code on purpose.
DEFAULT_COLOUR = "blue"
COLOURS = ["red", "blue", "green"]  # colour choices

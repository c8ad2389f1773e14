"""Pure rules of the two-part spread executor (seed 001): phases, balancing, credit search, learning."""

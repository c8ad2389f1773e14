"""Pure options domain: legs, structures, pricing, payoffs. No Ray, no clock, no I/O."""

"""Pre-trade risk checks (the risk engine's home): pure functions of an order and the book that return a reason
string when the order must be refused, or None; the gateway's path turns a reason into a typed denial."""

"""The simulated market: paths, volatility surface, chains, spreads, exchange, paper exchange."""

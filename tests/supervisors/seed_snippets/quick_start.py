# The seed's (001) Quick Start, verbatim except its import lines:
#   `from execution import create_arbitrage_executor` -> `from supervisors.executor import ...`
#   plus `from adapters.seed_broker import broker` (the paper exchange at $SPREADWRIGHT_PAPER_URL).
from adapters.seed_broker import broker
from supervisors.executor import create_arbitrage_executor


# Define broker callbacks
def submit_order(symbol, legs, quantity, limit_price, expiration):
    """Submit order to broker, return order_id."""
    return broker.place_spread_order(symbol, legs, quantity, limit_price)

def get_quotes(symbol, expiration):
    """Get current option quotes for symbol/expiration."""
    return broker.get_option_chain(symbol, expiration)

def get_price(symbol):
    """Get current underlying price."""
    return broker.get_quote(symbol).last

# Create executor
executor = create_arbitrage_executor(
    order_callback=submit_order,
    quote_callback=get_quotes,
    underlying_callback=get_price,
    min_fill_rate=0.25,
    cancel_after_seconds=2.5,
    min_delay=3.0,
    max_delay=15.0,
    max_contracts=10
)

# Add symbols to trade
from datetime import datetime, timedelta

expirations = [
    datetime.now() + timedelta(days=30),
    datetime.now() + timedelta(days=60),
    datetime.now() + timedelta(days=90),
]

executor.add_symbol("AAPL", expirations)
executor.add_symbol("MSFT", expirations)
executor.add_symbol("SPY", expirations)

# Start trading
executor.start()

# Monitor status
status = executor.get_status()
print(f"Active traders: {len(status['traders'])}")
print(f"Net premium: ${status['position_summary']['net_premium']:.2f}")

# Stop when done
executor.stop()

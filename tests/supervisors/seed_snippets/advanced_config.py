# The seed's (001) Advanced Configuration, verbatim except its import lines (`from execution import`
# -> `from supervisors.executor import`, plus the paper broker). Its callbacks are the Quick Start's.
from adapters.seed_broker import broker
from supervisors.executor import (
    ArbitrageExecutor,
    CreditMaximizer,
    PositionBalancer,
    SizingParameters,
    TimingParameters,
)


def submit_order(symbol, legs, quantity, limit_price, expiration):
    """Submit order to broker, return order_id."""
    return broker.place_spread_order(symbol, legs, quantity, limit_price)

def get_quotes(symbol, expiration):
    """Get current option quotes for symbol/expiration."""
    return broker.get_option_chain(symbol, expiration)

def get_price(symbol):
    """Get current underlying price."""
    return broker.get_quote(symbol).last

# Custom timing - very conservative
timing = TimingParameters(
    cancel_after_seconds=2.0,        # Quick cancel
    min_delay_between_attempts=5.0,  # Longer min delay
    max_delay_between_attempts=20.0, # Longer max delay
    random_delay_factor=0.4,         # More randomization
    open_auction_delay_multiplier=3.0,  # Very cautious at open
    close_auction_delay_multiplier=2.0,
)

# Custom sizing - aggressive
sizing = SizingParameters(
    min_contracts=1,
    max_contracts=20,
    current_contracts=1,
    target_fill_rate=0.40,           # Lower target
    size_increase_threshold=0.60,    # Increase earlier
    size_decrease_threshold=0.20,    # Decrease later
)

# Custom position balancing
balancer = PositionBalancer(
    max_imbalance=3,                 # Tighter balance requirement
    force_balance_at_close=True,
)

# Custom credit maximization
credit_max = CreditMaximizer(
    min_credit_threshold=0.05,       # Minimum $0.05 net credit
    max_spread_width=15,             # Allow wider spreads
    prefer_atm=True,                 # Prefer ATM for liquidity
)

# Build executor manually
executor = ArbitrageExecutor(
    order_callback=submit_order,
    quote_callback=get_quotes,
    underlying_callback=get_price,
    timing=timing,
    sizing=sizing,
    min_fill_rate=0.25,
    optimal_expiry_range=(30, 180),
)

# Override components
executor.balancer = balancer
executor.credit_maximizer = credit_max

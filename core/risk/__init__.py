"""The risk engine's pure parts: pre-trade checks that return a refusal (a code and a reason) or None
(`checks`), what the session holds and has working as the gate sees it (`exposure`), the trading states
(`states`) and the kill switch's triggers (`killswitch`). The RiskGate component (actors.risk_gate) turns a
refusal into an `OrderDenied` event."""

"""Strategy logic (the strategists' home): indicators, regimes, consensus and structure generators, pure
functions over arrays that strategist components in `actors/` call."""

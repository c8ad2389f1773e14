"""Components (plain classes that react to messages and are told the time) and the runtimes that deliver them."""

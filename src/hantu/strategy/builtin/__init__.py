"""The strategies shipped with Hantu Quant (registered in `hantu.strategy.registry.BUILTIN`)."""

"""Early warning: observations in, Siaga rules, CAP 1.2 alerts, subscriptions, delivery, SOPs.

See ``docs/architecture.md`` (Early warning) for the chain and the module of each stage.
"""

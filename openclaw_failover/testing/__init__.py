"""Test helpers that ship with the product: fake clock, fault-injecting fake providers."""

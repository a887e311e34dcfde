"""What every layer shares: settings read once from the environment, and the errors a user can
act on. Imports nothing else of ShopLens."""

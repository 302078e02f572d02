"""The stores the library talks to; nothing outside this package imports their clients."""

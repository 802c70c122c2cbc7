"""The agent console: login and access (auth), then the pages and the JSON API built on them."""

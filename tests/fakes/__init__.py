"""Local stand-ins for outside services, served over real HTTP on loopback (never a live service)."""

"""Skills: a verified session kept as an Agent Skills folder, replayed exactly or by a
fast model, certified (see README.md)."""

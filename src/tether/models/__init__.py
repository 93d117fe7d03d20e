"""The model seam (`types.Model`) and the adapters behind it (see README.md)."""

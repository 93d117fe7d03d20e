"""`tether demo`: tether's real workflow on a sample project with the embedded model."""

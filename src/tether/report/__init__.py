"""Sessions read back from their events: status, the sessions list, the HTML report."""

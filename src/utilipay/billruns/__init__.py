"""The monthly bill run of a hosted biller: usage from readings, priced by its tariffs."""

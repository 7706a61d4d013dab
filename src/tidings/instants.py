"""Instants are UTC epoch milliseconds everywhere in Tidings; the spans and bounds every package
computes them with."""

DAY_MS = 86_400_000

# Instants callers give (StartTime, EndTime, ...) end in year 9999: a day of it in every time
# zone, and far inside the 64-bit integers the databases store.
LATEST_MS = 253402128000000  # 9999-12-30T00:00:00Z

# The longest window an analytics query may span, in days; counters are kept at least this long.
ANALYTICS_WINDOW_DAYS = 90

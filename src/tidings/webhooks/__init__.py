"""Delivery events sent to an app's own backend as signed webhooks.

``events`` names the event types and builds their payloads; ``outbox`` writes events owed to
subscribed endpoints inside the transactions that make them happen; ``sender`` claims what is
due and POSTs it in signed batches (``signing``), retrying with backoff (``backoff``);
``service`` manages endpoints for the CLI and the console. docs/webhooks.md is the user's guide.
"""

"""The only code that imports redis. Redis holds what must outlive a request but not the catalog:
user profiles, the query and feature logs, the training run's record, rate-limit counters, the
console's sessions and searched photos, the scrolls handed out, the runs started. Key names are in
``keys.py``; every failure is translated in one place (``errors.redis_errors``) into
ServiceUnavailableError, a 503 with Retry-After in the API, unless the use says otherwise:

| use | on a Redis failure |
|---|---|
| rate limits (``rate_limits``) | fail open: the call is not counted, nobody is limited |
| user profiles on /search (``users``) | the search is served unpersonalised, ``degraded`` says why |
| events, profile reads and deletes (``users``) | 503: nothing is written to the events index first |
| feature log on /search (``query_log``) | the search is served, ``degraded`` says so |
| query log, console sessions and photos, scrolls, run log | 503 |
| training record (``training_state``) | ServiceUnavailableError, which the training step retries |
| the Celery broker (``queue.py``) | tasks retry (``errors.TRANSIENT_ERRORS``); the reconciler queues again |
| health (``client.ping``) | ``/health`` answers 503 with the error |
"""

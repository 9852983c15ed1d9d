/* A C program's use of the client library (include/sluice/sluice.h), compiled as C11.
 * c_api_test.cc drives it against a real sluiced. */
#include <stdio.h>
#include <string.h>

#include "sluice/sluice.h"

#define ROWS 100

/* Opens a client, commits `batches` sample batches (batch b: points 1..ROWS at
 * 1,700,000,000 s + b minutes, value b * 1000 + point) and one SQL insert per batch into
 * table c_smoke (created by batch 0), counts the answers, optionally waits for the spool
 * to drain, and closes. Returns 0, or -1 with `err` set. */
int c_smoke_commit(const char *addresses, const char *token, const char *spool_dir,
                   int first_batch, int batches, int64_t wait_ms, int *spooled, int *acked,
                   char *err, size_t errlen) {
  sluice_client *h = sluice_open(addresses, token, NULL, spool_dir);
  int b;
  *spooled = 0;
  *acked = 0;
  if (h == NULL) {
    snprintf(err, errlen, "sluice_open: %s", sluice_last_error(NULL));
    return -1;
  }
  for (b = first_batch; b < first_batch + batches; ++b) {
    int64_t ids[ROWS];
    int64_t ts[ROWS];
    double values[ROWS];
    char key[32];
    char text[64];
    const char *params[2];
    int i;
    int rc;
    for (i = 0; i < ROWS; ++i) {
      ids[i] = i + 1;
      ts[i] = (INT64_C(1700000000) + (int64_t)b * 60) * INT64_C(1000000);
      values[i] = (double)b * 1000 + i + 1;
    }
    rc = sluice_commit_samples(h, "samples", ROWS, ids, ts, values, NULL, SLUICE_INTERVAL_1MIN);
    if (rc < 0) {
      snprintf(err, errlen, "sluice_commit_samples %d: %d %s", b, rc, sluice_last_error(h));
      sluice_close(h);
      return -1;
    }
    *spooled += rc == SLUICE_SPOOLED;
    *acked += rc == SLUICE_OK;
    if (b == 0) {
      rc = sluice_commit_sql(h, "sql",
                             "CREATE TABLE IF NOT EXISTS c_smoke (k INTEGER PRIMARY KEY, v TEXT)",
                             0, NULL);
      if (rc < 0) {
        snprintf(err, errlen, "sluice_commit_sql create: %d %s", rc, sluice_last_error(h));
        sluice_close(h);
        return -1;
      }
      *spooled += rc == SLUICE_SPOOLED;
      *acked += rc == SLUICE_OK;
    }
    snprintf(key, sizeof key, "%d", b);
    snprintf(text, sizeof text, "batch %d from C", b);
    params[0] = key;
    params[1] = text;
    rc = sluice_commit_sql(h, "sql", "INSERT INTO c_smoke (k, v) VALUES ($1, $2)", 2, params);
    if (rc < 0) {
      snprintf(err, errlen, "sluice_commit_sql %d: %d %s", b, rc, sluice_last_error(h));
      sluice_close(h);
      return -1;
    }
    *spooled += rc == SLUICE_SPOOLED;
    *acked += rc == SLUICE_OK;
  }
  if (wait_ms > 0) {
    int rc = sluice_wait_spool_drained(h, wait_ms);
    if (rc != SLUICE_OK) {
      snprintf(err, errlen, "sluice_wait_spool_drained: %d %s", rc, sluice_last_error(h));
      sluice_close(h);
      return -1;
    }
  }
  sluice_close(h);
  return 0;
}

/* Errors are codes and messages, not crashes. */
int c_smoke_errors(char *err, size_t errlen) {
  int rc;
  sluice_client *h = sluice_open("", NULL, NULL, NULL);
  if (h != NULL || strlen(sluice_last_error(NULL)) == 0) {
    snprintf(err, errlen, "sluice_open without addresses did not fail");
    sluice_close(h);
    return -1;
  }
  rc = sluice_commit_samples(NULL, "samples", 0, NULL, NULL, NULL, NULL, SLUICE_INTERVAL_1S);
  if (rc != SLUICE_E_INVALID_ARGUMENT) {
    snprintf(err, errlen, "commit on a NULL handle returned %d", rc);
    return -1;
  }
  return 0;
}

static int count_row(void *ctx, size_t ncols, const char *const *columns,
                     const char *const *values) {
  (void)columns;
  if (ncols == 1 && values[0] != NULL) sscanf(values[0], "%ld", (long *)ctx);
  return 0;
}

/* Counts the rows of c_smoke through the SQL service; returns the sluice_execute code. */
int c_smoke_query(const char *addresses, const char *token, long *count, char *err,
                  size_t errlen) {
  int rc;
  sluice_client *h = sluice_open(addresses, token, "c-smoke-reader", NULL);
  if (h == NULL) {
    snprintf(err, errlen, "sluice_open: %s", sluice_last_error(NULL));
    return SLUICE_E_INTERNAL;
  }
  rc = sluice_execute(h, "SELECT count(*) FROM c_smoke", 0, NULL, 1, count_row, count, NULL,
                      NULL);
  if (rc != SLUICE_OK) snprintf(err, errlen, "%s", sluice_last_error(h));
  sluice_close(h);
  return rc;
}

/* Commits events twice (two records: a breaker trip and a state change; then one event
 * whose strings are NULL) and reads back the last sequence the service acknowledged on
 * "events". Returns 0, or -1 with `err` set. */
int c_smoke_events(const char *addresses, const char *token, unsigned long long *sequence,
                   char *err, size_t errlen) {
  sluice_event events[2];
  sluice_event bare;
  uint64_t seq = 0;
  int rc;
  sluice_client *h = sluice_open(addresses, token, "c-smoke-events", NULL);
  if (h == NULL) {
    snprintf(err, errlen, "sluice_open: %s", sluice_last_error(NULL));
    return -1;
  }
  memset(events, 0, sizeof events);
  events[0].ts_us = INT64_C(1700000000000000);
  events[0].point_id = 42;
  events[0].kind = "breaker_trip";
  events[0].severity = 3;
  events[0].source = "c-smoke";
  events[0].text = "breaker 42 tripped";
  events[1].ts_us = INT64_C(1700000001000000);
  events[1].kind = "sluice.state";
  events[1].source = "c-smoke";
  events[1].text = "running";
  rc = sluice_commit_events(h, "events", 2, events);
  if (rc != SLUICE_OK) {
    snprintf(err, errlen, "sluice_commit_events: %d %s", rc, sluice_last_error(h));
    sluice_close(h);
    return -1;
  }
  memset(&bare, 0, sizeof bare);
  bare.ts_us = INT64_C(1700000002000000);
  rc = sluice_commit_events(h, "events", 1, &bare);
  if (rc != SLUICE_OK) {
    snprintf(err, errlen, "sluice_commit_events (bare): %d %s", rc, sluice_last_error(h));
    sluice_close(h);
    return -1;
  }
  rc = sluice_last_sequence(h, "events", &seq);
  if (rc != SLUICE_OK) {
    snprintf(err, errlen, "sluice_last_sequence: %d %s", rc, sluice_last_error(h));
    sluice_close(h);
    return -1;
  }
  *sequence = (unsigned long long)seq;
  sluice_close(h);
  return 0;
}

/*
 * The Sluice client library for C programs: a C face of sluice::client::Client
 * (include/sluice/client.h), which says how addresses, sequences and the local spool
 * work. Link with the `sluice_client` library (it is C++: link with a C++ linker or add
 * the C++ runtime).
 *
 *   sluice_client *h = sluice_open("10.1.0.5:7400,10.2.0.5:7400", token, NULL,
 *                                  "/var/lib/myapp/sluice-spool");
 *   if (h == NULL) { fprintf(stderr, "%s\n", sluice_last_error(NULL)); ... }
 *   int rc = sluice_commit_samples(h, "samples", n, ids, ts, values, NULL,
 *                                  SLUICE_INTERVAL_1MIN);
 *   if (rc < 0) fprintf(stderr, "%s\n", sluice_last_error(h));
 *   sluice_close(h);
 *
 * Return codes: every call returns one of the SLUICE_* codes below. Zero and positive
 * codes are successes; negative codes are errors, explained by sluice_last_error().
 *
 * Thread safety: a handle may be used from several threads at once. The last error is
 * kept per thread.
 *
 * Timestamps are int64 microseconds since the Unix epoch, UTC.
 */
#ifndef SLUICE_SLUICE_H_
#define SLUICE_SLUICE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sluice_client sluice_client;

/* Successes. */
#define SLUICE_OK 0              /* done: a commit is durable in the service's journal */
#define SLUICE_SPOOLED 1         /* a commit is durable in the local spool; it will be
                                    delivered in order once the service is back */
#define SLUICE_REJECTED 2        /* sluice_execute: the database refused the statement
                                    (nothing changed); sluice_last_error says why */
#define SLUICE_OUTCOME_UNKNOWN 3 /* sluice_execute: a write not decided in time; *lsn
                                    names it (ask the service later) */
#define SLUICE_PENDING 4         /* sluice_get_outcome: journaled, not decided yet */

/* Errors (nothing was done, unless said otherwise). */
#define SLUICE_E_INVALID_ARGUMENT -1   /* bad arguments or records; the message names it */
#define SLUICE_E_UNAVAILABLE -2        /* no address of the service answered (and no spool) */
#define SLUICE_E_DEADLINE -3           /* timed out */
#define SLUICE_E_UNAUTHENTICATED -4    /* wrong or missing token */
#define SLUICE_E_PERMISSION_DENIED -5  /* the token lacks the role */
#define SLUICE_E_RESOURCE_EXHAUSTED -6 /* the service's journal or the spool is full */
#define SLUICE_E_FAILED_PRECONDITION -7
#define SLUICE_E_NOT_FOUND -8
#define SLUICE_E_OUT_OF_RANGE -9
#define SLUICE_E_IO -10                /* the spool could not be written or read */
#define SLUICE_E_OUTCOME_UNKNOWN -11   /* a write may or may not have reached the service */
#define SLUICE_E_INTERNAL -12          /* anything else */

/* Sample intervals (the sample table a batch goes to). */
#define SLUICE_INTERVAL_1S 1
#define SLUICE_INTERVAL_5S 2
#define SLUICE_INTERVAL_1MIN 3
#define SLUICE_INTERVAL_5MIN 4
#define SLUICE_INTERVAL_10MIN 5
#define SLUICE_INTERVAL_15MIN 6
#define SLUICE_INTERVAL_30MIN 7
#define SLUICE_INTERVAL_1H 8
#define SLUICE_INTERVAL_8H 9
#define SLUICE_INTERVAL_1D 10

/* Quality bits (0: good). */
#define SLUICE_QUALITY_INVALID 1u
#define SLUICE_QUALITY_QUESTIONABLE 2u
#define SLUICE_QUALITY_SUBSTITUTED 4u
#define SLUICE_QUALITY_OVERFLOW 8u
#define SLUICE_QUALITY_OLD_DATA 16u

/*
 * Opens a client. `addresses`: "host:port" separated by commas, tried in order.
 * `token`: bearer token, or NULL/"" for none. `client_id`: NULL/"" to use the one stored
 * in the spool directory (generated the first time). `spool_dir`: NULL/"" for no spool.
 * Returns NULL on failure; sluice_last_error(NULL) says why.
 */
sluice_client *sluice_open(const char *addresses, const char *token, const char *client_id,
                           const char *spool_dir);

/*
 * Commits `n` samples of one interval table to `stream`: row i is (point_ids[i],
 * ts_us[i], values[i], qualities[i]). `qualities` may be NULL (all good).
 * Returns SLUICE_OK, SLUICE_SPOOLED or an error.
 */
int sluice_commit_samples(sluice_client *h, const char *stream, size_t n,
                          const int64_t *point_ids, const int64_t *ts_us, const double *values,
                          const uint32_t *qualities, int interval);

/*
 * Commits one SQL statement to `stream` (asynchronous: applied later to every database).
 * Parameters are $1, $2, ...; `params[i]` is a text value, or NULL for SQL NULL.
 * Returns SLUICE_OK, SLUICE_SPOOLED or an error.
 */
int sluice_commit_sql(sluice_client *h, const char *stream, const char *sql, size_t nparams,
                      const char *const *params);

/*
 * Called once per result row of sluice_execute: `values[i]` is column `columns[i]` as
 * text, NULL for SQL NULL. Return 0 to go on, non-zero to ignore the remaining rows.
 */
typedef int (*sluice_row_fn)(void *ctx, size_t ncols, const char *const *columns,
                             const char *const *values);

/*
 * Executes one statement synchronously (on the active database). `read_only` non-zero: a
 * query, run in a read-only transaction. Otherwise a write: SLUICE_OK once applied,
 * SLUICE_REJECTED when the database refused it, SLUICE_OUTCOME_UNKNOWN (with *lsn) when it
 * was not decided in time. `on_row`, `rows_affected` and `lsn` may be NULL.
 */
int sluice_execute(sluice_client *h, const char *sql, size_t nparams, const char *const *params,
                   int read_only, sluice_row_fn on_row, void *ctx, int64_t *rows_affected,
                   uint64_t *lsn);

/*
 * The outcome of the synchronous write (sluice_execute, sluice_update) whose intent is at
 * `lsn`: SLUICE_OK (applied; *rows_affected set), SLUICE_REJECTED (sluice_last_error says
 * why), SLUICE_PENDING, or an error. `rows_affected` may be NULL.
 */
int sluice_get_outcome(sluice_client *h, uint64_t lsn, int64_t *rows_affected);

/*
 * The same for the latest write sent with `request_id` (when a write was cut off before
 * the service answered, its LSN is not known). *lsn is set when the write was journaled.
 * SLUICE_E_NOT_FOUND: no write with that id reached the journal, so none will be applied
 * (or retention deleted it). `rows_affected` and `lsn` may be NULL.
 */
int sluice_get_outcome_by_request_id(sluice_client *h, const char *request_id,
                                     int64_t *rows_affected, uint64_t *lsn);

/* One event (an alarm, a breaker trip, a state change) of sluice_commit_events. */
typedef struct sluice_event {
  int64_t ts_us;
  int64_t point_id;   /* 0 when the event concerns no point */
  const char *kind;   /* e.g. "breaker_trip"; NULL is "" */
  int32_t severity;
  const char *source; /* NULL is "" */
  const char *text;   /* NULL is "" */
} sluice_event;

/*
 * Commits `n` events to `stream`, in one record. Returns SLUICE_OK, SLUICE_SPOOLED or an
 * error.
 */
int sluice_commit_events(sluice_client *h, const char *stream, size_t n,
                         const sluice_event *events);

/*
 * The sequence of the last commit on `stream` that the service acknowledged through this
 * handle (commits are numbered per stream and client, from 1). Commits delivered from the
 * spool in the background are not reported here (sluice_spool_status counts them).
 * SLUICE_E_NOT_FOUND when there was none.
 */
int sluice_last_sequence(sluice_client *h, const char *stream, uint64_t *sequence);

/* Room for a request id the library makes (32 hex digits and the NUL). */
#define SLUICE_REQUEST_ID_SIZE 33

/*
 * A model update (the Model service): a synchronous write like sluice_execute's, which
 * the service also publishes to its watchers (sluice_watch). Returns SLUICE_OK,
 * SLUICE_REJECTED or SLUICE_OUTCOME_UNKNOWN as sluice_execute does for a write.
 * `request_id`: the write's id, NULL/"" to have the library make one. `request_id_out`
 * (may be NULL) receives the id it was sent with, to ask sluice_get_outcome_by_request_id
 * about; `request_id_size` must hold it with its NUL (SLUICE_REQUEST_ID_SIZE for a made
 * one), or the call fails with SLUICE_E_INVALID_ARGUMENT before anything is sent.
 * `rows_affected` and `lsn` may be NULL.
 */
int sluice_update(sluice_client *h, const char *sql, size_t nparams, const char *const *params,
                  const char *request_id, char *request_id_out, size_t request_id_size,
                  int64_t *rows_affected, uint64_t *lsn);

/*
 * Called once per model change of sluice_watch: the statement with its parameters as text
 * (NULL for SQL NULL), as applied by `target`. Return 0 to go on, non-zero to stop.
 */
typedef int (*sluice_change_fn)(void *ctx, uint64_t lsn, const char *sql, size_t nparams,
                                const char *const *params, int64_t rows_affected,
                                const char *target, int64_t admitted_at_us);

/*
 * Calls `on_change` for every model change from `from_lsn` on (0: from now on), in the
 * calling thread, until it returns non-zero (then SLUICE_OK) or the call fails:
 * SLUICE_E_OUT_OF_RANGE (from_lsn is no longer in the journal), SLUICE_E_UNAVAILABLE (the
 * service went away), SLUICE_E_INTERNAL after sluice_cancel_calls.
 */
int sluice_watch(sluice_client *h, uint64_t from_lsn, sluice_change_fn on_change, void *ctx);

/* Makes every sluice_watch in progress on `h` return. Safe from any thread. */
void sluice_cancel_calls(sluice_client *h);

/* The spool of one stream (see sluice_spool_status). */
typedef struct sluice_spool_info {
  uint64_t pending;       /* commits in the spool, not yet delivered */
  uint64_t next_sequence; /* 0: not known yet (the service was never reached) */
  uint64_t delivered;     /* spooled commits delivered since sluice_open */
  uint64_t rejected;      /* spooled commits the service refused for good */
} sluice_spool_info;

/*
 * The spool of `stream`, as seen now. `why` (may be NULL) receives why delivery is stuck,
 * "" when it is not, cut to `why_size` bytes with its NUL. SLUICE_E_NOT_FOUND when the
 * stream was not spooled to since sluice_open (and has no spooled commits).
 */
int sluice_spool_status(sluice_client *h, const char *stream, sluice_spool_info *out,
                        char *why, size_t why_size);

/*
 * Copies the client's id (given to sluice_open, or the spool's) into `buf`, with its NUL.
 * SLUICE_E_INVALID_ARGUMENT when `buf_size` is too small (the message says how large).
 */
int sluice_client_id(const sluice_client *h, char *buf, size_t buf_size);

/*
 * Waits up to `timeout_ms` until every spooled commit is delivered. SLUICE_OK, or
 * SLUICE_E_DEADLINE (sluice_last_error names what is still pending).
 */
int sluice_wait_spool_drained(sluice_client *h, int64_t timeout_ms);

/*
 * The message of the last error of the calling thread (h may be NULL). Valid until the
 * thread's next sluice_* call; "" when there was none.
 */
const char *sluice_last_error(const sluice_client *h);

/* Closes the client. Undelivered commits stay in the spool for the next sluice_open. */
void sluice_close(sluice_client *h);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SLUICE_SLUICE_H_ */

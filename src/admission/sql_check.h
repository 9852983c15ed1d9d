#pragma once
// Admission checks of replicated SQL (DESIGN.md guarantee 6 "Same data everywhere" and
// "Dialects"). Every target applies the same SQL record; if the text asks each database
// to compute a value itself (the time, a random number, the next value of its own
// sequence), the targets end with different rows. Such a record is refused before it is
// journaled, with a message that names what it calls and where, so the caller can bind
// the value as a parameter instead.
//
// How the text is read. A small lexer per dialect (not a parser) splits the text into
// tokens exactly as that database would: string literals ('...' with '' escapes; on
// PostgreSQL also E'...' with backslash escapes, U&'...' and dollar-quoted $tag$...$tag$,
// assuming standard_conforming_strings=on, the default since 9.1), quoted identifiers
// ("..." with "" escapes; on SQLite also [...] and `...`), -- comments and /* */
// comments (nested on PostgreSQL, not on SQLite). Names inside strings and comments, and
// identifiers that merely contain a refused name (a column `now_value`, a table
// `nowcast`), are never refused. Identifiers compare case-insensitively.
//
// Refused (the first one found is reported, with its byte offset in the text):
//   * calls -- an identifier, optionally schema-qualified, followed by '(' (whitespace
//     and comments may come between) -- of: now, random, random_normal, setseed,
//     nextval, currval, lastval, setval, clock_timestamp, statement_timestamp,
//     transaction_timestamp, timeofday, gen_random_uuid, gen_random_bytes, gen_salt,
//     uuid_generate_v1, uuid_generate_v1mc, uuid_generate_v4, uuidv4, uuidv7,
//     random_uuid, version, pg_backend_pid, pg_postmaster_start_time,
//     pg_conf_load_time, pg_current_xact_id(_if_assigned), pg_current_snapshot,
//     pg_current_wal_lsn, pg_current_wal_insert_lsn, txid_current(_if_assigned),
//     txid_current_snapshot, inet_client_addr/port, inet_server_addr/port, randomblob,
//     changes, last_insert_rowid, total_changes, and any sqlite_... or sqlite3_...
//     function (they report the SQLite build or storage layout). A quoted name followed
//     by '(' is a call too ("now"() calls now on PostgreSQL). A name followed by '(' in
//     a declaration is not a call: after INTO, TABLE, REFERENCES, EXISTS, VIEW,
//     FUNCTION, PROCEDURE, AS, WITH, RECURSIVE, and after ON in CREATE/ALTER
//     (`INSERT INTO changes (id) ...` is fine).
//   * SQLite date and time functions that read the clock: date(), time(), datetime(),
//     julianday(), unixepoch() without arguments and strftime(format) without a time
//     value; the modifiers 'localtime' and 'utc' given directly to one of them (they
//     depend on each server's time zone); "now", "localtime", "utc" in double quotes
//     given directly to one of them (SQLite reads an unknown double-quoted name as a
//     string). PostgreSQL: age(x) with one argument (it measures from current_date).
//   * keywords that read the clock or the connection: current_timestamp, current_date,
//     current_time on both dialects; on PostgreSQL also localtime, localtimestamp,
//     current_user, session_user, user, current_role, system_user, current_catalog,
//     current_schema (the user, database and search_path of each connection differ
//     between targets). Not after '.' (a column t.current_date) nor after AS (an alias).
//   * the string literal 'now' (any case, surrounding spaces ignored) wherever it
//     appears outside comments -- as in date('now'), 'now'::timestamp,
//     strftime('%s','now'), datetime('now','localtime') -- and on PostgreSQL also
//     'today', 'tomorrow', 'yesterday'. Not only as an argument or a cast: PostgreSQL
//     turns such a literal into the current time wherever the context gives it a date
//     or time type, also as an INSERT value or in a comparison with a timestamp column,
//     and this check does not know column types. A text column that must hold the word
//     'now' gets it through a parameter.
//   * in CREATE/ALTER: on PostgreSQL a serial, bigserial, smallserial, serial2/4/8
//     column and GENERATED ... AS IDENTITY; on SQLite AUTOINCREMENT (each database
//     numbers rows from its own sequence, and they drift apart: failed inserts consume
//     numbers on PostgreSQL, SQLite reuses ids after a delete).
//   DEFAULT is not a call; `DEFAULT now()` is refused because of now().
//
// Not caught (this guards against mistakes, not against a caller set on hiding a call):
// the bodies of functions and triggers (dollar-quoted or string bodies are strings),
// defaults, triggers and views created earlier, an INSERT that leaves an INTEGER PRIMARY
// KEY to SQLite, PostgreSQL's concatenation of string literals split across lines, U&
// escapes, values that depend on session settings (TimeZone, DateStyle: the backends
// fix them), and parameters whose text is 'now'.
//
// Thread safety: stateless; safe from any thread.

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "sluice/v1/records.pb.h"

namespace sluice::admission {

// Dialects a target may declare.
inline constexpr std::string_view kDialectSqlite = "sqlite";
inline constexpr std::string_view kDialectPostgres = "postgres";

// Most parameters one SQL record may bind: PostgreSQL's protocol counts them in 16 bits.
inline constexpr int kMaxSqlParams = 65535;

bool IsKnownDialect(std::string_view dialect);

// OK when `sql`, read as `dialect` ("sqlite" or "postgres") reads, calls nothing that each
// database would compute differently (see above). Otherwise InvalidArgument naming the
// function and its offset, e.g.
//   SQL for dialect 'postgres' calls now() at offset 31, which each database would
//   compute differently; bind the value as a parameter instead ($1, $2, ...)
// Also InvalidArgument for an unknown dialect and for text the dialect cannot read to the
// end (an unterminated string, quoted identifier or comment), naming where it starts.
Status CheckDeterministic(std::string_view sql, std::string_view dialect);

// Checks an SQL record before it is journaled. `target_dialects` are the dialects of the
// targets that will apply it (duplicates allowed). For each dialect that some target uses,
// the text is dialect_text[d] if present, else `text`; the record is refused
// (InvalidArgument, naming the dialect, and the offset where there is one) when:
//   * no text exists for a used dialect, or a text holds no statement (only whitespace,
//     comments, ';'), or more than one statement (the backends run exactly one);
//   * a dialect_text key is not a known dialect, or its value is empty;
//   * the text is not deterministic (CheckDeterministic);
//   * a placeholder is $0, or $N with N > params_size(); on SQLite also ?N the same way,
//     a bare ? counts as SQLite numbers it, and :name, @name, $name are refused (the
//     backends bind positionally); or the record binds more parameters than the highest
//     placeholder (both databases refuse unused parameters);
//   * the record binds more than kMaxSqlParams parameters, or a parameter has no value.
// A dialect_text entry for a dialect no target uses is checked too, under its dialect.
// A target dialect that is not known is a configuration error: FailedPrecondition.
Status CheckSqlRecord(const sluice::v1::SqlStatement& stmt,
                      std::span<const std::string> target_dialects);

}  // namespace sluice::admission

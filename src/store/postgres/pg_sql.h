#pragma once
// Internal to the PostgreSQL backend: user SQL (replicated SQL records, synchronous
// intents, reads): what may run inside the service's transaction and session, and
// parameters in libpq's layout.

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/v1/records.pb.h"
#include "store/postgres/pg_conn.h"

namespace sluice::store::postgres {

// dialect_text["postgres"] when present, else text.
const std::string& PostgresText(const v1::SqlStatement& statement);

// The first keyword of `sql`, upper-cased, after whitespace, comments and parentheses.
std::string FirstKeyword(std::string_view sql);

// Why `sql` may not run inside the service's transaction or session (transaction
// control, SET/RESET/DISCARD, COPY, PREPARE, LISTEN, VACUUM, ...); empty when it may.
std::string RefusedStatement(std::string_view sql);
// Why replicated SQL may not run: RefusedStatement(), or any mention of the service's
// own sluice_* tables; empty when it may.
std::string RefusedSql(std::string_view sql);

// Parameters of one SQL statement in libpq's layout, plus a signature of their types
// (part of the prepared-statement cache key).
struct BoundParams {
  Params params;
  std::vector<std::array<char, 8>> scratch;
  std::string signature;
};

// Binds statement.params: null -> NULL of unspecified type; int64 and timestamp ->
// bigint; double -> double precision (NaN -> NULL); text and clob -> text of unspecified
// type; blob -> bytea. Values point into `stmt` and `out`: both must outlive the send.
void Bind(const v1::SqlStatement& stmt, BoundParams* out);

inline void PutBe64(std::array<char, 8>& out, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(out.data(), &v, 8);
}

}  // namespace sluice::store::postgres

#include "store/sqlite/sqlite_functions.h"

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "store/row_hash.h"

namespace sluice::store::sqlite {
namespace {

void RowHashFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  // As UTF-8 bytes, whatever the value's storage class, like PostgreSQL's md5(text).
  const auto* text = reinterpret_cast<const char*>(sqlite3_value_text(argv[0]));
  const int size = sqlite3_value_bytes(argv[0]);
  sqlite3_result_int64(ctx, RowHash(std::string_view(text == nullptr ? "" : text,
                                                     static_cast<size_t>(size))));
}

void FloatBitsFunction(sqlite3_context* ctx, int, sqlite3_value** argv) {
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  const std::string hex = FloatBitsHex(sqlite3_value_double(argv[0]));
  sqlite3_result_text(ctx, hex.data(), static_cast<int>(hex.size()), SQLITE_TRANSIENT);
}

// Unsigned arithmetic wraps modulo 2^64 by definition: the sum of the hashes' bits.
void Sum64Step(sqlite3_context* ctx, int, sqlite3_value** argv) {
  auto* sum = static_cast<uint64_t*>(sqlite3_aggregate_context(ctx, sizeof(uint64_t)));
  if (sum == nullptr) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
  *sum += static_cast<uint64_t>(sqlite3_value_int64(argv[0]));
}

void Sum64Final(sqlite3_context* ctx) {
  // No rows: no aggregate context was ever made (size 0 asks without allocating).
  auto* sum = static_cast<uint64_t*>(sqlite3_aggregate_context(ctx, 0));
  const std::string text = std::to_string(sum == nullptr ? 0 : *sum);
  sqlite3_result_text(ctx, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

Status RegisterVerifyFunctions(sqlite3* db) {
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  struct Scalar {
    const char* name;
    void (*fn)(sqlite3_context*, int, sqlite3_value**);
  };
  for (const Scalar& s : {Scalar{kSqliteRowHashFunction, &RowHashFunction},
                          Scalar{kSqliteFloatBitsFunction, &FloatBitsFunction}}) {
    int rc = sqlite3_create_function_v2(db, s.name, 1, kFlags, nullptr, s.fn, nullptr, nullptr,
                                        nullptr);
    if (rc != SQLITE_OK) {
      return Status::Internal(fmt::format("registering SQLite function {}: {}", s.name,
                                          sqlite3_errstr(rc)));
    }
  }
  int rc = sqlite3_create_function_v2(db, kSqliteSum64Function, 1, kFlags, nullptr, nullptr,
                                      &Sum64Step, &Sum64Final, nullptr);
  if (rc != SQLITE_OK) {
    return Status::Internal(fmt::format("registering SQLite function {}: {}",
                                        kSqliteSum64Function, sqlite3_errstr(rc)));
  }
  return Status::OK();
}

}  // namespace sluice::store::sqlite

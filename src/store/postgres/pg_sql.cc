#include "store/postgres/pg_sql.h"

#include <fmt/format.h>

#include <bit>
#include <cctype>
#include <cmath>

namespace sluice::store::postgres {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const std::string& PostgresText(const v1::SqlStatement& statement) {
  auto it = statement.dialect_text().find("postgres");
  return it != statement.dialect_text().end() ? it->second : statement.text();
}

std::string FirstKeyword(std::string_view sql) {
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c)) || c == '(') {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) return {};
    } else if (sql.substr(i, 2) == "/*") {
      int depth = 0;  // PostgreSQL block comments nest
      while (i < sql.size()) {
        if (sql.substr(i, 2) == "/*") {
          ++depth;
          i += 2;
        } else if (sql.substr(i, 2) == "*/") {
          i += 2;
          if (--depth == 0) break;
        } else {
          ++i;
        }
      }
    } else {
      break;
    }
  }
  std::string word;
  while (i < sql.size() && (std::isalpha(static_cast<unsigned char>(sql[i])) || sql[i] == '_')) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(sql[i++])));
  }
  return word;
}

std::string RefusedStatement(std::string_view sql) {
  static constexpr std::string_view kRefused[] = {
      "BEGIN",   "START",   "COMMIT",   "END",    "ROLLBACK", "ABORT", "SAVEPOINT",
      "RELEASE", "PREPARE", "SET",      "RESET",  "DISCARD",  "COPY",  "DEALLOCATE",
      "EXECUTE", "LISTEN",  "UNLISTEN", "VACUUM", "LOAD"};
  const std::string word = FirstKeyword(sql);
  for (std::string_view r : kRefused) {
    if (word == r) {
      return fmt::format(
          "{} is not allowed in a statement the service runs: it would act on the "
          "service's own transaction or session",
          r);
    }
  }
  return {};
}

std::string RefusedSql(std::string_view sql) {
  if (std::string why = RefusedStatement(sql); !why.empty()) return why;
  static constexpr std::string_view kOwnTables[] = {"sluice_watermark", "sluice_error",
                                                    "sluice_node_lock", "sluice_schema_version",
                                                    "sluice_stage_"};
  const std::string lower = Lower(sql);
  for (std::string_view t : kOwnTables) {
    if (lower.find(t) != std::string::npos) {
      return fmt::format("replicated SQL may not touch the service's own table {}", t);
    }
  }
  return {};
}

void Bind(const v1::SqlStatement& stmt, BoundParams* out) {
  const int n = stmt.params_size();
  out->scratch.resize(static_cast<size_t>(n));  // never reallocated below
  out->signature.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const v1::SqlValue& v = stmt.params(i);
    Oid type = 0;
    const char* value = nullptr;
    int length = 0;
    int format = 0;
    auto& scratch = out->scratch[static_cast<size_t>(i)];
    switch (v.kind_case()) {
      case v1::SqlValue::kIntValue:
      case v1::SqlValue::kTimestampUs:
        type = kInt8Oid;
        PutBe64(scratch,
                static_cast<uint64_t>(v.kind_case() == v1::SqlValue::kIntValue ? v.int_value()
                                                                               : v.timestamp_us()));
        value = scratch.data();
        length = 8;
        format = 1;
        break;
      case v1::SqlValue::kDoubleValue:
        type = kFloat8Oid;
        format = 1;
        if (!std::isnan(v.double_value())) {  // NaN is NULL, as on SQLite
          PutBe64(scratch, std::bit_cast<uint64_t>(v.double_value()));
          value = scratch.data();
          length = 8;
        }
        break;
      case v1::SqlValue::kTextValue:
        value = v.text_value().c_str();  // type left to the server, as for a literal
        break;
      case v1::SqlValue::kClobValue:
        value = v.clob_value().c_str();
        break;
      case v1::SqlValue::kBlobValue:
        type = kByteaOid;
        value = v.blob_value().data();
        length = static_cast<int>(v.blob_value().size());
        format = 1;
        break;
      case v1::SqlValue::kNullValue:
      case v1::SqlValue::KIND_NOT_SET:
        break;
    }
    out->params.types.push_back(type);
    out->params.values.push_back(value);
    out->params.lengths.push_back(length);
    out->params.formats.push_back(format);
    out->signature += type == kInt8Oid     ? 'i'
                      : type == kFloat8Oid ? 'd'
                      : type == kByteaOid  ? 'b'
                                           : 'u';
  }
}

}  // namespace sluice::store::postgres

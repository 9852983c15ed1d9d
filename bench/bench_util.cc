#include "bench/bench_util.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>

#include "common/file_system.h"
#include "store/postgres/partitions.h"

namespace sluice::bench {

ScratchDir::ScratchDir(const std::string& parent, const std::string& prefix) {
  std::string tmpl = JoinPath(parent, prefix + "-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error(
        fmt::format("cannot create a directory in {}: {}", parent, std::strerror(errno)));
  }
  path_ = tmpl;
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return fmt::format("{} {} {}", one, five, fifteen);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void BinaryCopy::Header() {
  static constexpr char kSignature[] = "PGCOPY\n\377\r\n\0";
  buf_.append(kSignature, 11);
  Put32(0);  // flags
  Put32(0);  // header extension length
}

void BinaryCopy::Trailer() { Put16(0xFFFF); }

void BinaryCopy::Row(int64_t point_id, int64_t ts, double value, int64_t quality, int64_t ver) {
  Put16(6);
  Int64(point_id);
  Int64(ts);
  Put32(8);
  Put64(std::bit_cast<uint64_t>(value));
  Int64(quality);
  Int64(ver);
  Put32(1);  // manual: a one-byte boolean, false
  buf_.push_back(0);
}

void BinaryCopy::Int64(int64_t v) {
  Put32(8);
  Put64(static_cast<uint64_t>(v));
}

void BinaryCopy::Put16(uint16_t v) {
  v = __builtin_bswap16(v);
  buf_.append(reinterpret_cast<const char*>(&v), 2);
}

void BinaryCopy::Put32(uint32_t v) {
  v = __builtin_bswap32(v);
  buf_.append(reinterpret_cast<const char*>(&v), 4);
}

void BinaryCopy::Put64(uint64_t v) {
  v = __builtin_bswap64(v);
  buf_.append(reinterpret_cast<const char*>(&v), 8);
}

Status SendCopy(PGconn* conn, const std::string& data) {
  if (PQputCopyData(conn, data.data(), static_cast<int>(data.size())) != 1 ||
      PQputCopyEnd(conn, nullptr) != 1) {
    return Status::Internal(PQerrorMessage(conn));
  }
  PGresult* res = PQgetResult(conn);
  Status s = PQresultStatus(res) == PGRES_COMMAND_OK
                 ? Status::OK()
                 : Status::Internal(fmt::format("COPY: {}", PQresultErrorMessage(res)));
  PQclear(res);
  while ((res = PQgetResult(conn)) != nullptr) PQclear(res);
  return s;
}

Status CreateSamplePartitions(PGconn* conn, const std::string& table, int64_t min_ts,
                              int64_t max_ts, int64_t span) {
  std::set<int64_t> starts;
  for (int64_t ts = min_ts; ts <= max_ts + span; ts += span) {
    starts.insert(store::postgres::AlignDown(ts, span));
  }
  starts.insert(store::postgres::AlignDown(max_ts + span, span));
  for (int64_t start : starts) {
    const std::string name = store::postgres::PartitionName(table, start);
    PGresult* exists =
        PQexec(conn, fmt::format("SELECT 1 FROM pg_class WHERE relname = '{}'", name).c_str());
    const bool found = PQresultStatus(exists) == PGRES_TUPLES_OK && PQntuples(exists) > 0;
    PQclear(exists);
    if (found) continue;
    const std::string sql = fmt::format(
        "BEGIN; CREATE TABLE IF NOT EXISTS \"{0}\" (LIKE \"{1}\" INCLUDING DEFAULTS INCLUDING "
        "CONSTRAINTS); ALTER TABLE \"{1}\" ATTACH PARTITION \"{0}\" FOR VALUES {2}; COMMIT",
        name, table, store::postgres::PartitionBoundSql({start, start + span}));
    PGresult* r = PQexec(conn, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    if (!ok) return Status::Internal(fmt::format("creating partition {}: {}", name, msg));
  }
  return Status::OK();
}

}  // namespace sluice::bench

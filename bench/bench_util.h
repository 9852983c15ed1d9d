#pragma once
// Pieces several sluice-bench subcommands share: scratch directories, the machine's load,
// medians, and the raw PostgreSQL loading (binary COPY, partitions) that the apply and
// ingest benchmarks use as their baseline. The baseline is written here, not with the
// backend's own CopyWriter, so that it does not move with the code under test.

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace sluice::bench {

// A fresh directory `parent`/`prefix`-XXXXXX, removed with its contents on destruction.
// Throws std::runtime_error when it cannot be created.
class ScratchDir {
 public:
  ScratchDir(const std::string& parent, const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The 1, 5 and 15 minute load averages ("0.52 1.10 2.03"): other work on a shared machine
// moves the figures, so every result says what the load was.
std::string LoadAverage();

// REQUIRES: !v.empty().
double Median(std::vector<double> v);

// COPY ... (FORMAT binary) data for the sample tables' columns
// (point_id, ts, value, quality, ver, manual), the format the PostgreSQL backend uses.
class BinaryCopy {
 public:
  void Header();
  void Trailer();
  void Row(int64_t point_id, int64_t ts, double value, int64_t quality, int64_t ver);
  const std::string& data() const { return buf_; }
  void Clear() { buf_.clear(); }

 private:
  void Int64(int64_t v);
  void Put16(uint16_t v);
  void Put32(uint32_t v);
  void Put64(uint64_t v);
  std::string buf_;
};

// Sends `data` (a whole binary COPY stream, header to trailer) on a connection in the
// COPY IN state, ends the COPY and reads its result; kInternal with libpq's message when
// the server refused it. The baselines' one way to load a batch.
Status SendCopy(PGconn* conn, const std::string& data);

// Creates, as the backend does (store/postgres/partitions.h), every partition of `table`
// that rows with timestamps in [min_ts, max_ts] need, and the one after the newest, unless
// it exists. For a baseline's untimed preparation.
Status CreateSamplePartitions(PGconn* conn, const std::string& table, int64_t min_ts,
                              int64_t max_ts, int64_t span);

}  // namespace sluice::bench

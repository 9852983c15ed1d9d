#include "verify/request_options.h"

#include <fmt/format.h>

namespace sluice::verify {
namespace {

std::string ComparedNames() {
  std::string out;
  for (const TableSpec& t : ComparedTables()) out += (out.empty() ? "" : ", ") + t.name;
  return out;
}

}  // namespace

Result<VerifyOptions> OptionsFromRequest(const v1::VerifyRequest& request) {
  VerifyOptions o;
  if (request.has_from_us()) o.range.from_us = request.from_us();
  if (request.has_to_us()) o.range.to_us = request.to_us();
  if (o.range.from_us && o.range.to_us && *o.range.from_us >= *o.range.to_us) {
    return Status::InvalidArgument(fmt::format(
        "verify: the range is empty: from {} µs is not before to {} µs", *o.range.from_us,
        *o.range.to_us));
  }
  if (request.bucket_us() < 0) {
    return Status::InvalidArgument(
        fmt::format("verify: bucket width {} µs is negative", request.bucket_us()));
  }
  if (request.bucket_us() > 0) o.bucket_us = request.bucket_us();
  if (request.max_rows() > kMaxListedRows) {
    return Status::InvalidArgument(fmt::format("verify: max_rows {} is above the limit of {}",
                                               request.max_rows(), kMaxListedRows));
  }
  o.rows = request.rows();
  o.max_rows = request.max_rows() == 0 ? kDefaultListedRows : request.max_rows();
  for (const std::string& name : request.tables()) {
    const TableSpec* t = FindTable(name);
    if (t == nullptr) {
      for (const SkippedTable& s : SkippedTables()) {
        if (s.name == name) {
          return Status::InvalidArgument(fmt::format(
              "verify: table '{}' is not compared: it holds {}", name, s.why));
        }
      }
      return Status::InvalidArgument(fmt::format(
          "verify: unknown table '{}' (compared tables: {})", name, ComparedNames()));
    }
    bool seen = false;
    for (const TableSpec* have : o.tables) seen = seen || have == t;
    if (!seen) o.tables.push_back(t);
  }
  if (o.tables.empty()) {
    for (const TableSpec& t : ComparedTables()) o.tables.push_back(&t);
  }
  return o;
}

}  // namespace sluice::verify

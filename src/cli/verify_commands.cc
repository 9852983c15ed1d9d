// `sluice verify`: Admin.Verify, the consistency check between targets
// (docs/verify.md). Prints "all N targets equal over ..." or the differing buckets and
// rows as tables; --json prints the whole answer. Exit 0 equal, 1 the targets differ,
// 2 an error (bad flags, refused), 3 the service cannot be reached.

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/sample_csv.h"
#include "common/wall_clock.h"
#include "config/values.h"

namespace sluice::cli {
namespace {

constexpr int kExitDiffer = 1;
constexpr int kExitVerifyError = 2;

struct VerifyArgs {
  std::string from;
  std::string to;
  std::string tables;
  std::string targets;
  std::string bucket;
  bool rows = false;
  int64_t max_rows = 100;
  bool json = false;
};

// RFC 3339, microseconds, "now" or "now-DURATION".
Result<int64_t> ParseVerifyTime(std::string_view text, int64_t now_us) {
  if (text == "now") return now_us;
  if (text.starts_with("now-")) {
    auto d = config::ParseDuration(text.substr(4));
    if (!d.ok()) return d.status();
    return now_us - std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
  }
  return ParseSampleTime(text);
}

// "a,b" -> {a, b}; "" -> {}; nullopt when a name is empty ("a,,b").
std::optional<std::vector<std::string>> SplitNames(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (!list.empty() && start <= list.size()) {
    size_t comma = list.find(',', start);
    if (comma == std::string::npos) comma = list.size();
    if (comma == start) return std::nullopt;
    out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.always_print_primitive_fields = true;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string RangeText(const v1::VerifySummary& s) {
  const std::string from = s.has_from_us() ? config::FormatTimestamp(s.from_us()) : "the first row";
  const std::string to = s.has_to_us() ? config::FormatTimestamp(s.to_us()) : "the last row";
  return fmt::format("[{}, {})", from, to);
}

std::string BucketText(const v1::VerifyBucket& b) {
  if (!b.timed()) return "(whole table)";
  return fmt::format("{} .. {}", config::FormatTimestamp(b.start_us()),
                     config::FormatTimestamp(b.end_us()));
}

void PrintDifferences(const std::vector<v1::VerifyBucket>& buckets) {
  size_t table_w = 5, bucket_w = 6, target_w = 6;
  for (const auto& b : buckets) {
    table_w = std::max(table_w, b.table().size());
    bucket_w = std::max(bucket_w, BucketText(b).size());
    for (const auto& t : b.targets()) target_w = std::max(target_w, t.target().size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>20}\n", "TABLE", table_w, "BUCKET", bucket_w,
             "TARGET", target_w, "ROWS", "CHECKSUM");
  for (const auto& b : buckets) {
    bool first = true;
    for (const auto& t : b.targets()) {
      fmt::print("{:<{}}  {:<{}}  {:<{}}  {:>10}  {:>20}\n", first ? b.table() : "", table_w,
                 first ? BucketText(b) : "", bucket_w, t.target(), target_w, t.rows(),
                 t.checksum());
      first = false;
    }
  }
}

void PrintRows(const std::vector<v1::VerifyRow>& rows) {
  size_t table_w = 5, target_w = 6;
  for (const auto& r : rows) {
    table_w = std::max(table_w, r.table().size());
    target_w = std::max(target_w, r.target().size());
  }
  fmt::print("\n{:<{}}  {:<{}}  {:<7}  {}\n", "TABLE", table_w, "TARGET", target_w, "ROW", "KEY");
  for (const auto& r : rows) {
    fmt::print("{:<{}}  {:<{}}  {:<7}  {}\n", r.table(), table_w, r.target(), target_w, r.kind(),
               r.key());
  }
}

int RunVerifyCommand(Context* context, const VerifyArgs& args) {
  auto usage = [](const std::string& message) {
    fmt::print(stderr, "sluice verify: {}\n", message);
    return kExitVerifyError;
  };
  v1::VerifyRequest request;
  const int64_t now = NowMicros();
  if (!args.from.empty()) {
    auto from = ParseVerifyTime(args.from, now);
    if (!from.ok())
      return usage(fmt::format("--from '{}': {}", args.from, from.status().message()));
    request.set_from_us(*from);
  }
  if (!args.to.empty()) {
    auto to = ParseVerifyTime(args.to, now);
    if (!to.ok()) return usage(fmt::format("--to '{}': {}", args.to, to.status().message()));
    request.set_to_us(*to);
  }
  if (request.has_from_us() && request.has_to_us() && request.from_us() >= request.to_us()) {
    return usage(fmt::format("--from '{}' is not before --to '{}'", args.from, args.to));
  }
  if (!args.bucket.empty()) {
    auto d = config::ParseDuration(args.bucket);
    if (!d.ok() || d->count() <= 0) {
      return usage(fmt::format("--bucket '{}': {}", args.bucket,
                               d.ok() ? "must be longer than 0" : d.status().message()));
    }
    request.set_bucket_us(std::chrono::duration_cast<std::chrono::microseconds>(*d).count());
  }
  if (args.max_rows < 1 || args.max_rows > 100'000) {
    return usage(fmt::format("--max-rows {}: must be 1 to 100000", args.max_rows));
  }
  request.set_rows(args.rows);
  request.set_max_rows(static_cast<uint32_t>(args.max_rows));
  auto names = SplitNames(args.tables);
  if (!names) return usage(fmt::format("--tables '{}': an empty table name", args.tables));
  for (auto& n : *names) request.add_tables(std::move(n));
  names = SplitNames(args.targets);
  if (!names) return usage(fmt::format("--targets '{}': an empty target name", args.targets));
  for (auto& n : *names) request.add_targets(std::move(n));

  int open_code = 0;
  auto conn = Connection::Open(context->service, "verify", &open_code);
  if (conn == nullptr) return open_code;  // 3: cannot be reached, as for every command
  // A check of a long range reads every row of it: no deadline but the operator's ^C.
  auto ctx = conn->NewContext(std::chrono::hours(24 * 365));
  auto reader = conn->admin().Verify(ctx.get(), request);
  std::vector<v1::VerifyBucket> buckets;
  std::vector<v1::VerifyRow> rows;
  std::optional<v1::VerifySummary> summary;
  // Progress on a terminal only: a log or a pipe gets the answer alone.
  const bool progress = !args.json && isatty(STDERR_FILENO) == 1;
  v1::VerifyResponse r;
  while (reader->Read(&r)) {
    if (r.has_progress() && progress) {
      fmt::print(stderr, "\r[{}/{}] {} on {}\033[K", r.progress().done(), r.progress().total(),
                 r.progress().table(), r.progress().target());
    }
    if (r.has_difference()) buckets.push_back(r.difference());
    if (r.has_row()) rows.push_back(r.row());
    if (r.has_summary()) summary = r.summary();
  }
  if (progress) fmt::print(stderr, "\r\033[K");
  grpc::Status status = reader->Finish();
  if (!status.ok()) {
    // 1 means "the targets differ" here, so a refusal is 2; unreachable stays 3.
    return conn->Fail("verify", status) == kExitError ? kExitError : kExitVerifyError;
  }
  if (!summary) {
    fmt::print(stderr, "sluice verify: the service ended the check without a summary\n");
    return kExitVerifyError;
  }
  if (args.json) {
    std::string out = "{\"summary\": " + Json(*summary) + ", \"differences\": [";
    for (size_t i = 0; i < buckets.size(); ++i) out += (i ? ", " : "") + Json(buckets[i]);
    out += "], \"rows\": [";
    for (size_t i = 0; i < rows.size(); ++i) out += (i ? ", " : "") + Json(rows[i]);
    fmt::print("{}]}}\n", out);
    return summary->equal() ? kExitOk : kExitDiffer;
  }
  int64_t total = 0;
  for (const auto& t : summary->totals()) {
    if (t.target() == summary->reference()) total += t.rows();
  }
  for (const auto& [target, lag] : summary->lag_records()) {
    if (lag > 0) {
      fmt::print(
          "note: target '{}' had {} record(s) to apply when the check began; its latest "
          "buckets differ until it has caught up\n",
          target, lag);
    }
  }
  for (const auto& s : summary->skipped()) fmt::print("not compared: {}\n", s);
  if (summary->equal()) {
    fmt::print("all {} targets equal over {}: {} table(s), {} bucket(s), {} row(s) each\n",
               summary->targets_size(), RangeText(*summary), summary->tables_size(),
               summary->buckets(), total);
    return kExitOk;
  }
  PrintDifferences(buckets);
  if (!rows.empty()) PrintRows(rows);
  fmt::print("\ntargets differ over {}: {} of {} bucket(s) differ", RangeText(*summary),
             summary->differing_buckets(), summary->buckets());
  if (args.rows) {
    fmt::print("; {} row(s) listed relative to '{}'{}", summary->differing_rows(),
               summary->reference(),
               summary->rows_truncated() ? fmt::format(" (more differ: raise --max-rows)") : "");
  } else {
    fmt::print(" (--rows lists the differing rows)");
  }
  fmt::print("\n");
  return kExitDiffer;
}

}  // namespace

void RegisterVerifyCommands(CLI::App& app, Context* context) {
  auto args = std::make_shared<VerifyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "verify",
      "compare every enabled target's rows: per table and time bucket, row count and checksum "
      "computed in each database; names the buckets (and with --rows the rows) that differ");
  cmd->add_option(
      "--from", args->from,
      "first time compared (RFC 3339, microseconds, now, now-DURATION); default: no bound");
  cmd->add_option("--to", args->to, "end of the range, exclusive (same forms); default: no bound");
  cmd->add_option("--tables", args->tables,
                  "compare only these tables, comma-separated (default: every Sluice-managed table "
                  "that targets share)");
  cmd->add_option("--targets", args->targets,
                  "compare only these targets, comma-separated, disabled ones too (default: every "
                  "enabled target)");
  cmd->add_option("--bucket", args->bucket, "width of the time buckets (default 1d)");
  cmd->add_flag("--rows", args->rows,
                "list the differing rows (missing, extra, changed; relative to the active target)");
  cmd->add_option("--max-rows", args->max_rows,
                  "list at most this many rows (default 100, at most 100000)");
  cmd->add_flag("--json", args->json, "print the whole answer as JSON");
  cmd->footer(
      "Exit codes: 0 every target holds the same rows, 1 the targets differ, 2 error (bad flags, "
      "refused), 3 the service cannot be reached. docs/verify.md says what is compared.");
  cmd->callback([context, args] { context->exit_code = RunVerifyCommand(context, *args); });
}

}  // namespace sluice::cli

// `sluice modify`: the manual correction of history samples through History.ModifySamples.
// One time for one or more points from the command line, or many edits from a CSV file
// (sample_edit_csv.h); reported as `sluice sql` reports a synchronous write (APPLIED /
// REJECTED / UNKNOWN with the LSN; exit 0 / 1 / 4).

#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/catalog_write_report.h"
#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/sample_csv.h"
#include "cli/sample_edit_csv.h"
#include "sampling/intervals.h"

namespace sluice::cli {
namespace {

struct ModifyArgs {
  std::vector<int64_t> points;
  std::string interval;
  std::optional<std::string> at;
  std::optional<double> value;
  std::optional<uint32_t> quality;
  std::string why;
  std::optional<std::string> file;
  bool insert_missing = false;
  bool recall = false;
};

// The edits the arguments ask for; nullopt (the message printed) when they do not say.
std::optional<std::vector<v1::SampleEdit>> EditsOf(const ModifyArgs& args) {
  if (args.file) {
    if (!args.points.empty() || args.at || args.value || args.quality) {
      fmt::print(stderr,
                 "sluice modify: --file gives the points, times, values and qualities; do not "
                 "also give POINT, --at, --value or --quality\n");
      return std::nullopt;
    }
    std::ifstream in(*args.file);
    if (!in) {
      fmt::print(stderr, "sluice modify: cannot open {}\n", *args.file);
      return std::nullopt;
    }
    auto edits = ParseSampleEditCsv(in, *args.file);
    if (!edits.ok()) {
      fmt::print(stderr, "sluice modify: {}\n", edits.status().message());
      return std::nullopt;
    }
    if (edits->empty()) {
      fmt::print(stderr, "sluice modify: {} holds no edit\n", *args.file);
      return std::nullopt;
    }
    return std::move(edits).value();
  }
  if (args.points.empty() || !args.at) {
    fmt::print(stderr, "sluice modify: give POINT[,POINT..] and --at TIME, or --file CSV\n");
    return std::nullopt;
  }
  if (!args.value && !args.quality) {
    fmt::print(stderr, "sluice modify: give --value, --quality or both\n");
    return std::nullopt;
  }
  auto ts = ParseSampleTime(*args.at);
  if (!ts.ok()) {
    fmt::print(stderr, "sluice modify: --at {}: {}\n", *args.at, ts.status().message());
    return std::nullopt;
  }
  std::vector<v1::SampleEdit> edits;
  for (int64_t point : args.points) {
    v1::SampleEdit& e = edits.emplace_back();
    e.set_point_id(point);
    e.set_ts_us(*ts);
    if (args.value) e.set_value(*args.value);
    if (args.quality) e.set_quality(*args.quality);
  }
  return edits;
}

void RunModify(Context* context, const ModifyArgs& args) {
  auto interval = sampling::ParseInterval(args.interval);
  if (!interval.ok()) {
    fmt::print(stderr, "sluice modify: --interval {}: {}\n", args.interval,
               interval.status().message());
    context->exit_code = kExitUsage;
    return;
  }
  auto edits = EditsOf(args);
  if (!edits) {
    context->exit_code = kExitUsage;
    return;
  }
  v1::ModifySamplesRequest req;
  req.set_interval(*interval);
  req.set_why(args.why);
  req.set_insert_missing(args.insert_missing);
  req.set_correct_recall(args.recall);
  for (auto& e : *edits) *req.add_edits() = std::move(e);
  // The service checks the rest (points in the catalog, times, duplicates, samples that
  // exist) and names the edit.
  auto conn = Connection::Open(context->service, "modify", &context->exit_code);
  if (!conn) return;
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->history().ModifySamples(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("History.ModifySamples", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(
      resp, fmt::format("{} sample(s) of sample_{} corrected{}", resp.rows_affected(),
                        args.interval, args.recall ? " with their recall rows" : ""));
}

}  // namespace

void RegisterModifyCommands(CLI::App& app, Context* context) {
  auto args = std::make_shared<ModifyArgs>();
  auto* modify = app.add_subcommand(
      "modify",
      "Corrects history samples by hand (History.ModifySamples): value and/or quality, marked "
      "substituted, logged in sample_edit_log with the old value, who and why");
  modify->add_option("POINT", args->points, "Point ids, comma-separated")->delimiter(',');
  modify
      ->add_option("--interval", args->interval,
                   "The sample table: 1s 5s 1min 5min 10min 15min 30min 1h 8h 1d")
      ->required();
  modify->add_option("--at", args->at,
                     "The samples' time: ISO 8601 (\"2026-12-06T12:00:00Z\") or µs since 1970");
  modify->add_option("--value", args->value, "The new value (default: keep the stored one)");
  modify->add_option("--quality", args->quality,
                     "The new quality bits (default: keep the stored ones); the substituted "
                     "bit (4) is always added");
  modify->add_option("--why", args->why, "The reason, kept in sample_edit_log")->required();
  modify->add_option("--file", args->file,
                     "A CSV of edits: point_id,ts,value[,quality] (an empty field keeps the "
                     "stored one), instead of POINT and --at");
  modify->add_flag("--insert-missing", args->insert_missing,
                   "Insert the samples that do not exist instead of refusing the request");
  modify->add_flag("--recall", args->recall,
                   "Also correct the recall_sample rows of the same points and time");
  modify->callback([context, args] { RunModify(context, *args); });
}

}  // namespace sluice::cli

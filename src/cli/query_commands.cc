// `sluice query raw|interp|agg|limits POINT...`: history questions through the History
// service, printed as a table, CSV or JSON (history_view.h), optionally drawn into a PNG
// (history_plot.h). Points are given by id or by name (the catalog resolves names, and
// gives the names, kinds and limits shown). Times are RFC 3339 / ISO 8601, microseconds,
// "now" or "now-DURATION"; --to defaults to now and --from to one hour before --to.
// Exit codes: 0 answered, 1 the service refused, 2 bad arguments, 3 unreachable.

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/history_plot.h"
#include "cli/history_view.h"
#include "cli/sample_csv.h"
#include "cli/text_util.h"
#include "common/wall_clock.h"
#include "config/values.h"
#include "sampling/intervals.h"

namespace sluice::cli {
namespace {

struct QueryArgs {
  std::vector<std::string> points;
  std::string interval = "1s";
  std::string from, to;
  std::string step;
  std::string format = "table";
  std::string plot;
  bool pending = false;
  // raw
  bool bounds = false;
  uint32_t page = 0;
  // interp, agg, limits
  std::string aggregates = "Average,Minimum,Maximum,Count";
  bool stepped = false, sloped = false;
  bool uncertain_as_good = false;
  std::optional<uint32_t> percent_good, percent_bad;
  std::optional<double> high, low;
};

// What a subcommand resolved before it asks: the request's common parts.
struct Resolved {
  std::unique_ptr<Connection> conn;
  v1::HistoryRange range;
  int64_t step_us = 0;
  OutputFormat format = OutputFormat::kTable;
  PointNames names;
  std::map<int64_t, v1::CatalogPoint> catalog;  // the points asked, as the catalog has them
};

bool Usage(Context* context, std::string_view command, const std::string& message) {
  fmt::print(stderr, "sluice query {}: {}\n", command, message);
  context->exit_code = kExitUsage;
  return false;
}

Result<int64_t> ParseQueryTime(std::string_view text, int64_t now_us) {
  if (text == "now") return now_us;
  if (text.starts_with("now-")) {
    auto d = config::ParseDuration(text.substr(4));
    if (!d.ok()) return d.status();
    return now_us - std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
  }
  return ParseSampleTime(text);
}

// Parses the shared options, reaches the service and resolves the points.
std::optional<Resolved> Resolve(Context* context, std::string_view command, const QueryArgs& args,
                                bool needs_step) {
  Resolved r;
  auto format = ParseOutputFormat(args.format);
  if (!format.ok()) return Usage(context, command, "--format: " + format.status().message()), std::nullopt;
  r.format = *format;
  auto interval = sampling::ParseInterval(args.interval);
  if (!interval.ok()) {
    Usage(context, command, fmt::format("--interval {}: {}", args.interval, interval.status().message()));
    return std::nullopt;
  }
  r.range.set_interval(*interval);
  const int64_t now = NowMicros();
  auto to = args.to.empty() ? Result<int64_t>(now) : ParseQueryTime(args.to, now);
  if (!to.ok()) return Usage(context, command, fmt::format("--to {}: {}", args.to, to.status().message())), std::nullopt;
  auto from = args.from.empty() ? Result<int64_t>(*to - 3'600'000'000LL) : ParseQueryTime(args.from, now);
  if (!from.ok()) {
    Usage(context, command, fmt::format("--from {}: {}", args.from, from.status().message()));
    return std::nullopt;
  }
  if (*from >= *to) {
    Usage(context, command, fmt::format("--from {} is not before --to {}", config::FormatTimestamp(*from),
                                        config::FormatTimestamp(*to)));
    return std::nullopt;
  }
  r.range.set_start_us(*from);
  r.range.set_end_us(*to);
  r.range.set_include_pending(args.pending);
  if (needs_step) {
    if (args.step.empty()) return Usage(context, command, "--step is required (e.g. --step 15min)"), std::nullopt;
    auto step = config::ParseDuration(args.step);
    if (!step.ok() || step->count() <= 0) {
      Usage(context, command, fmt::format("--step {}: {}", args.step,
                                          step.ok() ? "must be longer than 0" : step.status().message()));
      return std::nullopt;
    }
    r.step_us = std::chrono::duration_cast<std::chrono::microseconds>(*step).count();
  }
  if (args.stepped && args.sloped) return Usage(context, command, "--stepped and --sloped exclude each other"), std::nullopt;

  r.conn = Connection::Open(context->service, fmt::format("query {}", command), &context->exit_code);
  if (!r.conn) return std::nullopt;
  // Names -> ids through the catalog (all of it, once, only when a name is given).
  std::map<std::string, int64_t> by_name;
  bool any_name = false;
  for (const auto& p : args.points) any_name = any_name || !AllDigits(p);
  if (any_name) {
    v1::ListPointsResponse all;
    auto ctx = r.conn->NewContext();
    grpc::Status s = r.conn->sampling().ListPoints(ctx.get(), v1::ListPointsRequest(), &all);
    if (!s.ok()) {
      context->exit_code = r.conn->Fail("Sampling.ListPoints", s);
      return std::nullopt;
    }
    for (const auto& p : all.points()) by_name[p.name()] = p.id();
  }
  v1::ListPointsRequest wanted;
  for (const auto& p : args.points) {
    int64_t id = 0;
    if (AllDigits(p)) {
      id = std::stoll(p);
    } else if (auto it = by_name.find(p); it != by_name.end()) {
      id = it->second;
    } else {
      Usage(context, command, fmt::format("point '{}' is not in the catalog (sluice points list)", p));
      return std::nullopt;
    }
    r.range.add_point_ids(id);
    wanted.add_point_ids(id);
  }
  v1::ListPointsResponse known;
  auto ctx = r.conn->NewContext();
  grpc::Status s = r.conn->sampling().ListPoints(ctx.get(), wanted, &known);
  if (!s.ok()) {
    context->exit_code = r.conn->Fail("Sampling.ListPoints", s);
    return std::nullopt;
  }
  for (const auto& p : known.points()) {
    r.names[p.id()] = p.name();
    r.catalog[p.id()] = p;
  }
  return r;
}

void FillSettings(const QueryArgs& args, v1::AggregateSettings* settings) {
  if (args.uncertain_as_good) settings->set_treat_uncertain_as_bad(false);
  if (args.percent_good) settings->set_percent_data_good(*args.percent_good);
  if (args.percent_bad) settings->set_percent_data_bad(*args.percent_bad);
  if (args.stepped) settings->set_stepped(true);
  if (args.sloped) settings->set_stepped(false);
}

// The plot's limits: one point's hi/lo (or those given), none for several points.
void PlotLimits(const Resolved& r, const QueryArgs& args, PlotRequest* plot) {
  plot->high = args.high;
  plot->low = args.low;
  if (r.range.point_ids_size() != 1) return;
  auto it = r.catalog.find(r.range.point_ids(0));
  if (it == r.catalog.end()) return;
  if (!plot->high && it->second.has_hi()) plot->high = it->second.hi();
  if (!plot->low && it->second.has_lo()) plot->low = it->second.lo();
}

std::string Label(const Resolved& r, int64_t id) {
  auto it = r.names.find(id);
  return it == r.names.end() || it->second.empty() ? std::to_string(id) : it->second;
}

bool IsStatusPoint(const Resolved& r, int64_t id) {
  auto it = r.catalog.find(id);
  return it != r.catalog.end() && it->second.kind() == 1;
}

// Reads every page of a raw read.
std::optional<v1::ReadRawResponse> ReadAllRaw(Context* context, Resolved& r, bool bounds, uint32_t page) {
  v1::ReadRawRequest req;
  *req.mutable_range() = r.range;
  req.set_bounds(bounds);
  req.set_max_values(page);
  v1::ReadRawResponse all;
  std::map<int64_t, v1::PointRawSamples*> by_point;
  do {
    v1::ReadRawResponse resp;
    auto ctx = r.conn->NewContext();
    grpc::Status s = r.conn->history().ReadRaw(ctx.get(), req, &resp);
    if (!s.ok()) {
      context->exit_code = r.conn->Fail("History.ReadRaw", s);
      return std::nullopt;
    }
    for (auto& p : *resp.mutable_points()) {
      auto [it, fresh] = by_point.try_emplace(p.point_id(), nullptr);
      if (fresh) {
        it->second = all.add_points();
        it->second->set_point_id(p.point_id());
      }
      v1::PointRawSamples* into = it->second;
      if (p.has_bound_before()) *into->mutable_bound_before() = p.bound_before();
      if (p.has_bound_after()) *into->mutable_bound_after() = p.bound_after();
      for (auto& sample : *p.mutable_samples()) *into->add_samples() = std::move(sample);
    }
    req.set_continuation(resp.continuation());
  } while (!req.continuation().empty());
  return all;
}

bool WritePlot(Context* context, std::string_view command, const std::string& path, PlotRequest& plot) {
  Status s = WritePlotPng(plot, path);
  if (!s.ok()) {
    fmt::print(stderr, "sluice query {}: --plot: {}\n", command, s.message());
    context->exit_code = kExitFailed;
    return false;
  }
  fmt::print(stderr, "sluice query {}: plot written to {}\n", command, path);
  return true;
}

PlotRequest RawPlot(const Resolved& r, const QueryArgs& args, const v1::ReadRawResponse& raw) {
  PlotRequest plot;
  plot.from_us = r.range.start_us();
  plot.to_us = r.range.end_us();
  plot.title = fmt::format("{} ({})", sampling::SampleTableName(r.range.interval()), "raw");
  for (const auto& p : raw.points()) {
    PlotSeries s;
    s.label = Label(r, p.point_id());
    s.stepped = IsStatusPoint(r, p.point_id());
    for (const auto& x : p.samples()) {
      const bool bad = (x.quality() & v1::QUALITY_INVALID) != 0;
      s.points.push_back({x.ts_us(), x.has_value() && !bad ? std::optional<double>(x.value()) : std::nullopt});
    }
    plot.series.push_back(std::move(s));
  }
  PlotLimits(r, args, &plot);
  return plot;
}

void RunRaw(Context* context, const QueryArgs& args) {
  auto r = Resolve(context, "raw", args, false);
  if (!r) return;
  auto raw = ReadAllRaw(context, *r, args.bounds, args.page);
  if (!raw) return;
  fmt::print("{}", RenderRaw(*raw, r->names, r->format));
  if (!args.plot.empty()) {
    PlotRequest plot = RawPlot(*r, args, *raw);
    WritePlot(context, "raw", args.plot, plot);
  }
}

void RunAggregates(Context* context, const QueryArgs& args, bool interpolated) {
  const std::string_view command = interpolated ? "interp" : "agg";
  auto r = Resolve(context, command, args, true);
  if (!r) return;
  v1::ReadAggregatesResponse resp;
  auto ctx = r->conn->NewContext(std::chrono::seconds(300));
  grpc::Status s;
  if (interpolated) {
    v1::ReadInterpolatedRequest req;
    *req.mutable_range() = r->range;
    req.set_step_us(r->step_us);
    FillSettings(args, req.mutable_settings());
    s = r->conn->history().ReadInterpolated(ctx.get(), req, &resp);
  } else {
    v1::ReadAggregatesRequest req;
    *req.mutable_range() = r->range;
    req.set_step_us(r->step_us);
    FillSettings(args, req.mutable_settings());
    std::string_view rest = args.aggregates;
    while (!rest.empty()) {
      const size_t comma = rest.find(',');
      const std::string_view name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      auto type = ParseAggregateType(name);
      if (!type.ok()) {
        Usage(context, command, "--aggregates: " + type.status().message());
        return;
      }
      req.add_aggregates(*type);
    }
    s = r->conn->history().ReadAggregates(ctx.get(), req, &resp);
  }
  if (!s.ok()) {
    context->exit_code = r->conn->Fail(interpolated ? "History.ReadInterpolated" : "History.ReadAggregates", s);
    return;
  }
  fmt::print("{}", RenderAggregates(resp, r->names, r->range.start_us(), r->step_us, r->format));
  if (!args.plot.empty()) {
    PlotRequest plot;
    plot.from_us = r->range.start_us();
    plot.to_us = r->range.end_us();
    plot.title = fmt::format("{} every {}", interpolated ? "interpolated" : "aggregates",
                             config::FormatDuration(std::chrono::microseconds(r->step_us)));
    for (const auto& series : resp.series()) {
      PlotSeries ps;
      ps.label = fmt::format("{} {}", Label(*r, series.point_id()), AggregateTypeName(series.aggregate()));
      for (const auto& v : series.values()) {
        ps.points.push_back({v.ts_us(), v.has_value() ? std::optional<double>(v.value()) : std::nullopt});
      }
      plot.series.push_back(std::move(ps));
    }
    PlotLimits(*r, args, &plot);
    WritePlot(context, command, args.plot, plot);
  }
}

void RunLimits(Context* context, const QueryArgs& args) {
  auto r = Resolve(context, "limits", args, true);
  if (!r) return;
  v1::ReadLimitStatsRequest req;
  *req.mutable_range() = r->range;
  req.set_step_us(r->step_us);
  if (args.high) req.set_high(*args.high);
  if (args.low) req.set_low(*args.low);
  FillSettings(args, req.mutable_settings());
  v1::ReadLimitStatsResponse resp;
  auto ctx = r->conn->NewContext(std::chrono::seconds(300));
  grpc::Status s = r->conn->history().ReadLimitStats(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = r->conn->Fail("History.ReadLimitStats", s);
    return;
  }
  fmt::print("{}", RenderLimits(resp, r->names, r->format));
  if (!args.plot.empty()) {
    // The curve the statistics were computed from, with the limits they used.
    auto raw = ReadAllRaw(context, *r, false, 0);
    if (!raw) return;
    PlotRequest plot = RawPlot(*r, args, *raw);
    if (resp.series_size() == 1) {
      if (resp.series(0).has_high()) plot.high = resp.series(0).high();
      if (resp.series(0).has_low()) plot.low = resp.series(0).low();
    }
    WritePlot(context, "limits", args.plot, plot);
  }
}

void AddCommon(CLI::App* cmd, QueryArgs* args) {
  cmd->add_option("points", args->points, "point ids or names")->required();
  cmd->add_option("--interval", args->interval, "sample table: 1s, 5s, 1min, 5min, 10min, 15min, 30min, 1h, 8h, 1d")
      ->capture_default_str();
  cmd->add_option("--from", args->from, "start (RFC 3339, microseconds, now, now-DURATION); default: --to - 1h");
  cmd->add_option("--to", args->to, "end, exclusive; default: now");
  cmd->add_option("--format", args->format, "table, csv or json")->capture_default_str();
  cmd->add_option("--plot", args->plot, "also draw the curve with its limits into this PNG file");
  cmd->add_flag("--pending", args->pending, "also samples journaled but not yet applied on the active target");
}

void AddAggregateSettings(CLI::App* cmd, QueryArgs* args) {
  cmd->add_option("--step", args->step, "interval length, e.g. 15min")->required();
  cmd->add_flag("--stepped", args->stepped, "hold values between samples (default for status points)");
  cmd->add_flag("--sloped", args->sloped, "interpolate between samples (default for analog points)");
  cmd->add_flag("--uncertain-as-good", args->uncertain_as_good, "use uncertain samples (OPC UA TreatUncertainAsBad = false)");
  cmd->add_option("--percent-good", args->percent_good, "PercentDataGood, 0..100 (default 100)");
  cmd->add_option("--percent-bad", args->percent_bad, "PercentDataBad, 0..100 (default 100)");
}

}  // namespace

void RegisterQueryCommands(CLI::App& app, Context* context) {
  auto* query = app.add_subcommand("query", "history: raw values, interpolation, aggregates, limit statistics");
  query->require_subcommand(1);
  auto args = std::make_shared<QueryArgs>();

  auto* raw = query->add_subcommand("raw", "the stored samples of points over a time range");
  AddCommon(raw, args.get());
  raw->add_flag("--bounds", args->bounds, "also the sample before --from and the first at or after --to");
  raw->add_option("--page", args->page, "samples per call (0: the service's default)");
  raw->add_option("--high", args->high, "limit drawn by --plot (default: the point's hi)");
  raw->add_option("--low", args->low, "limit drawn by --plot (default: the point's lo)");
  raw->callback([context, args] { RunRaw(context, *args); });

  auto* interp = query->add_subcommand("interp", "interpolated values every --step");
  AddCommon(interp, args.get());
  AddAggregateSettings(interp, args.get());
  interp->callback([context, args] { RunAggregates(context, *args, true); });

  auto* agg = query->add_subcommand("agg", "OPC UA Part 13 aggregates per --step interval");
  AddCommon(agg, args.get());
  AddAggregateSettings(agg, args.get());
  agg->add_option("--aggregates", args->aggregates, "comma-separated Part 13 names")->capture_default_str();
  agg->callback([context, args] { RunAggregates(context, *args, false); });

  auto* limits = query->add_subcommand("limits", "excursions beyond limits and the pass rate per --step interval");
  AddCommon(limits, args.get());
  AddAggregateSettings(limits, args.get());
  limits->add_option("--high", args->high, "high limit (default: the point's hi)");
  limits->add_option("--low", args->low, "low limit (default: the point's lo)");
  limits->callback([context, args] { RunLimits(context, *args); });
}

}  // namespace sluice::cli

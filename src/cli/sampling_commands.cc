// `sluice points ...` and `sluice define ...`: the sampling catalog through the Sampling
// service. Writes are synchronous model writes, reported as `sluice sql` reports them
// (APPLIED / REJECTED / UNKNOWN with the LSN; exit 0 / 1 / 4).

#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/catalog_write_report.h"
#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/point_csv.h"
#include "sampling/catalog.h"
#include "sampling/catalog_types.h"
#include "sampling/intervals.h"

namespace sluice::cli {
namespace {

// Points per PutPoints call of an import (the service takes at most
// sampling::kMaxChangeEntries per change).
constexpr size_t kImportBatch = 1000;

struct PointSetArgs {
  int64_t id = 0;
  std::optional<std::string> name, description, kind, unit, station, element;
  std::optional<double> lolo, lo, hi, hihi, deadband;
};

struct DefineArgs {
  std::vector<int64_t> points;
  std::vector<std::string> intervals;
  bool passive = false;
  bool disabled = false;
};

// A limit as the import reads it: empty when not set.
std::string Limit(bool has, double v) { return has ? fmt::format("{}", v) : ""; }

bool ParseIntervals(const std::vector<std::string>& names, std::string_view command,
                    google::protobuf::RepeatedField<int>* out, int* exit_code) {
  for (const auto& name : names) {
    auto interval = sampling::ParseInterval(name);
    if (!interval.ok()) {
      fmt::print(stderr, "sluice {}: --interval {}: {}\n", command, name,
                 interval.status().message());
      *exit_code = kExitUsage;
      return false;
    }
    out->Add(*interval);
  }
  return true;
}

void RunImport(Context* context, const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    fmt::print(stderr, "sluice points import: cannot read {}\n", file);
    context->exit_code = kExitUsage;
    return;
  }
  auto points = ParsePointCsv(in, file);
  if (!points.ok()) {
    fmt::print(stderr, "sluice points import: {}\n", points.status().message());
    context->exit_code = kExitUsage;
    return;
  }
  auto conn = Connection::Open(context->service, "points import", &context->exit_code);
  if (!conn) return;
  for (size_t first = 0; first < points->size(); first += kImportBatch) {
    const size_t last = std::min(points->size(), first + kImportBatch);
    v1::PutPointsRequest req;
    for (size_t i = first; i < last; ++i) *req.add_points() = (*points)[i];
    v1::ExecuteResponse resp;
    auto ctx = conn->NewContext();
    grpc::Status s = conn->sampling().PutPoints(ctx.get(), req, &resp);
    const std::string what =
        fmt::format("points {} to {} of {} ({} rows)", first + 1, last, file, last - first);
    if (!s.ok()) {
      context->exit_code = conn->Fail(fmt::format("Sampling.PutPoints of {}", what), s);
      return;
    }
    context->exit_code = ReportCatalogWrite(resp, what);
    if (context->exit_code != kExitOk) return;
  }
}

void RunList(Context* context) {
  auto conn = Connection::Open(context->service, "points list", &context->exit_code);
  if (!conn) return;
  v1::ListPointsResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().ListPoints(ctx.get(), v1::ListPointsRequest(), &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.ListPoints", s);
    return;
  }
  // CSV in the import's columns, so a list can be edited and imported again.
  fmt::print("id,name,description,kind,unit,lolo,lo,hi,hihi,deadband,station,element\n");
  auto quote = [](const std::string& s) {
    if (s.find_first_of(",\"") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  for (const auto& p : resp.points()) {
    fmt::print("{},{},{},{},{},{},{},{},{},{},{},{}\n", p.id(), quote(p.name()),
               quote(p.description()),
               sampling::PointKindName(static_cast<sampling::PointKind>(p.kind())), quote(p.unit()),
               Limit(p.has_lolo(), p.lolo()), Limit(p.has_lo(), p.lo()), Limit(p.has_hi(), p.hi()),
               Limit(p.has_hihi(), p.hihi()), p.deadband(), quote(p.station()), quote(p.element()));
  }
}

void RunSet(Context* context, const PointSetArgs& args) {
  auto conn = Connection::Open(context->service, "points set", &context->exit_code);
  if (!conn) return;
  v1::CatalogPoint p;
  {
    v1::ListPointsRequest req;
    req.add_point_ids(args.id);
    v1::ListPointsResponse resp;
    auto ctx = conn->NewContext();
    grpc::Status s = conn->sampling().ListPoints(ctx.get(), req, &resp);
    if (s.ok() && resp.points_size() == 1) {
      p = resp.points(0);
    } else if (s.error_code() == grpc::StatusCode::NOT_FOUND) {
      if (!args.name) {
        fmt::print(stderr, "sluice points set: point {} is new: --name is required\n", args.id);
        context->exit_code = kExitUsage;
        return;
      }
      p.set_id(args.id);
    } else {
      context->exit_code = conn->Fail("Sampling.ListPoints", s);
      return;
    }
  }
  if (args.name) p.set_name(*args.name);
  if (args.description) p.set_description(*args.description);
  if (args.unit) p.set_unit(*args.unit);
  if (args.station) p.set_station(*args.station);
  if (args.element) p.set_element(*args.element);
  if (args.kind) {
    auto kind = sampling::ParsePointKind(*args.kind);
    if (!kind.ok()) {
      fmt::print(stderr, "sluice points set: --kind: {}\n", kind.status().message());
      context->exit_code = kExitUsage;
      return;
    }
    p.set_kind(static_cast<int32_t>(*kind));
  }
  if (args.lolo) p.set_lolo(*args.lolo);
  if (args.lo) p.set_lo(*args.lo);
  if (args.hi) p.set_hi(*args.hi);
  if (args.hihi) p.set_hihi(*args.hihi);
  if (args.deadband) p.set_deadband(*args.deadband);
  v1::PutPointsRequest req;
  *req.add_points() = p;
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().PutPoints(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.PutPoints", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(resp, fmt::format("point {} set", args.id));
}

void RunDelete(Context* context, const std::vector<int64_t>& ids) {
  auto conn = Connection::Open(context->service, "points delete", &context->exit_code);
  if (!conn) return;
  v1::DeletePointsRequest req;
  for (int64_t id : ids) req.add_point_ids(id);
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().DeletePoints(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.DeletePoints", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(resp, fmt::format("{} point(s) deleted", ids.size()));
}

void RunDefine(Context* context, const DefineArgs& args) {
  v1::DefineRequest req;
  for (int64_t id : args.points) req.add_point_ids(id);
  if (args.intervals.empty()) {
    fmt::print(
        stderr,
        "sluice define: --interval is required (1s 5s 1min 5min 10min 15min 30min 1h 8h 1d)\n");
    context->exit_code = kExitUsage;
    return;
  }
  if (!ParseIntervals(args.intervals, "define", req.mutable_intervals(), &context->exit_code))
    return;
  req.set_mode(args.passive ? v1::DEFINITION_MODE_PASSIVE : v1::DEFINITION_MODE_ACTIVE);
  req.set_enabled(!args.disabled);
  auto conn = Connection::Open(context->service, "define", &context->exit_code);
  if (!conn) return;
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().Define(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.Define", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(
      resp, fmt::format("{} definition(s) of {} point(s)",
                        req.point_ids_size() * req.intervals_size(), req.point_ids_size()));
}

void RunDefineList(Context* context, const std::vector<int64_t>& ids) {
  auto conn = Connection::Open(context->service, "define list", &context->exit_code);
  if (!conn) return;
  v1::ListDefinitionsRequest req;
  for (int64_t id : ids) req.add_point_ids(id);
  v1::ListDefinitionsResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().ListDefinitions(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.ListDefinitions", s);
    return;
  }
  fmt::print("point_id,interval,mode,enabled\n");
  for (const auto& d : resp.definitions()) {
    fmt::print("{},{},{},{}\n", d.point_id(), sampling::Info(d.interval()).name,
               d.mode() == v1::DEFINITION_MODE_PASSIVE ? "passive" : "active",
               d.enabled() ? "true" : "false");
  }
}

void RunDefineRemove(Context* context, const DefineArgs& args) {
  v1::UndefineRequest req;
  for (int64_t id : args.points) req.add_point_ids(id);
  if (!ParseIntervals(args.intervals, "define remove", req.mutable_intervals(),
                      &context->exit_code))
    return;
  auto conn = Connection::Open(context->service, "define remove", &context->exit_code);
  if (!conn) return;
  v1::ExecuteResponse resp;
  auto ctx = conn->NewContext();
  grpc::Status s = conn->sampling().Undefine(ctx.get(), req, &resp);
  if (!s.ok()) {
    context->exit_code = conn->Fail("Sampling.Undefine", s);
    return;
  }
  context->exit_code = ReportCatalogWrite(
      resp, fmt::format("definitions of {} point(s) removed", req.point_ids_size()));
}

}  // namespace

void RegisterSamplingCommands(CLI::App& app, Context* context) {
  CLI::App* points =
      app.add_subcommand("points", "The point catalog of the sampler (Sampling service)");
  points->require_subcommand(1);

  auto* import = points->add_subcommand("import",
                                        "Upserts the points of a CSV file: a header line naming "
                                        "the columns (id and name required; description, "
                                        "kind, unit, lolo, lo, hi, hihi, deadband, station, "
                                        "element optional), then one point per line");
  auto file = std::make_shared<std::string>();
  import->add_option("FILE", *file, "The CSV file")->required();
  import->callback([context, file] { RunImport(context, *file);
});

auto* list = points->add_subcommand(
    "list", "Prints every point of the catalog as CSV (the import's columns)");
list->callback([context] { RunList(context); });

auto set_args = std::make_shared<PointSetArgs>();
auto* set = points->add_subcommand(
    "set", "Creates or changes one point: the options given replace its fields");
set->add_option("ID", set_args->id, "The point id (> 0)")->required();
set->add_option("--name", set_args->name, "The unique code (required for a new point)");
set->add_option("--description", set_args->description, "The name for people");
set->add_option("--kind", set_args->kind, "analog, status or counter");
set->add_option("--unit", set_args->unit, "The unit");
set->add_option("--lolo", set_args->lolo, "The lolo alarm limit");
set->add_option("--lo", set_args->lo, "The lo alarm limit");
set->add_option("--hi", set_args->hi, "The hi alarm limit");
set->add_option("--hihi", set_args->hihi, "The hihi alarm limit");
set->add_option("--deadband", set_args->deadband, "The deadband (>= 0, in the point's unit)");
set->add_option("--station", set_args->station, "Hydrology: the station code");
set->add_option("--element", set_args->element, "Hydrology: the element code");
set->callback([context, set_args] { RunSet(context, *set_args); });

auto del_ids = std::make_shared<std::vector<int64_t>>();
auto* del =
    points->add_subcommand("delete", "Deletes points (their definitions must be removed first)");
del->add_option("ID", *del_ids, "Point ids")->required();
del->callback([context, del_ids] { RunDelete(context, *del_ids); });

auto define_args = std::make_shared<DefineArgs>();
CLI::App* define = app.add_subcommand(
    "define",
    "Sample definitions: `sluice define POINT... --interval 1s` samples the points at 1 s");
define->require_subcommand(0, 1);
define->add_option("POINT", define_args->points, "Point ids");
define->add_option("--interval", define_args->intervals,
                   "An interval: 1s 5s 1min 5min 10min 15min 30min 1h 8h 1d (repeatable)");
define->add_flag(
    "--passive", define_args->passive,
    "Store the definition only: an application pushes the samples (default: active, sampled "
    "from the real-time point table)");
define->add_flag("--disabled", define_args->disabled, "Define it disabled");

auto list_ids = std::make_shared<std::vector<int64_t>>();
auto* dlist =
    define->add_subcommand("list", "Prints the definitions (of the points given, or all) as CSV");
dlist->add_option("POINT", *list_ids, "Point ids");
dlist->callback([context, list_ids] { RunDefineList(context, *list_ids); });

auto remove_args = std::make_shared<DefineArgs>();
auto* remove = define->add_subcommand(
    "remove", "Removes definitions of the points (at the --interval given, or all of theirs)");
remove->add_option("POINT", remove_args->points, "Point ids")->required();
remove->add_option("--interval", remove_args->intervals,
                   "An interval (repeatable; none: every interval)");
remove->callback([context, remove_args] { RunDefineRemove(context, *remove_args); });

define->callback([context, define_args, dlist, remove] {
  if (dlist->parsed() || remove->parsed()) return;
  if (define_args->points.empty()) {
    fmt::print(stderr, "sluice define: name the points to define (or `sluice define list`)\n");
    context->exit_code = kExitUsage;
    return;
  }
  RunDefine(context, *define_args);
});
}  // namespace sluice::cli

}  // namespace sluice::cli

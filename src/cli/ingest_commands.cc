// `sluice commit`: commits samples (CSV) or records (JSON lines) from a file or stdin to
// a stream of sluiced, through the Ingest service.

#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <google/protobuf/util/json_util.h>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/sample_csv.h"

namespace sluice::cli {
namespace {

struct CommitArgs {
  std::string stream;
  std::string file = "-";
  std::string format;  // csv | jsonl; default from the file name, else csv
  std::string interval = "1s";
  size_t rows_per_record = 10000;
};

struct IntervalName {
  const char* name;
  v1::SampleInterval interval;
};
constexpr IntervalName kIntervals[] = {
    {"1s", v1::SAMPLE_INTERVAL_1S},       {"5s", v1::SAMPLE_INTERVAL_5S},
    {"1min", v1::SAMPLE_INTERVAL_1MIN},   {"5min", v1::SAMPLE_INTERVAL_5MIN},
    {"10min", v1::SAMPLE_INTERVAL_10MIN}, {"15min", v1::SAMPLE_INTERVAL_15MIN},
    {"30min", v1::SAMPLE_INTERVAL_30MIN}, {"1h", v1::SAMPLE_INTERVAL_1H},
    {"8h", v1::SAMPLE_INTERVAL_8H},       {"1d", v1::SAMPLE_INTERVAL_1D},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// One v1::Record per line, in protobuf's JSON form.
Result<std::vector<v1::Record>> ParseJsonLines(std::istream& in, const std::string& source) {
  std::vector<v1::Record> records;
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#') continue;
    v1::Record r;
    auto s = google::protobuf::util::JsonStringToMessage(std::string(l), &r);
    if (!s.ok()) {
      return Status::InvalidArgument(fmt::format("{}:{}: not a record in protobuf JSON form: {}",
                                                 source, line_no, s.ToString()));
    }
    records.push_back(std::move(r));
  }
  return records;
}

int RunCommit(const ServiceOptions& so, const CommitArgs& args) {
  const char* cmd = "commit";
  std::string format = args.format;
  if (format.empty()) {
    bool jsonl = args.file.ends_with(".jsonl") || args.file.ends_with(".json");
    format = jsonl ? "jsonl" : "csv";
  }
  v1::SampleInterval interval = v1::SAMPLE_INTERVAL_UNSPECIFIED;
  for (const auto& i : kIntervals) {
    if (args.interval == i.name) interval = i.interval;
  }
  if (interval == v1::SAMPLE_INTERVAL_UNSPECIFIED) {
    fmt::print(
        stderr,
        "sluice {}: --interval '{}' is not one of 1s 5s 1min 5min 10min 15min 30min 1h 8h 1d\n",
        cmd, args.interval);
    return kExitUsage;
  }
  if (args.rows_per_record == 0) {
    fmt::print(stderr, "sluice {}: --rows-per-record must be at least 1\n", cmd);
    return kExitUsage;
  }

  std::ifstream file;
  std::istream* in = &std::cin;
  std::string source = "stdin";
  if (args.file != "-") {
    file.open(args.file);
    if (!file) {
      fmt::print(stderr, "sluice {}: cannot read {}: {}\n", cmd, args.file, std::strerror(errno));
      return kExitUsage;
    }
    in = &file;
    source = args.file;
  }
  const bool csv = format == "csv";
  auto records = csv ? ParseSampleCsv(*in, source, interval, args.rows_per_record)
                     : ParseJsonLines(*in, source);
  if (!records.ok()) {
    fmt::print(stderr, "sluice {}: {}\n", cmd, records.status().message());
    return kExitUsage;
  }
  if (records->empty()) {
    fmt::print(stderr, "sluice {}: {} holds no {}\n", cmd, source, csv ? "rows" : "records");
    return kExitUsage;
  }

  int code = kExitOk;
  auto conn = Connection::Open(so, cmd, &code);
  if (!conn) return code;
  // The service's limits, so requests are cut to fit them.
  v1::HelloRequest hello;
  hello.set_client_id("sluice-cli");
  v1::HelloResponse limits;
  {
    auto ctx = conn->NewContext();
    grpc::Status st = conn->ingest().Hello(ctx.get(), hello, &limits);
    if (!st.ok()) return conn->Fail("Ingest.Hello", st);
  }
  size_t max_records = std::max<size_t>(1, limits.max_records_per_request());
  size_t max_bytes = std::max<size_t>(1, limits.max_message_bytes() / 2);

  // A CSV user counts rows (samples), a JSON-lines user counts records (lines): what is
  // reported is what they count.
  auto done = [&](size_t records_done, size_t rows_done) {
    return csv ? fmt::format("{} rows in {} records", rows_done, records_done)
               : fmt::format("{} records", records_done);
  };
  size_t committed = 0;
  size_t committed_rows = 0;
  uint64_t first_lsn = 0, last_lsn = 0;
  size_t i = 0;
  while (i < records->size()) {
    v1::CommitRequest req;
    req.set_stream(args.stream);
    size_t bytes = 0;
    size_t rows = 0;
    while (i < records->size() && static_cast<size_t>(req.records_size()) < max_records) {
      size_t b = (*records)[i].ByteSizeLong();
      if (req.records_size() > 0 && bytes + b > max_bytes) break;
      bytes += b;
      rows += static_cast<size_t>((*records)[i].samples().point_id_size());
      *req.add_records() = std::move((*records)[i++]);
    }
    v1::CommitResponse resp;
    auto ctx = conn->NewContext(std::chrono::seconds(300));
    grpc::Status st = conn->ingest().Commit(ctx.get(), req, &resp);
    if (!st.ok()) {
      if (committed > 0) {
        fmt::print(
            stderr,
            "sluice {}: {} were committed to stream {} (LSN {}..{}) before this failure\n",
            cmd, done(committed, committed_rows), args.stream, first_lsn, last_lsn);
      }
      return conn->Fail(fmt::format("Ingest.Commit of records {}..{}", committed,
                                    committed + static_cast<size_t>(req.records_size()) - 1),
                        st);
    }
    if (committed == 0 && resp.lsns_size() > 0) first_lsn = resp.lsns(0);
    if (resp.lsns_size() > 0) last_lsn = resp.lsns(resp.lsns_size() - 1);
    committed += static_cast<size_t>(req.records_size());
    committed_rows += rows;
  }
  fmt::print("committed {} to stream {} (LSN {}..{})\n", done(committed, committed_rows),
             args.stream, first_lsn, last_lsn);
  return kExitOk;
}

}  // namespace

void RegisterIngestCommands(CLI::App& app, Context* context) {
  auto args = std::make_shared<CommitArgs>();
  CLI::App* commit = app.add_subcommand(
      "commit",
      "Commit samples (CSV) or records (JSON lines) to a stream; returns once they are durable "
      "in sluiced's journal");
  commit->add_option("--stream", args->stream, "The stream")->required();
  commit->add_option("--file", args->file, "Input file, or - for stdin")->capture_default_str();
  commit
      ->add_option("--format", args->format,
                   "csv: lines point_id,ts,value[,quality] (ts in microseconds since 1970 or "
                   "ISO 8601 with offset Z, +hh, +hhmm or +hh:mm, none meaning UTC), a header "
                   "line allowed; jsonl: one record per line in "
                   "protobuf JSON form. Default: from the file name (.jsonl/.json), else csv")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  commit
      ->add_option("--interval", args->interval,
                   "CSV: the sample interval, i.e. the table the rows land in (sample_1s ... "
                   "sample_1d; 1s 5s 1min 5min 10min 15min 30min 1h 8h 1d)")
      ->capture_default_str();
  commit->add_option("--rows-per-record", args->rows_per_record, "CSV: samples per record")
      ->capture_default_str();
  commit->footer(
      "Exit codes: 0 every row (record) committed, 1 the service refused a request (the message names "
      "the limit or record; rows of earlier requests stay committed and are counted on "
      "stderr), 2 usage error or bad input (the message names file and line), 3 cannot reach "
      "the service.");
  commit->callback([context, args] { context->exit_code = RunCommit(context->service, *args); });
}

}  // namespace sluice::cli

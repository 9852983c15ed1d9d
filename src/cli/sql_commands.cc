// `sluice sql` (Sql.Execute / Sql.GetOutcome) and `sluice download` (Download.ReadTable,
// CSV on stdout).

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/client_connection.h"
#include "cli/commands.h"
#include "cli/text_util.h"
#include "common/hex.h"
#include "config/values.h"

namespace sluice::cli {
namespace {

struct SqlArgs {
  std::string statement;
  std::vector<std::string> params;
  bool read = false;
  bool json = false;
  uint64_t outcome_lsn = 0;
  uint32_t max_rows = 0;
  int timeout_s = 120;
};

struct DownloadArgs {
  std::string table;
  std::string query;
  uint32_t batch = 0;
};

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "int:5", "float:1.5", "text:abc", "null", "blob-file:PATH", "ts:ISO-8601", else text.
bool ParseParam(const std::string& spec, v1::SqlValue* out, std::string* error) {
  std::string_view s = spec;
  try {
    if (s == "null") {
      out->set_null_value(true);
    } else if (StartsWith(s, "int:")) {
      size_t used = 0;
      std::string v(s.substr(4));
      long long n = std::stoll(v, &used);
      if (used != v.size()) throw std::invalid_argument("trailing characters");
      out->set_int_value(n);
    } else if (StartsWith(s, "float:")) {
      size_t used = 0;
      std::string v(s.substr(6));
      double d = std::stod(v, &used);
      if (used != v.size()) throw std::invalid_argument("trailing characters");
      out->set_double_value(d);
    } else if (StartsWith(s, "text:")) {
      out->set_text_value(std::string(s.substr(5)));
    } else if (StartsWith(s, "blob-file:")) {
      std::string path(s.substr(10));
      std::ifstream in(path, std::ios::binary);
      if (!in) {
        *error = fmt::format("--param {}: cannot read {}", spec, path);
        return false;
      }
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      out->set_blob_value(std::move(bytes));
    } else if (StartsWith(s, "ts:")) {
      auto ts = config::ParseTimestamp(s.substr(3));
      if (!ts.ok()) {
        *error = fmt::format("--param {}: {}", spec, ts.status().message());
        return false;
      }
      out->set_timestamp_us(*ts);
    } else {
      out->set_text_value(spec);
    }
  } catch (const std::exception&) {
    *error = fmt::format("--param {}: not a valid number", spec);
    return false;
  }
  return true;
}

std::string BlobHex(const std::string& bytes) { return "\\x" + HexEncode(bytes); }

// A value as text (tables and CSV); null as `null_text`.
std::string ValueText(const v1::SqlValue& v, std::string_view null_text) {
  switch (v.kind_case()) {
    case v1::SqlValue::kIntValue:
      return std::to_string(v.int_value());
    case v1::SqlValue::kDoubleValue:
      return fmt::format("{}", v.double_value());
    case v1::SqlValue::kTextValue:
      return v.text_value();
    case v1::SqlValue::kClobValue:
      return v.clob_value();
    case v1::SqlValue::kBlobValue:
      return BlobHex(v.blob_value());
    case v1::SqlValue::kTimestampUs:
      return config::FormatTimestamp(v.timestamp_us());
    case v1::SqlValue::kNullValue:
    case v1::SqlValue::KIND_NOT_SET:
      break;
  }
  return std::string(null_text);
}

nlohmann::json ValueJson(const v1::SqlValue& v) {
  switch (v.kind_case()) {
    case v1::SqlValue::kIntValue:
      return v.int_value();
    case v1::SqlValue::kDoubleValue:
      return v.double_value();
    case v1::SqlValue::kNullValue:
    case v1::SqlValue::KIND_NOT_SET:
      return nullptr;
    default:
      return ValueText(v, "");
  }
}

std::string OutcomeName(v1::Outcome o) {
  switch (o) {
    case v1::OUTCOME_APPLIED:
      return "APPLIED";
    case v1::OUTCOME_REJECTED:
      return "REJECTED";
    case v1::OUTCOME_UNKNOWN:
      return "UNKNOWN";
    case v1::OUTCOME_PENDING:
      return "PENDING";
    case v1::OUTCOME_READ:
      return "READ";
    default:
      return "UNSPECIFIED";
  }
}

void PrintTable(const v1::ExecuteResponse& r) {
  std::vector<std::vector<std::string>> cells;
  std::vector<size_t> width;
  std::vector<std::string> header(r.columns().begin(), r.columns().end());
  for (const auto& h : header) width.push_back(h.size());
  for (const auto& row : r.rows()) {
    std::vector<std::string> line;
    for (int i = 0; i < row.values_size(); ++i) {
      line.push_back(ValueText(row.values(i), "NULL"));
      if (static_cast<size_t>(i) >= width.size()) width.push_back(0);
      width[i] = std::max(width[i], line.back().size());
    }
    cells.push_back(std::move(line));
  }
  auto print = [&](const std::vector<std::string>& line) {
    std::string out;
    for (size_t i = 0; i < line.size(); ++i) {
      if (i) out += "  ";
      out += i + 1 == line.size() ? line[i] : fmt::format("{:<{}}", line[i], width[i]);
    }
    fmt::print("{}\n", out);
  };
  print(header);
  for (const auto& line : cells) print(line);
  fmt::print("({} row{})\n", r.rows_size(), r.rows_size() == 1 ? "" : "s");
}

// Prints a response and returns the exit code for it.
int Report(const v1::ExecuteResponse& r, bool json) {
  int code = kExitOk;
  if (r.outcome() == v1::OUTCOME_REJECTED) code = kExitFailed;
  if (r.outcome() == v1::OUTCOME_UNKNOWN || r.outcome() == v1::OUTCOME_PENDING) {
    code = kExitUnknown;
  }
  if (json) {
    nlohmann::json doc;
    doc["outcome"] = OutcomeName(r.outcome());
    if (r.lsn() != 0) doc["lsn"] = r.lsn();
    doc["target"] = r.target();
    if (!r.message().empty()) doc["message"] = r.message();
    if (r.outcome() == v1::OUTCOME_READ) {
      doc["columns"] = nlohmann::json::array();
      for (const auto& c : r.columns()) doc["columns"].push_back(c);
      doc["rows"] = nlohmann::json::array();
      for (const auto& row : r.rows()) {
        nlohmann::json line = nlohmann::json::array();
        for (const auto& v : row.values()) line.push_back(ValueJson(v));
        doc["rows"].push_back(std::move(line));
      }
    } else {
      doc["rows_affected"] = r.rows_affected();
    }
    fmt::print("{}\n", doc.dump());
    return code;
  }
  switch (r.outcome()) {
    case v1::OUTCOME_READ:
      PrintTable(r);
      break;
    case v1::OUTCOME_APPLIED:
      fmt::print("APPLIED: {} row{} affected (lsn {}, target {})\n", r.rows_affected(),
                 r.rows_affected() == 1 ? "" : "s", r.lsn(), r.target());
      break;
    case v1::OUTCOME_REJECTED:
      fmt::print("REJECTED (lsn {}, target {}): {}\n", r.lsn(), r.target(), r.message());
      break;
    case v1::OUTCOME_PENDING:
      fmt::print("PENDING: lsn {} is journaled but not decided yet; ask again with `sluice sql "
                 "--outcome {}`\n",
                 r.lsn(), r.lsn());
      break;
    default:
      fmt::print("UNKNOWN: the outcome of lsn {} is not known yet{}; ask later with `sluice sql "
                 "--outcome {}`\n",
                 r.lsn(), r.message().empty() ? "" : " (" + r.message() + ")", r.lsn());
      break;
  }
  return code;
}

void RunSql(Context* context, const SqlArgs& args) {
  if (args.outcome_lsn == 0 && args.statement.empty()) {
    fmt::print(stderr, "sluice sql: a STATEMENT or --outcome LSN is needed\n");
    context->exit_code = kExitUsage;
    return;
  }
  v1::ExecuteRequest req;
  if (args.outcome_lsn == 0) {
    req.mutable_statement()->set_text(args.statement);
    for (const auto& p : args.params) {
      std::string error;
      if (!ParseParam(p, req.mutable_statement()->add_params(), &error)) {
        fmt::print(stderr, "sluice sql: {}\n", error);
        context->exit_code = kExitUsage;
        return;
      }
    }
    req.set_read_only(args.read);
    req.set_max_rows(args.max_rows);
  }
  auto conn = Connection::Open(context->service, "sql", &context->exit_code);
  if (!conn) return;
  auto ctx = conn->NewContext(std::chrono::seconds(args.timeout_s));
  v1::ExecuteResponse resp;
  grpc::Status s;
  if (args.outcome_lsn != 0) {
    v1::GetOutcomeRequest oreq;
    oreq.set_lsn(args.outcome_lsn);
    s = conn->sql().GetOutcome(ctx.get(), oreq, &resp);
    if (!s.ok()) {
      context->exit_code = conn->Fail("Sql.GetOutcome", s);
      return;
    }
  } else {
    s = conn->sql().Execute(ctx.get(), req, &resp);
    if (!s.ok()) {
      if (!args.read && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
        // The write may have been journaled; only the service knows.
        fmt::print(stderr,
                   "sluice sql: Sql.Execute: no answer within {} s; the write may or may not "
                   "have been applied (`sluice status` shows the model stream's head; ask `sluice "
                   "sql --outcome LSN`)\n",
                   args.timeout_s);
        context->exit_code = kExitUnknown;
        return;
      }
      context->exit_code = conn->Fail("Sql.Execute", s);
      return;
    }
  }
  context->exit_code = Report(resp, args.json);
}

void RunDownload(Context* context, const DownloadArgs& args) {
  auto conn = Connection::Open(context->service, "download", &context->exit_code);
  if (!conn) return;
  v1::ReadTableRequest req;
  if (!args.query.empty()) {
    req.mutable_query()->set_text(args.query);
  } else {
    req.set_table(args.table);
  }
  req.set_batch_rows(args.batch);
  auto ctx = conn->NewContext(std::chrono::seconds(3600));
  auto reader = conn->download().ReadTable(ctx.get(), req);
  v1::RowBatch batch;
  bool header = false;
  std::string out;
  while (reader->Read(&batch)) {
    if (!header && batch.columns_size() > 0) {
      for (int i = 0; i < batch.columns_size(); ++i) {
        if (i) out += ',';
        out += CsvField(batch.columns(i));
      }
      out += '\n';
      header = true;
    }
    for (const auto& row : batch.rows()) {
      for (int i = 0; i < row.values_size(); ++i) {
        if (i) out += ',';
        out += CsvField(ValueText(row.values(i), ""));
      }
      out += '\n';
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    out.clear();
  }
  grpc::Status s = reader->Finish();
  std::fflush(stdout);
  if (!s.ok()) context->exit_code = conn->Fail("Download.ReadTable", s);
}

}  // namespace

void RegisterSqlCommands(CLI::App& app, Context* context) {
  auto sql_args = std::make_shared<SqlArgs>();
  CLI::App* sql = app.add_subcommand(
      "sql", "Execute an SQL statement (a synchronous write, or a read with --read)");
  sql->add_option("statement", sql_args->statement,
                  "The statement; parameters are $1, $2, ... on every dialect");
  sql->add_option("--param", sql_args->params,
                  "A parameter, in order: int:5, float:1.5, text:abc, null, blob-file:PATH, "
                  "ts:2026-01-01T00:00:00Z; anything else is text")
      ->allow_extra_args(false);
  sql->add_flag("--read", sql_args->read,
                "A read: runs on the active target in a read-only transaction, not journaled");
  sql->add_flag("--json", sql_args->json, "Print the outcome or the rows as JSON");
  sql->add_option("--max-rows", sql_args->max_rows, "Most rows a read returns (0: the service's)");
  sql->add_option("--outcome", sql_args->outcome_lsn,
                  "Ask for the outcome of the write journaled at LSN (Sql.GetOutcome)");
  sql->add_option("--timeout", sql_args->timeout_s, "Seconds to wait for the answer")
      ->capture_default_str();
  sql->footer(
      "Exit codes: 0 applied (or a read), 1 rejected by the target or refused by the service "
      "(the message says why), 2 usage error, 3 cannot reach sluiced, 4 the write's outcome is "
      "not known yet (UNKNOWN or PENDING; ask later with `sluice sql --outcome LSN`).");
  sql->callback([context, sql_args] { RunSql(context, *sql_args); });

  auto dl_args = std::make_shared<DownloadArgs>();
  CLI::App* download = app.add_subcommand(
      "download", "Write a table's (or a query's) rows from the active target as CSV to stdout");
  download->add_option("table", dl_args->table, "The table")->required();
  download->add_option("--query", dl_args->query, "A SELECT to run instead of the whole table");
  download->add_option("--batch", dl_args->batch, "Rows per batch (0: the service's 1000)");
  download->callback([context, dl_args] { RunDownload(context, *dl_args); });
}

}  // namespace sluice::cli

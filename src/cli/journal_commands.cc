// `sluice journal verify DIR` and `sluice journal dump DIR`: read-only looks at the
// journals of a data directory (see journal/verify.h), safe beside a running daemon.

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/hex.h"
#include "journal/dump.h"
#include "journal/verify.h"

namespace sluice::cli {
namespace {

using journal::Lsn;
using journal::VerifyProblem;

// Frames are checked against the format-wide limit, as recovery does: a record larger
// than the daemon's current maximum may be older than a change of that maximum.
constexpr uint32_t kDefaultMaxRecordBytes = journal::kMaxPayloadBytes;

struct JournalVerifyArgs {
  std::string dir;
  uint32_t max_record_bytes = kDefaultMaxRecordBytes;
};

struct DumpArgs {
  std::string dir;
  std::optional<std::string> stream;
  Lsn from = 0;
  uint64_t limit = 0;
  size_t preview = 64;
  bool json = false;
  uint32_t max_record_bytes = kDefaultMaxRecordBytes;
};

// Exit code of a failed read of the directory: "not a data directory" is a usage error.
int ExitCodeFor(const Status& status) {
  if (status.code() == Code::kNotFound || status.code() == Code::kInvalidArgument) {
    return kExitUsage;
  }
  if (status.code() == Code::kCorruption) return kExitFailed;
  return kExitError;
}

std::string LsnRange(uint64_t records, Lsn first, Lsn last) {
  return records == 0 ? std::string("LSN none") : fmt::format("LSN {}..{}", first, last);
}

void PrintProblem(const VerifyProblem& p) {
  fmt::print(stderr, "{}: {} offset {}: {}\n", journal::SeverityName(p.severity), p.file,
             p.offset, p.message);
}

int RunVerify(const JournalVerifyArgs& args) {
  auto report = journal::VerifyJournals(FileSystem::Default(), args.dir, args.max_record_bytes);
  if (!report.ok()) {
    fmt::print(stderr, "sluice journal verify: {}\n", report.status().message());
    return ExitCodeFor(report.status());
  }
  std::string live =
      report->live() ? fmt::format(" (live: in use by sluiced pid {})", report->live_pid) : "";
  for (const auto& p : report->problems) PrintProblem(p);
  if (report->streams.empty()) {
    fmt::print("no streams in {}{}\n", args.dir, live);
  }
  size_t damaged_streams = 0;
  for (const auto& s : report->streams) {
    for (const auto& p : s.problems) PrintProblem(p);
    const auto& epoch = s.epoch ? s.epoch : report->epoch;
    bool damaged = s.damaged();
    damaged_streams += damaged ? 1 : 0;
    fmt::print("stream {}: {} segments, {} records, {}, {} bytes, epoch {}{}{}\n", s.name,
               s.segments, s.records, LsnRange(s.records, s.first_lsn, s.last_lsn), s.bytes,
               epoch ? journal::EpochToHex(*epoch) : std::string("none"), live,
               damaged ? " DAMAGED" : "");
  }
  if (report->damaged()) {
    fmt::print(stderr,
               "sluice journal verify: damage found ({} damaged stream(s)); a daemon will refuse "
               "to open a damaged stream\n",
               damaged_streams);
    return kExitFailed;
  }
  return kExitOk;
}

// Printable ASCII as is, the rest as C escapes, in quotes; "..." when cut.
std::string Preview(std::string_view payload, size_t max) {
  bool cut = max != 0 && payload.size() > max;
  if (cut) payload = payload.substr(0, max);
  std::string out = "\"";
  for (char ch : payload) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += ch;
        } else {
          out += fmt::format("\\x{:02x}", c);
        }
    }
  }
  out += '"';
  if (cut) out += "...";
  return out;
}


int RunDump(const DumpArgs& args) {
  auto print = [&](const std::string& stream, Lsn lsn, uint16_t type, std::string_view payload) {
    if (args.json) {
      bool cut = args.preview != 0 && payload.size() > args.preview;
      nlohmann::json line = {
          {"stream", stream},
          {"lsn", lsn},
          {"type", type},
          {"bytes", payload.size()},
          {"payload_hex", HexEncode(cut ? payload.substr(0, args.preview) : payload)},
          {"truncated", cut},
      };
      fmt::print("{}\n", line.dump());
    } else {
      fmt::print("{} {} {} {} {}\n", stream, lsn, type, payload.size(),
                 Preview(payload, args.preview));
    }
  };
  Status s = journal::DumpJournal(FileSystem::Default(), args.dir, args.stream, args.from,
                                  args.limit, args.max_record_bytes, print);
  std::fflush(stdout);
  if (!s.ok()) {
    fmt::print(stderr, "sluice journal dump: {}\n", s.message());
    return ExitCodeFor(s);
  }
  return kExitOk;
}

}  // namespace

void RegisterJournalCommands(CLI::App& app, Context* context) {
  CLI::App* journal = app.add_subcommand(
      "journal", "Read-only checks of a data directory's journals (safe beside a running sluiced)");
  journal->require_subcommand(1);

  auto verify_args = std::make_shared<JournalVerifyArgs>();
  CLI::App* verify = journal->add_subcommand(
      "verify",
      "Check every segment and record of every stream: checksums, segment chain, epoch. Prints "
      "one line per stream: segments, records, LSN range, bytes, epoch.");
  verify->add_option("DIR", verify_args->dir, "Data directory (holds journal/)")->required();
  verify->footer(
      "A torn tail of a stream's last segment (what recovery cuts off on the next open) is a "
      "warning, not damage; while sluiced holds the directory, the tail being written is "
      "live, not damage.\n"
      "Exit codes: 0 no damage, 1 damage found (file and offset on stderr), 2 usage error or "
      "not a data directory, 3 the directory could not be read.");
  verify->callback([context, verify_args] { context->exit_code = RunVerify(*verify_args); });

  auto dump_args = std::make_shared<DumpArgs>();
  CLI::App* dump = journal->add_subcommand(
      "dump",
      "Print records in LSN order, one line each: STREAM LSN TYPE BYTES \"payload preview\"");
  dump->add_option("DIR", dump_args->dir, "Data directory (holds journal/)")->required();
  dump->add_option("--stream", dump_args->stream, "Only this stream (default: every stream)");
  dump->add_option("--from", dump_args->from, "First LSN to print")->capture_default_str();
  dump->add_option("--limit", dump_args->limit, "At most this many records per stream (0: all)")
      ->capture_default_str();
  dump->add_option("--preview", dump_args->preview,
                   "Payload bytes shown per record (0: the whole payload)")
      ->capture_default_str();
  dump->add_flag("--json", dump_args->json,
                 "One JSON object per line: stream, lsn, type, bytes, payload_hex, truncated");
  dump->footer(
      "Stops quietly at a torn or live tail of a stream's last segment (use verify to judge "
      "it).\n"
      "Exit codes: 0 success, 1 damage met (file and offset on stderr; records before it are "
      "printed), 2 usage error, not a data directory or no such stream, 3 the directory could "
      "not be read.");
  dump->callback([context, dump_args] { context->exit_code = RunDump(*dump_args); });
}

}  // namespace sluice::cli

// The Config value: its defaults, its lookups, and loading a config file. Parsing is
// internal::Parser (parser.h).
#include "config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

#include "common/file_system.h"
#include "config/parser.h"

namespace sluice::config {
namespace {

constexpr uint64_t kMaxConfigFileBytes = 16 * kMiB;

}  // namespace

// ---------------------------------------------------------------------------------------
// The configuration.

std::vector<StreamConfig> DefaultStreams() {
  auto make = [](std::string name, bool ordered, int priority) {
    StreamConfig s;
    s.name = std::move(name);
    s.ordered = ordered;
    s.priority = priority;
    s.batch_records = ordered ? kOrderedBatchRecords : kUnorderedBatchRecords;
    s.batch_bytes = ordered ? kOrderedBatchBytes : kUnorderedBatchBytes;
    s.batch_delay = ordered ? kOrderedBatchDelay : kUnorderedBatchDelay;
    return s;
  };
  return {make("model", true, 100), make("events", true, 50), make("sql", true, 40),
          make("samples", false, 10)};
}

bool TokenConfig::HasRole(TokenRole role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

const StreamConfig* Config::FindStream(std::string_view name) const {
  for (const StreamConfig& s : streams) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

const TargetConfig* Config::FindTarget(std::string_view name) const {
  for (const TargetConfig& t : targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<const TargetConfig*> Config::PrimariesByPriority() const {
  std::vector<const TargetConfig*> out;
  for (const TargetConfig& t : targets) {
    if (t.role == TargetRole::kPrimary) out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(), [](const TargetConfig* a, const TargetConfig* b) {
    return a->priority > b->priority;
  });
  return out;
}

std::vector<const StreamConfig*> Config::StreamsByPriority() const {
  std::vector<const StreamConfig*> out;
  for (const StreamConfig& s : streams) out.push_back(&s);
  std::stable_sort(out.begin(), out.end(), [](const StreamConfig* a, const StreamConfig* b) {
    return a->priority > b->priority;
  });
  return out;
}

Result<Config> ParseConfig(std::string_view text, std::string_view source_name,
                           std::string_view base_dir) {
  return internal::Parser(source_name, base_dir).Parse(text);
}

Result<Config> LoadConfigFile(const std::string& path) {
  constexpr std::string_view kWhat = "cannot read config file";
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return Status::FromErrno(kWhat, path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return Status::FromErrno(kWhat, path, err);
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return Status::FromErrno(kWhat, path, EISDIR);
  }
  std::string text;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(kWhat, path, err);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {
      ::close(fd);
      return Status::InvalidArgument(fmt::format("{} {}: larger than {}; is it a config file?",
                                                 kWhat, path, FormatSize(kMaxConfigFileBytes)));
    }
  }
  ::close(fd);
  std::error_code ec;
  std::filesystem::path base = std::filesystem::absolute(DirName(path), ec);
  if (ec) base = DirName(path);
  return ParseConfig(text, path, base.lexically_normal().string());
}

std::string_view TargetRoleName(TargetRole role) {
  switch (role) {
    case TargetRole::kPrimary:
      return "primary";
    case TargetRole::kReplica:
      return "replica";
    case TargetRole::kOneway:
      return "oneway";
  }
  return "unknown";
}
std::string_view AlarmSeverityName(AlarmSeverity severity) {
  switch (severity) {
    case AlarmSeverity::kInfo:
      return "info";
    case AlarmSeverity::kWarning:
      return "warning";
    case AlarmSeverity::kCritical:
      return "critical";
  }
  return "unknown";
}
std::string_view DialectName(Dialect dialect) {
  return dialect == Dialect::kSqlite ? "sqlite" : "postgres";
}
std::string_view TokenRoleName(TokenRole role) {
  switch (role) {
    case TokenRole::kIngest:
      return "ingest";
    case TokenRole::kRead:
      return "read";
    case TokenRole::kSql:
      return "sql";
    case TokenRole::kAdmin:
      return "admin";
  }
  return "unknown";
}

}  // namespace sluice::config

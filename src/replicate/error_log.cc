#include "replicate/error_log.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.h"

namespace sluice::replicate {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status ErrorLog::AppendLine(const std::string& line) {
  std::lock_guard lk(mu_);
  if (!file_) {
    SLUICE_RETURN_IF_ERROR(fs_->CreateDirs(DirName(path_)));
    bool existed = fs_->Exists(path_);
    // A crash (or a failed append) may have left a torn last line: end it, so that the
    // next entry starts a line of its own instead of being glued to the torn bytes.
    bool torn = false;
    if (existed) {
      SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs_, path_));
      torn = !text.empty() && text.back() != '\n';
    }
    auto f = existed ? fs_->ReopenWritableFile(path_) : fs_->NewWritableFile(path_, false);
    if (!f.ok()) return f.status();
    file_ = std::move(f).value();
    if (!existed) SLUICE_RETURN_IF_ERROR(fs_->SyncDir(DirName(path_)));
    if (torn) {
      SLUICE_LOG_WARN("{}: the last line is torn (a crash during an append); it is skipped", path_);
      Status s = file_->Append("\n");
      if (!s.ok()) {
        file_.reset();
        return s;
      }
    }
  }
  ++appends_;  // even a failed append may have written part of a line
  Status s = file_->Append(line);
  if (s.ok()) s = file_->Sync();
  if (!s.ok()) file_.reset();  // reopen next time; a half line is skipped by List
  return s;
}

Status ErrorLog::AppendRejection(const ErrorRecord& r) {
  nlohmann::json j = {{"event", "rejected"},  {"epoch", r.epoch},
                      {"target", r.target},   {"stream", r.stream},
                      {"lsn", r.lsn},         {"kind", r.kind},       {"message", r.message},
                      {"record", r.record_b64}, {"payload", r.payload_json},
                      {"failed_at_us", r.failed_at_us}};
  return AppendLine(j.dump() + "\n");
}

Status ErrorLog::MarkResolved(const std::string& epoch, const std::string& stream, uint64_t lsn,
                              const std::string& state) {
  nlohmann::json j = {{"event", state}, {"epoch", epoch}, {"stream", stream}, {"lsn", lsn},
                      {"at_us", NowMicros()}};
  return AppendLine(j.dump() + "\n");
}

namespace {

bool IsEntry(const nlohmann::json& j) {
  return j.is_object() && j.contains("event") && j["event"].is_string() && j.contains("stream") &&
         j["stream"].is_string() && j.contains("lsn") && j["lsn"].is_number_unsigned();
}

// An older binary appended after a torn line without ending it: the entry it wrote is
// glued to the torn bytes. Finds the last complete entry in the line, if any.
std::optional<nlohmann::json> Salvage(const std::string& line) {
  for (size_t at = line.rfind("{\""); at != std::string::npos && at > 0; at = line.rfind("{\"", at - 1)) {
    auto j = nlohmann::json::parse(line.substr(at), nullptr, false);
    if (!j.is_discarded() && IsEntry(j)) return j;
  }
  return std::nullopt;
}

using Key = std::tuple<std::string, std::string, uint64_t>;  // epoch, stream, lsn

Result<std::vector<ErrorRecord>> ReadLog(FileSystem* fs, const std::string& path) {
  std::vector<ErrorRecord> out;
  if (!fs->Exists(path)) return out;
  SLUICE_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(fs, path));
  std::map<Key, ErrorRecord> folded;
  std::istringstream in(text);
  std::string line;
  size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) {
      // Not JSON: the torn line of a crash during an append (and maybe an entry appended
      // after it on the same line by an older binary). Nothing in it was acknowledged.
      std::optional<nlohmann::json> glued = Salvage(line);
      SLUICE_LOG_WARN("{}:{}: skipping {} bytes of a torn line{}", path, line_no, line.size(),
                      glued ? " (and reading the entry glued to it)" : "");
      if (!glued) continue;
      j = std::move(*glued);
    }
    if (!IsEntry(j)) {
      return Status::Corruption(fmt::format(
          "{}:{}: not an error-log entry (an object with event, stream and lsn)", path, line_no));
    }
    std::string epoch = j.value("epoch", "");
    Key key{epoch, j["stream"].get<std::string>(), j["lsn"].get<uint64_t>()};
    std::string event = j["event"].get<std::string>();
    if (event == "rejected") {
      ErrorRecord r;
      r.epoch = epoch;
      r.target = j.value("target", "");
      r.stream = std::get<1>(key);
      r.lsn = std::get<2>(key);
      r.kind = j.value("kind", "");
      r.message = j.value("message", "");
      r.record_b64 = j.value("record", "");
      r.payload_json = j.value("payload", "");
      r.failed_at_us = j.value("failed_at_us", int64_t{0});
      auto it = folded.find(key);
      if (it == folded.end() || it->second.state != "open") {
        folded[key] = std::move(r);  // rejected again after a retry: open again
      }
    } else {
      auto it = folded.find(key);
      // A resolution names its epoch; the entry it resolves may be older than epochs.
      if (it == folded.end()) it = folded.find(Key{"", std::get<1>(key), std::get<2>(key)});
      if (it != folded.end()) {
        it->second.state = event;
        it->second.resolved_at_us = j.value("at_us", int64_t{0});
      }
    }
  }
  // LSN order per stream; entries of one (stream, LSN) in different epochs side by side.
  for (auto& [k, r] : folded) out.push_back(std::move(r));
  std::stable_sort(out.begin(), out.end(), [](const ErrorRecord& a, const ErrorRecord& b) {
    return std::tie(a.stream, a.lsn) < std::tie(b.stream, b.lsn);
  });
  return out;
}

bool Matches(const ErrorRecord& r, const ErrorFilter& f) {
  if (f.target && r.target != *f.target) return false;
  if (f.stream && r.stream != *f.stream) return false;
  if (f.since_us && r.failed_at_us < *f.since_us) return false;
  if (f.until_us && r.failed_at_us > *f.until_us) return false;
  if (!f.include_resolved && r.state != "open") return false;
  return true;
}

}  // namespace

Result<std::vector<ErrorRecord>> ErrorLog::List(const ErrorFilter& filter) const {
  std::lock_guard lk(mu_);
  SLUICE_ASSIGN_OR_RETURN(auto all, ReadLog(fs_, path_));
  std::vector<ErrorRecord> out;
  for (auto& r : all) {
    if (Matches(r, filter)) out.push_back(std::move(r));
  }
  return out;
}

Result<std::map<std::string, uint64_t>> ErrorLog::OpenCountsByStream() const {
  std::lock_guard lk(mu_);
  if (!fs_->Exists(path_)) return std::map<std::string, uint64_t>{};
  SLUICE_ASSIGN_OR_RETURN(uint64_t size, fs_->FileSize(path_));
  if (open_counts_ && open_counts_->file_size == size && open_counts_->appends == appends_) {
    return open_counts_->by_stream;
  }
  SLUICE_ASSIGN_OR_RETURN(auto all, ReadLog(fs_, path_));
  OpenCounts counts{size, appends_, {}};
  for (const auto& r : all) {
    if (Matches(r, ErrorFilter{})) ++counts.by_stream[r.stream];
  }
  open_counts_ = std::move(counts);
  return open_counts_->by_stream;
}

Result<ErrorRecord> ErrorLog::Find(const std::string& epoch, const std::string& stream,
                                   uint64_t lsn) const {
  ErrorFilter f;
  f.stream = stream;
  f.include_resolved = true;
  SLUICE_ASSIGN_OR_RETURN(auto all, List(f));
  const ErrorRecord* legacy = nullptr;
  for (auto& r : all) {
    if (r.lsn != lsn) continue;
    if (r.epoch == epoch) return r;
    if (r.epoch.empty()) legacy = &r;
  }
  if (legacy != nullptr) return *legacy;
  return Status::NotFound(fmt::format("{}: no rejected record at LSN {} of stream '{}' (epoch {})",
                                      path_, lsn, stream, epoch));
}

Result<std::vector<ErrorRecord>> ListErrors(FileSystem* fs, const std::string& data_dir,
                                            const ErrorFilter& filter) {
  std::string dir = JoinPath(data_dir, "errors");
  std::vector<ErrorRecord> out;
  if (!fs->Exists(dir)) return out;
  SLUICE_ASSIGN_OR_RETURN(auto names, fs->ListDir(dir));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    if (n.size() < 5 || n.substr(n.size() - 4) != ".log") continue;
    SLUICE_ASSIGN_OR_RETURN(auto recs, ReadLog(fs, JoinPath(dir, n)));
    for (auto& r : recs) {
      if (Matches(r, filter)) out.push_back(std::move(r));
    }
  }
  return out;
}

}  // namespace sluice::replicate
